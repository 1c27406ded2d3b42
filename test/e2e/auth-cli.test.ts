// `signet role|login|unwrap|token` as a CI job and an operator run them, against `signet serve`.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireBuild, serveProcess, signet, type ServeProcess } from '../helpers/cli.js';
import { startIssuer } from '../helpers/oidc.js';
import { Gpg } from '../helpers/gpg.js';
import { requireTools } from '../helpers/tools.js';

describe('signet auth CLI', () => {
  let srv: ServeProcess;
  let admin: Record<string, string>;

  beforeAll(async () => {
    requireBuild();
    srv = await serveProcess();
    admin = { SIGNET_ADDR: srv.addr, SIGNET_TOKEN: srv.token };
  }, 60_000);

  afterAll(async () => {
    await srv?.stop();
    if (srv) rmSync(join(srv.dataDir, '..'), { recursive: true, force: true });
  });

  it('has --help for every auth command', () => {
    for (const args of [['auth', 'jwt', '--help'], ['auth', 'jwt', 'role', 'create', '--help'], ['auth', 'jwt', 'login', '--help'], ['role', '--help'], ['role', 'create', '--help'], ['role', 'secret', '--help'], ['login', '--help'], ['unwrap', '--help'], ['token', 'list', '--help'], ['token', 'revoke', '--help']]) {
      const r = signet(args);
      expect(r.status, args.join(' ')).toBe(0);
      expect(r.stdout).toMatch(/Usage: signet/);
    }
  });

  it('role create -> role secret --wrap-ttl -> unwrap once -> login -> token list/revoke', () => {
    const created = signet(['role', 'create', 'ci', '--policies', 'rel-ci', '--token-ttl', '15m'], { env: admin });
    expect(created.status, created.stderr).toBe(0);
    const roleId = created.stdout.trim();
    expect(roleId).toMatch(/^[0-9a-f-]{36}$/);

    const wrapped = signet(['role', 'secret', 'ci', '--wrap-ttl', '60s'], { env: admin });
    expect(wrapped.status, wrapped.stderr).toBe(0);
    const wrappingToken = wrapped.stdout.trim();
    expect(wrappingToken).toMatch(/^sgw\.[A-Za-z0-9_-]{43}$/);

    const job = { SIGNET_ADDR: srv.addr, SIGNET_TOKEN: wrappingToken };
    const unwrapped = signet(['unwrap', '--role', 'ci'], { env: job });
    expect(unwrapped.status, unwrapped.stderr).toBe(0);
    const secretId = unwrapped.stdout.trim();
    expect(secretId).toMatch(/^sgs\.[A-Za-z0-9_-]{43}$/);

    const listed = signet(['role', 'secret-list', 'ci', '--json'], { env: admin });
    expect(listed.status, listed.stderr).toBe(0);
    expect(listed.stdout).not.toContain(secretId);
    expect(JSON.parse(listed.stdout).map((x: { uses_left: number }) => x.uses_left)).toEqual([1]);

    const twice = signet(['unwrap'], { env: job });
    expect(twice.status).toBe(1);
    expect(twice.stdout).toBe('');
    expect(twice.stderr).toMatch(/^signet: .*\(WRAPPING_TOKEN_USED\)\n$/);

    const login = signet(['login', '--role-id', roleId], { env: { SIGNET_ADDR: srv.addr, SIGNET_SECRET_ID: secretId } });
    expect(login.status, login.stderr).toBe(0);
    const token = login.stdout.trim();
    expect(token).toMatch(/^sgn\./);
    const reuse = signet(['login', '--role-id', roleId, '--secret-id', secretId], { env: { SIGNET_ADDR: srv.addr } });
    expect(reuse.status).toBe(1);
    expect(reuse.stderr).toContain('(LOGIN_FAILED)');

    const self = signet(['token', 'lookup', '--json'], { env: { SIGNET_ADDR: srv.addr, SIGNET_TOKEN: token } });
    expect(JSON.parse(self.stdout)).toMatchObject({ policies: ['rel-ci'], meta: { role: 'ci' } });
    const accessor = JSON.parse(self.stdout).accessor as string;

    const list = signet(['token', 'list'], { env: admin });
    expect(list.status).toBe(0);
    expect(list.stdout).toContain(accessor);
    expect(list.stdout).not.toContain(token);
    expect(list.stdout).not.toContain(srv.token);

    expect(signet(['token', 'revoke', accessor], { env: admin }).status).toBe(0);
    const after = signet(['token', 'lookup'], { env: { SIGNET_ADDR: srv.addr, SIGNET_TOKEN: token } });
    expect(after.status).toBe(1);
    expect(after.stderr).toContain('(TOKEN_REVOKED)');
  });

  it('unwrap refuses a response wrapped for another role (wrap substitution) and needs an explicit token', () => {
    expect(signet(['role', 'create', 'evil', '--policies', 'x'], { env: admin }).status).toBe(0);
    const wrapped = signet(['role', 'secret', 'evil', '--wrap-ttl', '1m'], { env: admin }).stdout.trim();
    const r = signet(['unwrap', '--role', 'ci'], { env: { SIGNET_ADDR: srv.addr, SIGNET_TOKEN: wrapped } });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('(WRAPPING_PATH_MISMATCH)');
    expect(r.stdout).toBe('');
    const none = signet(['unwrap'], { env: { SIGNET_ADDR: srv.addr } });
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(/^signet: /);
  });

  it('role create --policy FILE stores the policy under the role name and binds it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'signet-role-'));
    try {
      writeFileSync(join(dir, 'ci.yaml'), 'rules:\n  - keys: [rel]\n    kinds: [rpm, detached]\n    names: ["pkg-*"]\n    rate: 600/1h\n');
      writeFileSync(join(dir, 'bad.yaml'), 'rules:\n  - keys: [rel]\n    kinds: [rpm]\n    sudo: true\n');
      const bad = signet(['role', 'create', 'pkgci', '--policy', join(dir, 'bad.yaml')], { env: admin });
      expect(bad.status).toBe(1);
      expect(bad.stderr).toContain('(POLICY_INVALID)');
      const r = signet(['role', 'create', 'pkgci', '--policy', join(dir, 'ci.yaml'), '--json'], { env: admin });
      expect(r.status, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout).policies).toEqual(['pkgci']);
      const read = signet(['policy', 'read', 'pkgci'], { env: admin });
      expect(read.status, read.stderr).toBe(0);
      expect(read.stdout).toContain('pkg-*');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('auth jwt role create --jwks-file, then auth jwt login with SIGNET_JWT; a token for another project exits 1', async () => {
    const issuer = await startIssuer('signet');
    const dir = mkdtempSync(join(tmpdir(), 'signet-jwt-'));
    try {
      writeFileSync(join(dir, 'jwks.json'), JSON.stringify(issuer.jwks));
      const created = signet(
        ['auth', 'jwt', 'role', 'create', 'gl', '--issuer', issuer.url, '--audience', 'signet', '--jwks-file', join(dir, 'jwks.json'),
          '--bound-claim', 'project_path=release/pkg', '--bound-claim', 'ref_protected=true', '--policies', 'rel-ci'],
        { env: admin },
      );
      expect(created.status, created.stderr).toBe(0);
      expect(created.stdout.trim()).toBe('gl');
      const good = await issuer.sign({ project_path: 'release/pkg', ref_protected: 'true' });
      const r = signet(['auth', 'jwt', 'login', '--role', 'gl'], { env: { SIGNET_ADDR: srv.addr, SIGNET_JWT: good } });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout.trim()).toMatch(/^sgn\.[A-Za-z0-9_-]{43}$/);
      const other = await issuer.sign({ project_path: 'someone/else', ref_protected: 'true' });
      writeFileSync(join(dir, 'other.jwt'), other);
      const refused = signet(['auth', 'jwt', 'login', '--role', 'gl', '--jwt-file', join(dir, 'other.jwt')], { env: { SIGNET_ADDR: srv.addr } });
      expect(refused.status).toBe(1);
      expect(refused.stderr).toContain('(JWT_CLAIMS_MISMATCH)');
      expect(signet(['auth', 'jwt', 'login', '--role', 'gl'], { env: { SIGNET_ADDR: srv.addr } }).status).toBe(2);
      const list = signet(['auth', 'jwt', 'role', 'list'], { env: admin });
      expect(list.stdout).toContain(`gl\t${issuer.url}\trel-ci`);
    } finally {
      await issuer.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the CI flow of README and docs/auth.md: wrapped secret_id -> unwrap -> login -> sign; gpg verifies; the policy bounds what the job signs', () => {
    requireTools('gpg');
    const dir = mkdtempSync(join(tmpdir(), 'signet-ci-'));
    const gpg = new Gpg();
    try {
      expect(signet(['key', 'create', 'release', '--uid', 'Release <release@example.org>'], { env: admin }).status).toBe(0);
      writeFileSync(join(dir, 'ci.yaml'), 'rules:\n  - keys: [release]\n    kinds: [detached]\n    names: ["pkg-*.tar.gz"]\n');
      const roleId = signet(['role', 'create', 'release-ci', '--policy', join(dir, 'ci.yaml'), '--token-ttl', '10m'], { env: admin }).stdout.trim();
      const wrapping = signet(['role', 'secret', 'release-ci', '--wrap-ttl', '60s'], { env: admin }).stdout.trim();
      // The job: nothing but the role_id and a wrapping token that works once.
      const secretId = signet(['unwrap', '--role', 'release-ci'], { env: { SIGNET_ADDR: srv.addr, SIGNET_TOKEN: wrapping } }).stdout.trim();
      const token = signet(['login', '--role-id', roleId], { env: { SIGNET_ADDR: srv.addr, SIGNET_SECRET_ID: secretId } }).stdout.trim();
      const job = { SIGNET_ADDR: srv.addr, SIGNET_TOKEN: token };
      writeFileSync(join(dir, 'pkg-1.0.tar.gz'), 'release artifact\n');
      const signed = signet(['sign', '--key', 'release', join(dir, 'pkg-1.0.tar.gz')], { env: job });
      expect(signed.status, signed.stderr).toBe(0);
      gpg.importKey(signet(['key', 'export', 'release'], { env: admin }).stdout);
      expect(gpg.verifyDetached(readFileSync(join(dir, 'pkg-1.0.tar.gz.sig')), readFileSync(join(dir, 'pkg-1.0.tar.gz'))).ok).toBe(true);
      expect(gpg.verifyDetached(readFileSync(join(dir, 'pkg-1.0.tar.gz.sig')), 'tampered\n').ok).toBe(false);
      writeFileSync(join(dir, 'other.iso'), 'not granted\n');
      const refused = signet(['sign', '--key', 'release', join(dir, 'other.iso')], { env: job });
      expect(refused.status).toBe(1);
      expect(refused.stderr).toContain('(POLICY_DENIED)');
      // The job's token cannot mint credentials or create keys.
      expect(signet(['role', 'secret', 'release-ci'], { env: job }).stderr).toContain('(POLICY_DENIED)');
      expect(signet(['key', 'create', 'mine'], { env: job }).stderr).toContain('(POLICY_DENIED)');
    } finally {
      gpg.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('role secret-destroy voids a secret_id before it is used', () => {
    const r = signet(['role', 'create', 'short', '--policies', 'x'], { env: admin });
    const secret = signet(['role', 'secret', 'short', '--json'], { env: admin });
    const { secret_id, secret_id_accessor } = JSON.parse(secret.stdout) as { secret_id: string; secret_id_accessor: string };
    expect(signet(['role', 'secret-destroy', 'short', secret_id_accessor], { env: admin }).status).toBe(0);
    const login = signet(['login', '--role-id', r.stdout.trim(), '--secret-id', secret_id], { env: { SIGNET_ADDR: srv.addr } });
    expect(login.stderr).toContain('(LOGIN_FAILED)');
    const again = signet(['role', 'secret-destroy', 'short', secret_id_accessor], { env: admin });
    expect(again.status).toBe(1);
  });

  it('usage errors exit 2; refused operations exit 1 with a code', () => {
    expect(signet(['role', 'create', 'x'], { env: admin }).status).toBe(2);
    expect(signet(['role', 'secret', 'ci', '--uses', '0'], { env: admin }).status).toBe(2);
    expect(signet(['login', '--role-id', 'x'], { env: { SIGNET_ADDR: srv.addr } }).status).toBe(2);
    expect(signet(['token', 'revoke'], { env: admin }).status).toBe(2);
    const dup = signet(['role', 'create', 'ci', '--policies', 'x'], { env: admin });
    expect(dup.status).toBe(1);
    expect(dup.stderr).toContain('(ROLE_EXISTS)');
    const last = signet(['token', 'revoke', '--self'], { env: admin });
    expect(last.status).toBe(1);
    expect(last.stderr).toContain('(LAST_ADMIN_TOKEN)');
  });
});
