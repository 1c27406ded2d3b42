// The master key in the token (keys.master_in_token): a stolen data dir (master.key, the store,
// everything) opens no key without the token: a server started on a copy refuses with
// KEY_TOKEN_UNAVAILABLE, whether the settings name no token or the token is gone; with the token
// the same copy signs. Also: a server whose settings name a token it cannot open does not start.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Gpg } from '../helpers/gpg.js';
import { SIGNET, cleanup, freePort, requireBuild, serveProcess, signet } from '../helpers/cli.js';
import { createSoftHsm, type SoftHsm } from '../helpers/softhsm.js';

/** `signet serve` expected to fail at start: its exit code and stderr. */
async function serveFails(dataDir: string, args: string[], env: Record<string, string>): Promise<{ status: number | null; stderr: string }> {
  const port = await freePort();
  const r = spawnSync(process.execPath, [SIGNET, 'serve', '--data', dataDir, '--listen', `127.0.0.1:${port}`, ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: r.status, stderr: r.stderr };
}

describe('master key in the token', () => {
  let hsm: SoftHsm;
  let dir: string;
  let settings: string;
  let noToken: string;
  let pinFile: string;

  beforeAll(() => {
    requireBuild();
    hsm = createSoftHsm();
    const token = hsm.addToken('signet-master');
    pinFile = token.pinFile;
    dir = mkdtempSync(join(tmpdir(), 'signet-master-token-'));
    settings = join(dir, 'with-token.yaml');
    writeFileSync(settings, `keys:\n  master_in_token: true\n  pkcs11:\n    module: ${hsm.module}\n    token_label: ${token.label}\n    pin_file: ${token.pinFile}\n`);
    noToken = join(dir, 'no-token.yaml');
    writeFileSync(noToken, 'log:\n  level: info\n');
  });

  afterAll(() => {
    if (dir) cleanup(dir);
    hsm?.remove();
  });

  it('a copied data dir opens no key without the token, and signs with it', async () => {
    const data = join(dir, 'data');
    const srv = await serveProcess({ dataDir: data, args: ['--config', settings], env: hsm.env });
    const env = { SIGNET_ADDR: srv.addr, SIGNET_TOKEN: srv.token };
    try {
      expect(signet(['key', 'create', 'soft', '--algo', 'ed25519', '--uid', 'Soft <soft@example.org>'], { env }).status).toBe(0);
      writeFileSync(join(dir, 'pub.asc'), signet(['key', 'export', 'soft'], { env }).stdout);
      writeFileSync(join(dir, 'a.txt'), 'before the theft\n');
      const r = signet(['sign', '--key', 'soft', join(dir, 'a.txt')], { env });
      expect(r.status, r.stderr).toBe(0);
    } finally {
      await srv.stop();
    }
    // The thief's copy: the data dir whole, master.key included.
    const stolen = join(dir, 'stolen');
    cpSync(data, stolen, { recursive: true });
    expect(readFileSync(join(stolen, 'master.key'), 'utf8')).toMatch(/^signet-master-key-v1:/);

    // No token in the settings: the sealed keys (and the log key) cannot be unwrapped.
    const bare = await serveFails(stolen, ['--config', noToken], {});
    expect(bare.status).not.toBe(0);
    expect(bare.stderr).toMatch(/^signet: .*\(KEY_TOKEN_UNAVAILABLE\)$/m);
    // The token's settings, but the token itself is not there.
    hsm.hideTokens();
    try {
      const gone = await serveFails(stolen, ['--config', settings], hsm.env);
      expect(gone.status).not.toBe(0);
      expect(gone.stderr).toMatch(/\(KEY_TOKEN_UNAVAILABLE\)/);
    } finally {
      hsm.restoreTokens();
    }

    // With the token, the same copy signs, and gpg accepts the signature.
    const back = await serveProcess({ dataDir: stolen, args: ['--config', settings], env: hsm.env });
    try {
      const env = { SIGNET_ADDR: back.addr, SIGNET_TOKEN: readFileSync(join(stolen, 'admin-token'), 'utf8').trim() };
      writeFileSync(join(dir, 'b.txt'), 'with the token\n');
      const r = signet(['sign', '--key', 'soft', join(dir, 'b.txt')], { env });
      expect(r.status, r.stderr).toBe(0);
      const gpg = new Gpg();
      try {
        gpg.importKey(readFileSync(join(dir, 'pub.asc')));
        expect(gpg.verifyDetached(readFileSync(join(dir, 'b.txt.sig')), readFileSync(join(dir, 'b.txt'))).ok).toBe(true);
      } finally {
        gpg.close();
      }
    } finally {
      await back.stop();
    }
  }, 180_000);

  it('key create --backend: refused in one line by a server without a token; --help names it', async () => {
    const plain = await serveProcess({ dataDir: join(dir, 'plain') });
    try {
      const env = { SIGNET_ADDR: plain.addr, SIGNET_TOKEN: plain.token };
      const r = signet(['key', 'create', 'k', '--backend', 'pkcs11', '--uid', 'K <k@example.org>'], { env });
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/^signet: the pkcs11 key backend is not configured on this server.*\(KEY_BACKEND_UNAVAILABLE\)\n$/);
      const j = signet(['key', 'create', 'k', '--backend', 'pkcs11', '--uid', 'K <k@example.org>', '--json'], { env });
      expect(j.status).toBe(1);
      expect(signet(['key', 'create', 'k', '--backend', 'vault'], { env }).status).toBe(2);
      const sealed = signet(['key', 'create', 'k', '--backend', 'sealed', '--uid', 'K <k@example.org>', '--json'], { env });
      expect(sealed.status, sealed.stderr).toBe(0);
      expect(JSON.parse(sealed.stdout)).toMatchObject({ name: 'k', backend: 'sealed' });
    } finally {
      await plain.stop();
    }
    for (const sub of ['create', 'import']) expect(signet(['key', sub, '--help']).stdout).toMatch(/--backend <backend>/);
  });

  it('settings naming a token that cannot be opened stop the start with one line', async () => {
    const loose = join(dir, 'loose.yaml');
    const looseEnv = hsm.env;
    writeFileSync(loose, `keys:\n  default_backend: pkcs11\n  pkcs11:\n    module: ${hsm.module}\n    token_label: no-such-token\n    pin_file: ${pinFile}\n`);
    const r = await serveFails(join(dir, 'fresh'), ['--config', loose], looseEnv);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/^signet: PKCS#11: no token labelled "no-such-token".*\(KEY_TOKEN_UNAVAILABLE\)$/m);
    const missing = join(dir, 'missing.yaml');
    writeFileSync(missing, 'keys:\n  default_backend: pkcs11\n');
    const m = await serveFails(join(dir, 'fresh2'), ['--config', missing], {});
    expect(m.stderr).toMatch(/\(CONFIG_INVALID\)$/m);
  });
});
