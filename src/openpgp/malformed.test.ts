// Hand-built bad inputs for every parser: each must fail with its stable code (never a crash,
// never a partial success). Built from a valid golden packet so that each case breaks one thing.
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { Secret } from '../secret.js';
import type { ErrorCode } from '../errors.js';
import {
  armor,
  dearmor,
  importSecretKey,
  parseSignaturePacket,
  parseTransferablePublicKey,
  publicKeyInfo,
  verifyDetached,
} from './index.js';
import { encodePacket, readPackets } from './packet.js';

const FIXTURES = new URL('../../test/fixtures/openpgp/', import.meta.url);
const golden = JSON.parse(readFileSync(new URL('ed25519-golden.json', FIXTURES), 'utf8')) as
  { seed: string; keyCreationTime: number; data: string; signature: string; transferablePublicKey: string };
const goldenKey = createPrivateKey({ key: Buffer.from(`302e020100300506032b657004220420${golden.seed}`, 'hex'), format: 'der', type: 'pkcs8' });
const info = publicKeyInfo(goldenKey, golden.keyCreationTime);
const data = Buffer.from(golden.data);
const signature = Buffer.from(golden.signature, 'hex');
const signatureBody = readPackets(signature)[0]!.body;
const tpk = Buffer.from(golden.transferablePublicKey, 'hex');

function expectCode(code: ErrorCode, run: () => unknown): void {
  expect(run).toThrow(expect.objectContaining({ code }));
}

/** A signature body from parts: hashed subpackets, unhashed subpackets, MPIs. */
function signatureFrom(parts: { head?: number[]; hashed?: Buffer; unhashed?: Buffer; tail?: Buffer }): Buffer {
  const hashed = parts.hashed ?? Buffer.from([5, 2, 0x65, 0x53, 0xf1, 0x3c]);
  const unhashed = parts.unhashed ?? Buffer.alloc(0);
  const tail = parts.tail ?? Buffer.concat([Buffer.from([0xab, 0xcd]), Buffer.from([0, 8, 0xff, 0, 8, 0xff])]);
  return encodePacket(2, Buffer.concat([Buffer.from(parts.head ?? [4, 0, 22, 8]), Buffer.from([hashed.length >> 8, hashed.length & 0xff]), hashed,
    Buffer.from([unhashed.length >> 8, unhashed.length & 0xff]), unhashed, tail]));
}

