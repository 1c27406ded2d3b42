// signet-gpg called by rpm 6.1's own rpmsign (in the sid root of scripts/sid-root.sh), the way
// rpm 6 calls gpg: `--version` first, then `-sbo OUT -- -` with the header on stdin. The host's
// node and this checkout are bind-mounted read-only at their own paths, so rpmsign runs the shim
// from inside the root. `rpmsign --rpmv6` with a v4 RSA key and then a v6 Ed25519 key through
// the shim gives a package rpm 6.1 verifies with both.
import { realpathSync, writeFileSync, chmodSync, copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, requireBuild, serveProcess, signet, type ServeProcess } from '../helpers/cli.js';
import { openSidRoot, type SidRoot } from '../helpers/sid-root.js';
import { requireTools } from '../helpers/tools.js';
import { makeWorkspace, type Workspace } from './rpm-setup.js';

describe('signet-gpg under rpm 6.1 rpmsign --rpmv6', () => {
  let ws: Workspace;
  let sid: SidRoot;
  let srv: ServeProcess;
  let env: Record<string, string>;
  const fpr: Record<string, string> = {};

  beforeAll(async () => {
    requireTools('rpmbuild', 'debootstrap');
    requireBuild();
    ws = makeWorkspace();
    sid = openSidRoot(ws.dir, { binds: [process.execPath, ROOT, realpathSync(join(ROOT, 'node_modules'))] });
    srv = await serveProcess();
    env = { SIGNET_ADDR: srv.addr, SIGNET_TOKEN: srv.token };
    for (const [name, args] of [['shim4', ['--algo', 'rsa4096']], ['shim6', ['--profile', 'rfc9580']]] as const) {
      const r = signet(['key', 'create', name, ...args, '--uid', `${name} <${name}@example.org>`, '--json'], { env });
      expect(r.status, r.stderr).toBe(0);
      fpr[name] = (JSON.parse(r.stdout) as { fingerprint: string }).fingerprint.toLowerCase();
      writeFileSync(join(ws.dir, `${name}.asc`), signet(['key', 'export', name], { env }).stdout);
    }
    // What rpm runs as %__gpg: the shim with the host's node (both mounted at their own paths).
    writeFileSync(join(ws.dir, 'gpg'), `#!/bin/sh\nexec ${process.execPath} ${join(ROOT, 'bin', 'signet-gpg')} "$@"\n`);
    chmodSync(join(ws.dir, 'gpg'), 0o755);
    mkdirSync(join(ws.dir, 'db'));
    for (const name of ['shim4', 'shim6']) expect(sid.run(['rpmkeys', '--dbpath', `${sid.inside}/db`, '--import', `${name}.asc`]).status).toBe(0);
  }, 600_000);

  afterAll(async () => {
    sid?.close();
    await srv?.stop();
    ws?.cleanup();
  });

  it('rpmsign --rpmv6 through signet-gpg with a v4 and a v6 key: rpmkeys -Kv lists both OK', () => {
    const pkg = join(ws.dir, 'shim.rpm');
    copyFileSync(ws.corpus[0]!, pkg);
    for (const key of ['shim4', 'shim6']) {
      const r = sid.run(['rpmsign', '--rpmv6', '--define', `__gpg ${sid.inside}/gpg`, '--define', `_gpg_name ${key}`, '--addsign', sid.path(pkg)], { env });
      expect(r.status, r.stdout + r.stderr).toBe(0);
    }
    const check = sid.run(['rpmkeys', '--dbpath', `${sid.inside}/db`, '-Kv', sid.path(pkg)]);
    expect(check.status, check.stdout + check.stderr).toBe(0);
    expect(check.stdout).toContain(`Header OpenPGP V6 Ed25519/SHA512 signature, key fingerprint: ${fpr.shim6}: OK`);
    expect(check.stdout).toContain(`Header OpenPGP V4 RSA/SHA512 signature, key fingerprint: ${fpr.shim4}: OK`);
  });
});
