// Stock rpmsign signing through signet-gpg (%__gpg pointed at the shim), checked by rpmkeys -Kv:
// RSA-4096 and Ed25519 header signatures OK, each one in the transparency log as an rpm entry
// with the package's NEVRA; a tampered payload fails; an unsupported gpg option signs nothing.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTools } from '../helpers/tools.js';
import { makeWorkspace, run, type Workspace } from './rpm-setup.js';
import { SHIM, entriesFor, newSignatureEntries, packetSha256, settledSignatureCount, startShimServer, type ShimKey, type ShimSetup } from './gpg-shim-setup.js';

describe('rpmsign through signet-gpg', () => {
  let ws: Workspace;
  let s: ShimSetup;

  beforeAll(async () => {
    requireTools('rpm', 'rpmkeys', 'rpmsign', 'rpmbuild');
    ws = makeWorkspace();
    s = await startShimServer('shim-rpm');
  }, 180_000);

  afterAll(async () => {
    await s?.close();
    ws?.cleanup();
  });

  function rpmsign(gpgName: string, files: string[], extra: string[] = []) {
    return run('rpmsign', ['--define', `__gpg ${SHIM}`, '--define', `_gpg_name ${gpgName}`, ...extra, '--addsign', ...files], { env: s.env });
  }

  function rpmkeys(name: string, key: ShimKey, file: string) {
    const db = join(ws.dir, `db-${name}`);
    mkdirSync(db, { recursive: true });
    run('rpmkeys', ['--dbpath', db, '--import', key.publicKeyFile]);
    return run('rpmkeys', ['--dbpath', db, '-Kv', file]);
  }

  const sha256 = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');

  const cases: [string, () => ShimKey, (k: ShimKey) => string, string][] = [
    ['RSA-4096 by user-ID email', () => s.keys.rsa, (k) => k.email, 'RSA/SHA512'],
    ['Ed25519 by fingerprint', () => s.keys.ed, (k) => k.fingerprint, 'EdDSA/SHA256'],
  ];
  for (const [label, keyOf, specOf, sigLabel] of cases) {
    it(`${label}: rpmkeys -Kv OK for the small corpus, every signature logged with its NEVRA`, async () => {
      const key = keyOf();
      const files = ws.copyCorpus(join(ws.dir, key.name));
      const r = rpmsign(specOf(key), files, ['--define', '_gpg_digest_algo sha256']);
      expect(r.status, r.stderr).toBe(0);
      for (const f of files) {
        const check = rpmkeys(key.name, key, f);
        expect(check.status, check.stdout + check.stderr).toBe(0);
        expect(check.stdout).toMatch(new RegExp(`Header V4 ${sigLabel} Signature, key ID ${key.fingerprint.slice(-8).toLowerCase()}: OK`));
      }
      // The packet rpmsign stored in each package is the one in the log, with the package's NEVRA.
      const tag = key === s.keys.rsa ? 'RSAHEADER' : 'DSAHEADER';
      const packets = files.map((f) => packetSha256(Buffer.from(run('rpm', ['-qp', '--qf', `%{${tag}}`, f]).stdout.trim(), 'hex')));
      const entries = await entriesFor(s.srv.addr, packets);
      files.forEach((f, i) => {
        const nevra = run('rpm', ['-qp', '--qf', '%{nevra}', f]).stdout.trim();
        expect(entries[i]?.artifact.nevra).toBe(nevra);
        expect(entries[i]?.sig_kind).toBe('rpm');
        expect(entries[i]?.key_fingerprint).toBe(key.fingerprint);
      });
    }, 180_000);
  }

  it('a flipped payload byte fails rpmkeys; a key it does not trust is NOKEY', () => {
    const [file] = ws.copyCorpus(join(ws.dir, 'tamper'));
    expect(rpmsign(s.keys.ed.name, [file!]).status).toBe(0);
    expect(rpmkeys('tamper-ok', s.keys.ed, file!).status).toBe(0);
    expect(rpmkeys('tamper-other', s.keys.other, file!).status).not.toBe(0);
    const bytes = readFileSync(file!);
    bytes[bytes.length - 100] = (bytes[bytes.length - 100] as number) ^ 0xff;
    writeFileSync(file!, bytes);
    expect(rpmkeys('tamper-ok', s.keys.ed, file!).status).not.toBe(0);
  });

  it('an unsupported gpg option, an unknown key and a weak digest sign nothing; --rpmv3 leaves the file unchanged', async () => {
    const [file] = ws.copyCorpus(join(ws.dir, 'refused'));
    const original = sha256(file!);
    const before = await settledSignatureCount(s.srv.addr);
    const bad = rpmsign(s.keys.rsa.email, [file!], ['--define', '_gpg_sign_cmd_extra_args --sign-with-guesswork']);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain('signet-gpg:');
    const unknown = rpmsign('nobody@signet.test', [file!]);
    expect(unknown.status).not.toBe(0);
    const weak = rpmsign(s.keys.rsa.email, [file!], ['--define', '_gpg_digest_algo sha1']);
    expect(weak.status).not.toBe(0);
    expect(sha256(file!)).toBe(original);
    expect(await settledSignatureCount(s.srv.addr)).toBe(before);
    // --rpmv3: rpmsign first makes the header-only signature (a valid request, signed and logged
    // like any), then the header + payload one, which is not signed as opaque bytes: the RPM
    // route refuses it, rpmsign fails and leaves the file as it was.
    const v3 = rpmsign(s.keys.rsa.email, [file!], ['--rpmv3']);
    expect(v3.status).not.toBe(0);
    expect(v3.stderr).toContain('RPM_MALFORMED');
    expect(sha256(file!)).toBe(original);
    const afterV3 = await newSignatureEntries(s.srv.addr, before, 1);
    expect(afterV3.map((e) => e.sig_kind)).toEqual(['rpm']);
    // One signature that does go through: it is the only entry after those, and it is the
    // packet rpmsign stored in the package.
    expect(rpmsign(s.keys.rsa.email, [file!]).status).toBe(0);
    const entries = await newSignatureEntries(s.srv.addr, before + 1, 1);
    expect(entries).toHaveLength(1);
    const stored = packetSha256(Buffer.from(run('rpm', ['-qp', '--qf', '%{RSAHEADER}', file!]).stdout.trim(), 'hex'));
    expect(entries[0]?.signature_sha256).toBe(stored);
  });
});