describe('signature packets', () => {
  test('the unmodified golden signature parses and verifies (the baseline every case breaks)', () => {
    expect(parseSignaturePacket(signature).creationTime).toBe(golden.keyCreationTime + 60);
    expect(verifyDetached(data, signature, [info]).ok).toBe(true);
    expect(parseSignaturePacket(signatureFrom({})).creationTime).toBe(0x6553f13c);
  });

  const cases: [string, ErrorCode, Buffer][] = [
    ['empty input', 'OPENPGP_MALFORMED', Buffer.alloc(0)],
    ['truncated packet', 'OPENPGP_MALFORMED', signature.subarray(0, signature.length - 1)],
    ['header only', 'OPENPGP_MALFORMED', signature.subarray(0, 2)],
    ['trailing byte', 'OPENPGP_MALFORMED', Buffer.concat([signature, Buffer.from([0])])],
    ['two signature packets', 'OPENPGP_MALFORMED', Buffer.concat([signature, signature])],
    ['a user ID packet instead', 'OPENPGP_MALFORMED', encodePacket(13, Buffer.from('x'))],
    ['no packet high bit', 'OPENPGP_MALFORMED', Buffer.from([0x02, 0x01, 0x04])],
    ['partial body length', 'OPENPGP_MALFORMED', Buffer.concat([Buffer.from([0xc2, 0xe1]), signatureBody])],
    ['old-format indeterminate length', 'OPENPGP_MALFORMED', Buffer.concat([Buffer.from([0x8b]), signatureBody])],
    ['length longer than the body', 'OPENPGP_MALFORMED', Buffer.concat([Buffer.from([0xc2, 0xff, 0, 0, 1, 0]), signatureBody])],
    ['version 3', 'OPENPGP_MALFORMED', signatureFrom({ head: [3, 0, 22, 8] })],
    ['version 5', 'OPENPGP_MALFORMED', signatureFrom({ head: [5, 0, 22, 8] })],
    ['unknown public-key algorithm (DSA)', 'ALGORITHM_UNSUPPORTED', signatureFrom({ head: [4, 0, 17, 8] })],
    ['no creation time', 'OPENPGP_MALFORMED', signatureFrom({ hashed: Buffer.alloc(0) })],
    ['two creation times', 'OPENPGP_MALFORMED', signatureFrom({ hashed: Buffer.from([5, 2, 0, 0, 0, 1, 5, 2, 0, 0, 0, 2]) })],
    ['creation time of 3 bytes', 'OPENPGP_MALFORMED', signatureFrom({ hashed: Buffer.from([4, 2, 0, 0, 1]) })],
    ['zero-length subpacket', 'OPENPGP_MALFORMED', signatureFrom({ hashed: Buffer.from([5, 2, 0, 0, 0, 1, 0]) })],
    ['subpacket past the hashed area', 'OPENPGP_MALFORMED', signatureFrom({ hashed: Buffer.from([9, 2, 0, 0, 0, 1]) })],
    ['unknown critical subpacket', 'OPENPGP_MALFORMED', signatureFrom({ hashed: Buffer.from([5, 2, 0, 0, 0, 1, 2, 0x80 | 40, 0]) })],
    ['critical notation', 'OPENPGP_MALFORMED', signatureFrom({ hashed: Buffer.from([5, 2, 0, 0, 0, 1, 2, 0x80 | 20, 0]) })],
    ['issuer fingerprint of version 5', 'OPENPGP_MALFORMED', signatureFrom({ hashed: Buffer.concat([Buffer.from([5, 2, 0, 0, 0, 1, 22, 33, 5]), Buffer.alloc(20)]) })],
    ['MPI bit count too high', 'OPENPGP_MALFORMED', signatureFrom({ tail: Buffer.from([0, 0, 0, 10, 0x01, 0xff, 0, 8, 0xff]) })],
    ['MPI past the end', 'OPENPGP_MALFORMED', signatureFrom({ tail: Buffer.from([0, 0, 1, 0, 0xff]) })],
    ['missing second EdDSA MPI', 'OPENPGP_MALFORMED', signatureFrom({ tail: Buffer.from([0, 0, 0, 8, 0xff]) })],
    ['bytes after the MPIs', 'OPENPGP_MALFORMED', signatureFrom({ tail: Buffer.from([0, 0, 0, 8, 0xff, 0, 8, 0xff, 0]) })],
    ['hashed area length past the body', 'OPENPGP_MALFORMED', Buffer.concat([Buffer.from([0xc2, 6]), Buffer.from([4, 0, 22, 8, 0xff, 0xff])])],
  ];
  test.each(cases)('%s → %s', (_name, code, bytes) => {
    expectCode(code, () => parseSignaturePacket(bytes));
    expect(verifyDetached(data, bytes, [info])).toEqual({ ok: false, reason: 'MALFORMED' });
  });

  test('signature types other than documents are not accepted as detached signatures', () => {
    const certification = readPackets(tpk)[2]!.raw;
    expect(parseSignaturePacket(certification).type).toBe(0x13);
    expect(verifyDetached(data, certification, [info])).toEqual({ ok: false, reason: 'MALFORMED' });
  });

  test('an unknown hash algorithm is malformed, MD5/SHA-1/RIPEMD are weak', () => {
    const withHash = (id: number): Buffer => { const s = Buffer.from(signature); s[5] = id; return s; };
    for (const id of [1, 2, 3]) expect(verifyDetached(data, withHash(id), [info])).toEqual({ ok: false, reason: 'WEAK_HASH' });
    expect(verifyDetached(data, withHash(99), [info])).toEqual({ ok: false, reason: 'MALFORMED' });
  });
});

