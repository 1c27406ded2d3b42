// `signet policy write|read|list|delete` against a real `signet serve`, and a role-like token
// signing with the CLI within (and outside) what its policy grants.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireBuild, serveProcess, signet, type ServeProcess } from '../helpers/cli.js';

describe('signet policy', () => {
  let srv: ServeProcess;
  let work: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    requireBuild();
    srv = await serveProcess();
    work = mkdtempSync(join(tmpdir(), 'signet-policy-cli-'));
    env = { SIGNET_ADDR: srv.addr, SIGNET_TOKEN: srv.token };
    expect(signet(['key', 'create', 'rel'], { env }).status).toBe(0);
  }, 60_000);

  afterAll(async () => {
    await srv?.stop();
    if (srv) rmSync(join(srv.dataDir, '..'), { recursive: true, force: true });
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('writes, reads, lists and deletes; refuses bad YAML with exit 1 and the failing path', () => {
    const text = "rules:\n  - {keys: [rel], kinds: [detached], names: ['*.tar.gz']}\n";
    writeFileSync(join(work, 'ci.yaml'), text);
    const w = signet(['policy', 'write', 'ci', join(work, 'ci.yaml')], { env });
    expect(w.status, w.stderr).toBe(0);
    expect(w.stderr).toContain('policy ci written (1 rule)');
    expect(signet(['policy', 'read', 'ci'], { env }).stdout).toBe(text);
    expect(signet(['policy', 'write', 'from-stdin', '-'], { env, input: text }).status).toBe(0);
    expect(signet(['policy', 'read', 'from-stdin'], { env }).stdout).toBe(text);
    expect(signet(['policy', 'delete', 'from-stdin'], { env }).status).toBe(0);
    const list = signet(['policy', 'list'], { env });
    expect(list.stdout).toMatch(/^admin\tbuilt-in$/m);
    expect(list.stdout).toMatch(/^ci\t1 rule$/m);
    expect(JSON.parse(signet(['--json', 'policy', 'list'], { env }).stdout).map((p: { name: string }) => p.name)).toEqual(['admin', 'ci']);

    writeFileSync(join(work, 'bad.yaml'), 'rules: [{keys: [rel], kinds: [detached], cidrs: [300.0.0.0/8]}]\n');
    const bad = signet(['policy', 'write', 'ci', join(work, 'bad.yaml')], { env });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/^signet: rules\.0\.cidrs\.0: .*\(POLICY_INVALID\)\n$/);
    expect(signet(['policy', 'read', 'ci'], { env }).stdout).toBe(text);
    expect(signet(['policy', 'write', 'ci', join(work, 'missing.yaml')], { env }).status).toBe(1);
    expect(signet(['policy', 'write', 'ci'], { env }).status).toBe(2);

    const d = signet(['policy', 'delete', 'ci'], { env });
    expect(d.status).toBe(0);
    const gone = signet(['policy', 'read', 'ci'], { env });
    expect(gone.status).toBe(1);
    expect(gone.stderr).toMatch(/\(POLICY_NOT_FOUND\)\n$/);
  });

  it('a policy-bound token signs with the CLI only what the policy grants', async () => {
    writeFileSync(join(work, 'rel.yaml'), "rules:\n  - {keys: [rel], kinds: [detached], names: ['*.tar.gz']}\n");
    expect(signet(['policy', 'write', 'releaser', join(work, 'rel.yaml')], { env }).status).toBe(0);
    const r = await fetch(`${srv.addr}/v1/auth/token/create`, {
      method: 'POST',
      headers: { authorization: `Bearer ${srv.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ policies: ['releaser'] }),
    });
    const { token } = (await r.json()) as { token: string };
    const roleEnv = { SIGNET_ADDR: srv.addr, SIGNET_TOKEN: token };
    writeFileSync(join(work, 'app-1.0.tar.gz'), 'release');
    writeFileSync(join(work, 'app-1.0.zip'), 'release');
    expect(signet(['sign', '--key', 'rel', join(work, 'app-1.0.tar.gz')], { env: roleEnv }).status).toBe(0);
    const denied = signet(['sign', '--key', 'rel', join(work, 'app-1.0.zip')], { env: roleEnv });
    expect(denied.status).toBe(1);
    expect(denied.stderr).toMatch(/^signet: token .* may not sign "app-1\.0\.zip" with key rel for detached \(POLICY_DENIED\)\n$/);
    const admin = signet(['policy', 'list'], { env: roleEnv });
    expect(admin.status).toBe(1);
    expect(admin.stderr).toMatch(/\(POLICY_DENIED\)\n$/);
  });

  it('rate windows hold in the compiled server (counter thread) across a restart', async () => {
    writeFileSync(join(work, 'iso.yaml'), 'rules: [{keys: [rel], kinds: [detached], rate: 2/30d}]\n');
    expect(signet(['policy', 'write', 'iso', join(work, 'iso.yaml')], { env }).status).toBe(0);
    const r = await fetch(`${srv.addr}/v1/auth/token/create`, {
      method: 'POST',
      headers: { authorization: `Bearer ${srv.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ policies: ['iso'], ttl: '1h' }),
    });
    const { token } = (await r.json()) as { token: string };
    const isoEnv = { SIGNET_ADDR: srv.addr, SIGNET_TOKEN: token };
    writeFileSync(join(work, 'image.iso'), 'iso image');
    const out = join(work, 'image.iso.sig');
    // Concurrent: exactly two of five get through.
    const results = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        fetch(`${srv.addr}/v1/sign/rel?name=image-${i}.iso`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' }, body: 'iso' }).then((x) => x.status),
      ),
    );
    expect(results.filter((x) => x === 200)).toHaveLength(2);
    expect(results.filter((x) => x === 429)).toHaveLength(3);
    const dataDir = srv.dataDir;
    await srv.stop();
    srv = await serveProcess({ dataDir });
    env = { SIGNET_ADDR: srv.addr, SIGNET_TOKEN: srv.token || env.SIGNET_TOKEN! };
    const again = signet(['sign', '--key', 'rel', '-o', out, join(work, 'image.iso')], { env: { ...isoEnv, SIGNET_ADDR: srv.addr } });
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/\(RATE_LIMITED\)\n$/);
  });
});
