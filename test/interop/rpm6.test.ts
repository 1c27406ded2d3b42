// rpm 6 (Debian sid: rpm 6.1 with rpm-sequoia, in the sid root of scripts/sid-root.sh): signet's
// multi-signature layout against rpmsign's own. The same keys (made by signet's core, loaded into
// sq and imported into signet) sign a copy of one package with `rpmsign --rpmv6 --addsign` run
// once per key and with `signet rpm sign --key A --key B`: same tags, types, counts and order, same
// file size, the reserved space shrunk to keep the header size; rpm 6.1's `rpmkeys -Kv` lists
// every signature OK, Debian 12's rpm still finds the v4 one in tag 268; tampering and foreign
// keys fail.
import { readFileSync, statSync, writeFileSync, copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { armor, generateKey, parseSignaturePacket, parseTransferablePublicKey, verifyDetached, type GeneratedKey } from '../../src/openpgp/index.js';
import { existingSignatures, parseRpmPrefix } from '../../src/rpm/index.js';
import { armoredSecretKey } from '../helpers/secret-export.js';
import { openSidRoot, type SidRoot } from '../helpers/sid-root.js';
import { requireTools } from '../helpers/tools.js';
import { requireBuild, serveProcess, signet, type ServeProcess } from '../helpers/cli.js';
import { makeWorkspace, run, type Workspace } from './rpm-setup.js';

interface Entry { tag: number; type: number; count: number; offset: number }

function signatureEntries(file: string): { entries: Entry[]; size: number } {
  const layout = parseRpmPrefix(readFileSync(file));
  return { entries: layout.signatureHeader.entries.map((e) => ({ tag: e.tag, type: e.type, count: e.count, offset: e.offset })), size: layout.signatureHeader.bytes.length };
}

describe('rpm 6 multi-signature packages', () => {
  let ws: Workspace;
  let sid: SidRoot;
  let srv: ServeProcess;
  let env: Record<string, string>;
  const keys: Record<string, GeneratedKey> = {};
  const fpr = (name: string): string => keys[name]!.info.fingerprint.toString('hex').toUpperCase();

  beforeAll(async () => {
    requireTools('rpm', 'rpmkeys', 'rpmbuild', 'debootstrap');
    requireBuild();
    ws = makeWorkspace();
    sid = openSidRoot(ws.dir);
    srv = await serveProcess();
    env = { SIGNET_ADDR: srv.addr, SIGNET_TOKEN: srv.token };
    keys.rsa = await generateKey({ algorithm: 'rsa4096', userId: 'RSA v4 <rsa@example.org>' });
    keys.ed6 = await generateKey({ algorithm: 'ed25519', userId: 'Ed25519 v6 <ed6@example.org>', profile: 'rfc9580' });
    keys.ed448 = await generateKey({ algorithm: 'ed448', userId: 'Ed448 v6 <ed448@example.org>', profile: 'rfc9580' });
    keys.foreign = await generateKey({ algorithm: 'ed25519', userId: 'Foreign v6 <foreign@example.org>', profile: 'rfc9580' });
    for (const [name, key] of Object.entries(keys)) {
      writeFileSync(join(ws.dir, `${name}.sec`), armoredSecretKey(key));
      writeFileSync(join(ws.dir, `${name}.asc`), armor('PUBLIC KEY BLOCK', key.transferablePublicKey));
      if (name === 'foreign') continue;
      const imported = signet(['key', 'import', join(ws.dir, `${name}.sec`), '--name', name], { env });
      expect(imported.status, imported.stderr).toBe(0);
    }
    // sq holds the same secret keys for rpmsign's `%_openpgp_sign sq`.
    const sq = sid.run(['sq', '--batch', 'key', 'import', 'rsa.sec', 'ed6.sec', 'ed448.sec']);
    expect(sq.status, sq.stderr).toBe(0);
    // rpm 6.1's keyring for rpmkeys: its own rpmdb in the test directory.
    mkdirSync(join(ws.dir, 'db6'));
    for (const name of ['rsa', 'ed6', 'ed448']) {
      const r = sid.run(['rpmkeys', '--dbpath', `${sid.inside}/db6`, '--import', `${name}.asc`]);
      expect(r.status, r.stderr).toBe(0);
    }
  }, 600_000);

  afterAll(async () => {
    sid?.close();
    await srv?.stop();
    ws?.cleanup();
  });

  const rpmsign = (file: string, key: string) => {
    const r = sid.run(['rpmsign', '--rpmv6', '--define', '_openpgp_sign sq', '--define', `_openpgp_sign_id ${fpr(key)}`, '--addsign', sid.path(file)]);
    expect(r.status, r.stdout + r.stderr).toBe(0);
  };
  const rpmkeys6 = (file: string, db = 'db6') => sid.run(['rpmkeys', '--dbpath', `${sid.inside}/${db}`, '-Kv', sid.path(file)]);

  it('signet --key rsa --key ed6 writes what rpmsign --rpmv6 writes for the same keys', () => {
    const original = ws.corpus[0]!;
    const theirs = join(ws.dir, 'theirs.rpm');
    const ours = join(ws.dir, 'ours.rpm');
    copyFileSync(original, theirs);
    copyFileSync(original, ours);
    rpmsign(theirs, 'rsa');
    rpmsign(theirs, 'ed6');
    const r = signet(['rpm', 'sign', '--key', 'rsa', '--key', 'ed6', ours], { env });
    expect(r.status, r.stderr).toBe(0);

    const before = signatureEntries(original);
    const a = signatureEntries(theirs);
    const b = signatureEntries(ours);
    // Same tags, types and counts in the same order: 268 (the v4 RSA one), 278 with both. The
    // byte counts of 268 and 1008 differ with the packets' sizes (sq adds a salt notation to v4
    // signatures); the arithmetic is checked below.
    const shape = (e: Entry) => (e.tag === 268 || e.tag === 1008 ? { tag: e.tag, type: e.type } : { tag: e.tag, type: e.type, count: e.count });
    expect(b.entries.map(shape)).toEqual(a.entries.map(shape));
    expect(a.entries.map((e) => e.tag)).toEqual([62, 268, 269, 273, 278, 1000, 1004, 1007, 1008]);
    expect(a.entries.find((e) => e.tag === 278)!.count).toBe(2);
    // Reserved-space arithmetic: both keep the header size and the file size; RESERVEDSPACE ends
    // where the region trailer starts, in theirs and ours.
    expect(a.size).toBe(before.size);
    expect(b.size).toBe(before.size);
    expect(statSync(ours).size).toBe(statSync(original).size);
    expect(statSync(theirs).size).toBe(statSync(original).size);
    for (const [h, file] of [[a, theirs], [b, ours]] as const) {
      const reserved = h.entries.find((e) => e.tag === 1008)!;
      expect(reserved.offset + reserved.count).toBe(h.entries[0]!.offset);
      // Shrunk by exactly the growth: two index entries, the 268 packet, the 278 strings, and
      // the realignment of the INT32 entries between them.
      const sigs = existingSignatures(parseRpmPrefix(readFileSync(file)).signatureHeader);
      const grown = 32 + sigs[0]!.packet.length + sigs.slice(1).reduce((n, s) => n + s.packet.toString('base64').length + 1, 0);
      const oldReserved = before.entries.find((e) => e.tag === 1008)!.count;
      expect(Math.abs(oldReserved - reserved.count - grown)).toBeLessThan(8);
    }
    // The signatures: the v4 RSA packet in 268 is the first one in 278, then the v6 one.
    const sigs = existingSignatures(parseRpmPrefix(readFileSync(ours)).signatureHeader);
    expect(sigs.map((s) => [s.tag, parseSignaturePacket(s.packet).version])).toEqual([[268, 4], [278, 4], [278, 6]]);
    expect(sigs[0]!.packet.equals(sigs[1]!.packet)).toBe(true);

    // rpm 6.1 lists both as OK, by key fingerprint.
    const check = rpmkeys6(ours);
    expect(check.status, check.stdout + check.stderr).toBe(0);
    expect(check.stdout).toContain(`Header OpenPGP V6 Ed25519/SHA512 signature, key fingerprint: ${fpr('ed6').toLowerCase()}: OK`);
    expect(check.stdout).toContain(`Header OpenPGP V4 RSA/SHA512 signature, key fingerprint: ${fpr('rsa').toLowerCase()}: OK`);
    // signet's own verifier reads the rpm 6 layout as rpm 6 does: both signatures from tag 278.
    const ownVerify = signet(['rpm', 'verify', '--keyring', join(ws.dir, 'rsa.asc'), '--keyring', join(ws.dir, 'ed6.asc'), ours]);
    expect(ownVerify.status, ownVerify.stdout + ownVerify.stderr).toBe(0);
    expect(ownVerify.stdout).toContain(`Header OpenPGP V6 Ed25519/SHA512 signature, key fingerprint: ${fpr('ed6').toLowerCase()}: OK`);
    // Debian 12's rpm (4.18) still finds the RSA signature in tag 268.
    const db4 = join(ws.dir, 'db4');
    mkdirSync(db4, { recursive: true });
    expect(run('rpmkeys', ['--dbpath', db4, '--import', join(ws.dir, 'rsa.asc')]).status).toBe(0);
    const old = run('rpmkeys', ['--dbpath', db4, '-Kv', ours]);
    expect(old.status, old.stdout + old.stderr).toBe(0);
    expect(old.stdout).toMatch(/Header V4 RSA\/SHA512 Signature, key ID [0-9a-f]+: OK/);
  });

  for (const key of ['ed6', 'ed448'] as const) {
    it(`${key}: a v6 key alone writes tag 278 only; rpm 6.1 verifies every package; tampering and a foreign key fail`, () => {
      const files = ws.copyCorpus(join(ws.dir, `v6-${key}`));
      const sizes = files.map((f) => statSync(f).size);
      const r = signet(['rpm', 'sign', '--key', key, ...files], { env });
      expect(r.status, r.stderr).toBe(0);
      expect(files.map((f) => statSync(f).size)).toEqual(sizes);
      const label = key === 'ed6' ? 'Ed25519' : 'Ed448';
      for (const f of files) {
        expect(signatureEntries(f).entries.map((e) => e.tag)).toEqual([62, 269, 273, 278, 1000, 1004, 1007, 1008]);
        const check = rpmkeys6(f);
        expect(check.status, check.stdout + check.stderr).toBe(0);
        expect(check.stdout).toContain(`Header OpenPGP V6 ${label}/SHA512 signature, key fingerprint: ${fpr(key).toLowerCase()}: OK`);
      }
      const own = signet(['rpm', 'verify', '--keyring', join(ws.dir, `${key}.asc`), ...files]);
      expect(own.status, own.stdout + own.stderr).toBe(0);
      // Tampered main header: one byte of the last header data changed.
      const tampered = join(ws.dir, `tampered-${key}.rpm`);
      const bytes = readFileSync(files[0]!);
      const layout = parseRpmPrefix(bytes);
      bytes[layout.payloadOffset - 2] = bytes[layout.payloadOffset - 2]! ^ 0x01;
      writeFileSync(tampered, bytes);
      expect(rpmkeys6(tampered).status).not.toBe(0);
      expect(signet(['rpm', 'verify', '--keyring', join(ws.dir, `${key}.asc`), tampered]).status).not.toBe(0);
      expect(signet(['rpm', 'verify', '--keyring', join(ws.dir, 'foreign.asc'), files[0]!]).status).not.toBe(0);
      // A keyring with only a foreign key does not accept it.
      mkdirSync(join(ws.dir, `dbf-${key}`));
      expect(sid.run(['rpmkeys', '--dbpath', `${sid.inside}/dbf-${key}`, '--import', 'foreign.asc']).status).toBe(0);
      expect(rpmkeys6(files[0]!, `dbf-${key}`).status).not.toBe(0);
    });
  }

  it('a post-quantum key (experimental) signs in tag 278 beside RSA; signet\'s verifier checks it', () => {
    expect(signet(['key', 'create', 'pq', '--profile', 'rfc9580', '--algo', 'mldsa65-ed25519', '--uid', 'PQ <pq@example.org>'], { env }).status).toBe(0);
    const cert = parseTransferablePublicKey(Buffer.from(signet(['key', 'export', 'pq'], { env }).stdout.split('\n').filter((l) => l && !l.startsWith('-----') && !l.startsWith('=')).join(''), 'base64')).info;
    const file = join(ws.dir, 'pq.rpm');
    copyFileSync(ws.corpus[1]!, file);
    const r = signet(['rpm', 'sign', '--key', 'rsa', '--key', 'pq', file], { env });
    expect(r.status, r.stderr).toBe(0);
    const layout = parseRpmPrefix(readFileSync(file));
    const sigs = existingSignatures(layout.signatureHeader).filter((s) => s.tag === 278);
    expect(sigs.map((s) => parseSignaturePacket(s.packet).pkAlgorithm)).toEqual([1, 30]);
    expect(verifyDetached(layout.header.bytes, sigs[1]!.packet, [cert]).ok).toBe(true);
    // rpm 6.1 still verifies the RSA one (its Sequoia has no ML-DSA backend here).
    expect(rpmkeys6(file).stdout).toContain(`Header OpenPGP V4 RSA/SHA512 signature, key fingerprint: ${fpr('rsa').toLowerCase()}: OK`);
  });

  it('signet sign checks a post-quantum signature before writing it (the CLI loads ML-DSA for such a key only)', () => {
    const data = join(ws.dir, 'pq-notes.txt');
    writeFileSync(data, 'release notes signed with a composite key\n');
    const r = signet(['sign', '--key', 'pq', '-o', `${data}.sig`, data], { env });
    expect(r.status, r.stderr).toBe(0);
    const cert = parseTransferablePublicKey(Buffer.from(signet(['key', 'export', 'pq'], { env }).stdout.split('\n').filter((l) => l && !l.startsWith('-----') && !l.startsWith('=')).join(''), 'base64')).info;
    expect(parseSignaturePacket(readFileSync(`${data}.sig`)).pkAlgorithm).toBe(30);
    expect(verifyDetached(readFileSync(data), readFileSync(`${data}.sig`), [cert]).ok).toBe(true);
  });
});