describe('transferable public keys', () => {
  const [keyPacket, uidPacket, selfSig] = readPackets(tpk);
  const withKeyBody = (edit: (body: Buffer) => Buffer): Buffer =>
    Buffer.concat([encodePacket(6, edit(Buffer.from(keyPacket!.body))), uidPacket!.raw, selfSig!.raw]);
  const cases: [string, ErrorCode, Buffer][] = [
    ['empty', 'OPENPGP_MALFORMED', Buffer.alloc(0)],
    ['no user ID', 'OPENPGP_MALFORMED', Buffer.concat([keyPacket!.raw, selfSig!.raw])],
    ['user ID without self-signature', 'OPENPGP_MALFORMED', Buffer.concat([keyPacket!.raw, uidPacket!.raw])],
    ['starts with a user ID', 'OPENPGP_MALFORMED', Buffer.concat([uidPacket!.raw, keyPacket!.raw, selfSig!.raw])],
    ['trailing literal data packet', 'OPENPGP_MALFORMED', Buffer.concat([tpk, encodePacket(11, Buffer.from('b\0\0\0\0\0x'))])],
    ['truncated', 'OPENPGP_MALFORMED', tpk.subarray(0, tpk.length - 3)],
    ['key version 3', 'OPENPGP_MALFORMED', withKeyBody((b) => { b[0] = 3; return b; })],
    ['unknown key algorithm', 'ALGORITHM_UNSUPPORTED', withKeyBody((b) => { b[5] = 19; return b; })],
    ['another curve OID', 'ALGORITHM_UNSUPPORTED', withKeyBody((b) => { b[15] = 2; return b; })],
    ['point without 0x40 prefix', 'OPENPGP_MALFORMED', withKeyBody((b) => { b[18] = 0x41; return b; })],
    ['key body with a trailing byte', 'OPENPGP_MALFORMED', withKeyBody((b) => Buffer.concat([b, Buffer.from([0])]))],
  ];
  test.each(cases)('%s → %s', (_name, code, bytes) => expectCode(code, () => parseTransferablePublicKey(bytes)));
});

describe('armor', () => {
  const good = armor('SIGNATURE', signature);
  const crcLine = good.split('\n').find((l) => l.startsWith('='))!;
  const cases: [string, string][] = [
    ['empty', ''],
    ['junk before', `junk\n${good}`],
    ['junk after', `${good}junk\n`],
    ['second block after', `${good}${good}`],
    ['bad CRC', good.replace(crcLine, crcLine === '=AAAA' ? '=AAAB' : '=AAAA')],
    ['END of another kind', good.replace('END PGP SIGNATURE', 'END PGP MESSAGE')],
    ['unknown kind', good.replaceAll('PGP SIGNATURE', 'PGP SECRET THING')],
    ['no END line', good.split('\n').slice(0, -2).join('\n')],
    ['no blank line', good.replace('-----\n\n', '-----\n')],
    ['non-base64 character', good.replace(/\n([A-Za-z0-9+/]{10})/, '\n*$1'.slice(0, 11))],
    ['line longer than 76', good.replace(/\n([A-Za-z0-9+/]{64})\n/, (_m, l: string) => `\n${l}${l}\n`)],
    ['padding in the middle', good.replace(/\n([A-Za-z0-9+/]{60})[A-Za-z0-9+/]{4}\n/, (_m, l: string) => `\n${l}AA==\n`)],
    ['empty body', '-----BEGIN PGP SIGNATURE-----\n\n-----END PGP SIGNATURE-----\n'],
    ['bad header line', good.replace('-----\n\n', '-----\nno colon here\n\n')],
  ];
  test.each(cases)('%s → ARMOR_MALFORMED', (_name, text) => {
    expect(text).not.toBe(good);
    expectCode('ARMOR_MALFORMED', () => dearmor(text));
    expect(verifyDetached(data, Buffer.from(text), [info]).ok).toBe(false);
  });
});

