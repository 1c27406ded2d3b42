// Stock debsign (devscripts) with signet-gpg as its program (-p): the .dsc and the .changes are
// clearsigned through the server, gpg --verify accepts both (lines starting with "-" escaped and
// restored), a changed .changes fails, and both signatures are in the log as clearsign entries.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTools } from '../helpers/tools.js';
import { run } from './rpm-setup.js';
import { SHIM, armoredSignatureSha256, entriesFor, startShimServer, type ShimKey, type ShimSetup } from './gpg-shim-setup.js';

describe('debsign through signet-gpg', () => {
  let s: ShimSetup;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    requireTools('debsign', 'gpg');
    s = await startShimServer('shim-debsign');
    const home = join(s.dir, 'gnupg');
    mkdirSync(home, { mode: 0o700 });
    env = { ...s.env, GNUPGHOME: home, HOME: s.dir };
    for (const k of [s.keys.rsa, s.keys.ed]) expect(run('gpg', ['--batch', '--import', k.publicKeyFile], { env }).status).toBe(0);
  }, 180_000);

  afterAll(async () => {
    run('gpgconf', ['--kill', 'all'], { env });
    await s?.close();
  });

  const hex = (alg: string, f: string) => createHash(alg).update(readFileSync(f)).digest('hex');

  /** An upload: a .dsc and the _source.changes that lists it, as dpkg-genchanges writes them. */
  function upload(dir: string, key: ShimKey): string {
    mkdirSync(dir);
    const dsc = join(dir, 'hello_1.0-1.dsc');
    writeFileSync(
      dsc,
      `Format: 3.0 (quilt)\nSource: hello\nBinary: hello\nVersion: 1.0-1\nMaintainer: ${key.userId}\n` +
        'Checksums-Sha256:\n 0000000000000000000000000000000000000000000000000000000000000000 1 hello_1.0.orig.tar.gz\n',
    );
    const size = statSync(dsc).size;
    const changes = join(dir, 'hello_1.0-1_source.changes');
    writeFileSync(
      changes,
      [
        'Format: 1.8',
        'Date: Mon, 30 Nov 2026 12:00:00 +0000',
        'Source: hello',
        'Architecture: source',
        'Version: 1.0-1',
        'Distribution: unstable',
        `Maintainer: ${key.userId}`,
        'Changes:',
        ' hello (1.0-1) unstable; urgency=medium',
        ' .',
        '   * first upload; trailing spaces here   ',
        '-- a line that starts with a dash',
        'Checksums-Sha1:',
        ` ${hex('sha1', dsc)} ${size} hello_1.0-1.dsc`,
        'Checksums-Sha256:',
        ` ${hex('sha256', dsc)} ${size} hello_1.0-1.dsc`,
        'Files:',
        ` ${hex('md5', dsc)} ${size} devel optional hello_1.0-1.dsc`,
        '',
      ].join('\n'),
    );
    return changes;
  }

  const verify = (file: string) => run('gpg', ['--batch', '--verify', file], { env });

  for (const [label, keyOf, specOf, hash] of [
    ['RSA-4096 by email', () => s.keys.rsa, (k: ShimKey) => k.email, 'SHA512'],
    ['Ed25519 by fingerprint', () => s.keys.ed, (k: ShimKey) => k.fingerprint, 'SHA256'],
  ] as const) {
    it(`${label}: .dsc and .changes clearsigned, gpg --verify accepts, both logged`, async () => {
      const key = keyOf();
      const dir = join(s.dir, key.name);
      const changes = upload(dir, key);
      const dsc = join(dir, 'hello_1.0-1.dsc');
      const r = run('debsign', ['-p', SHIM, '-k', specOf(key), '--no-re-sign', changes], { env });
      expect(r.status, r.stdout + r.stderr).toBe(0);
      for (const f of [dsc, changes]) {
        const text = readFileSync(f, 'utf8');
        expect(text.startsWith(`-----BEGIN PGP SIGNED MESSAGE-----\nHash: ${hash}\n\n`)).toBe(true);
        const v = verify(f);
        expect(v.status, `${f}: ${v.stderr}`).toBe(0);
        expect(v.stderr).toContain(`Good signature from "${key.userId}"`);
      }
      expect(readFileSync(changes, 'utf8')).toContain('- -- a line that starts with a dash');
      // debsign rewrote the .changes checksums for the signed .dsc before signing the .changes.
      expect(readFileSync(changes, 'utf8')).toContain(hex('sha256', dsc));
      const entries = await entriesFor(s.srv.addr, [dsc, changes].map((f) => armoredSignatureSha256(readFileSync(f, 'utf8'))));
      expect(entries.map((e) => [e.sig_kind, e.artifact.name, e.key_fingerprint])).toEqual([
        ['clearsign', 'hello_1.0-1.dsc', key.fingerprint],
        ['clearsign', 'hello_1.0-1_source.changes', key.fingerprint],
      ]);
      // A changed upload no longer verifies.
      writeFileSync(changes, readFileSync(changes, 'utf8').replace('Distribution: unstable', 'Distribution: stable'));
      expect(verify(changes).status).not.toBe(0);
    });
  }

  it('an unknown key fails debsign and leaves the files unsigned', () => {
    const dir = join(s.dir, 'unknown');
    const changes = upload(dir, s.keys.ed);
    const before = readFileSync(changes);
    const r = run('debsign', ['-p', SHIM, '-k', 'nobody@signet.test', '--no-re-sign', changes], { env });
    expect(r.status).not.toBe(0);
    expect(readFileSync(changes).equals(before)).toBe(true);
    expect(readFileSync(join(dir, 'hello_1.0-1.dsc'), 'utf8')).not.toContain('BEGIN PGP');
  });
});