describe('secret keys', () => {
  const gpgExport = readFileSync(new URL('ed25519-plain.secret.gpg', FIXTURES));
  const packets = readPackets(gpgExport);
  const publicLength = info.publicKeyPacketBody.length; // same layout for every Ed25519 key
  const withSecretBody = (edit: (body: Buffer) => Buffer): Buffer =>
    Buffer.concat([encodePacket(5, edit(Buffer.from(packets[0]!.body))), ...packets.slice(1).map((p) => p.raw)]);
  /** Replaces the cleartext secret fields of the unprotected export, with a correct checksum. */
  const withSecretFields = (edit: (fields: Buffer) => Buffer): Buffer => withSecretBody((b) => {
    const fields = edit(Buffer.from(b.subarray(publicLength + 1, b.length - 2)));
    const sum = fields.reduce((a, x) => (a + x) & 0xffff, 0);
    return Buffer.concat([b.subarray(0, publicLength + 1), fields, Buffer.from([sum >> 8, sum & 0xff])]);
  });
  const cases: [string, ErrorCode, Buffer][] = [
    ['bad checksum', 'KEY_IMPORT_FAILED', withSecretBody((b) => { b[b.length - 1]! ^= 1; return b; })],
    ['secret value changed (checksum fixed up)', 'KEY_IMPORT_FAILED', withSecretFields((f) => { f[f.length - 1]! ^= 1; return f; })],
    ['no checksum', 'OPENPGP_MALFORMED', withSecretBody((b) => b.subarray(0, publicLength + 1))],
    ['legacy S2K usage (a cipher ID)', 'ALGORITHM_UNSUPPORTED', withSecretBody((b) => { b[publicLength] = 7; return b; })],
    ['gnu-dummy stub', 'KEY_IMPORT_FAILED', withSecretBody((b) => Buffer.concat([b.subarray(0, publicLength), Buffer.from([254, 7, 101, 2]), Buffer.from('GNU\x01')]))],
    ['unknown cipher', 'ALGORITHM_UNSUPPORTED', withSecretBody((b) => Buffer.concat([b.subarray(0, publicLength), Buffer.from([254, 99, 3, 2]), Buffer.alloc(30)]))],
    ['unknown S2K hash', 'ALGORITHM_UNSUPPORTED', withSecretBody((b) => Buffer.concat([b.subarray(0, publicLength), Buffer.from([254, 7, 3, 77]), Buffer.alloc(40)]))],
    ['IV cut short', 'OPENPGP_MALFORMED', withSecretBody((b) => Buffer.concat([b.subarray(0, publicLength), Buffer.from([254, 7, 3, 2]), Buffer.alloc(12)]))],
    ['secret MPI of another key', 'KEY_IMPORT_FAILED', withSecretFields(() => Buffer.concat([Buffer.from([0, 251]), Buffer.alloc(32, 7)]))],
    ['public key packet first', 'OPENPGP_MALFORMED', Buffer.concat([encodePacket(6, packets[0]!.body.subarray(0, publicLength)), ...packets.slice(1).map((p) => p.raw)])],
    ['armored public key block', 'KEY_IMPORT_FAILED', Buffer.from(armor('PUBLIC KEY BLOCK', gpgExport))],
    ['garbage armor', 'ARMOR_MALFORMED', Buffer.from('-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n!!\n-----END PGP PRIVATE KEY BLOCK-----\n')],
  ];
  test('the unmodified export imports (the baseline)', () => {
    expect(importSecretKey(gpgExport).userIds).toHaveLength(1);
  });
  test.each(cases)('%s → %s', (_name, code, bytes) => expectCode(code, () => importSecretKey(bytes, new Secret('x'))));
});
