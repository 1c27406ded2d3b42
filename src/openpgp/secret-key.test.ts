// Importing gpg exports (test/fixtures/openpgp, made by make-fixtures.sh with gpg 2.2), plus
// protection variants gpg 2.2 does not write: those are made by openpgp.js (independent) and by
// a small protector below that follows RFC 4880 §3.7 and §5.5.3 directly.
import { createCipheriv, createHash, getCiphers, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as openpgp from 'openpgp';
import { describe, expect, test } from 'vitest';
import { Secret } from '../secret.js';
import {
  dearmor,
  importSecretKey,
  parseTransferablePublicKey,
  signDetached,
  verifyDetached,
} from './index.js';
import { encodePacket, readPackets } from './packet.js';

const FIXTURES = new URL('../../test/fixtures/openpgp/', import.meta.url);
const fixture = (name: string): Buffer => readFileSync(new URL(name, FIXTURES));
const PASSPHRASE = 'correct horse';
const NAMES = ['rsa-plain', 'ed25519-plain', 'rsa-protected', 'ed25519-protected'] as const;

async function signsAndVerifies(name: string, input: Uint8Array, passphrase?: Secret): Promise<void> {
  const imported = importSecretKey(input, passphrase);
  expect(imported.info.fingerprint.toString('hex').toUpperCase()).toBe(fixture(`${name}.fingerprint`).toString().trim());
  expect(imported.userIds).toEqual([`signet test ${name} (TEST ONLY) <${name}@test.invalid>`]);
  const data = Buffer.from('imported key signs');
  const signature = await signDetached(data, imported.privateKey,
    { type: 0, hashAlgorithm: 'sha512', creationTime: imported.info.creationTime + 1, signer: imported.info });
  // Verify with the key as gpg exported it publicly, not with what import produced.
  const gpgPublic = parseTransferablePublicKey(dearmor(fixture(`${name}.public.asc`).toString()).bytes);
  expect(verifyDetached(data, signature, [gpgPublic.info]).ok).toBe(true);
}

describe.each(NAMES)('%s', (name) => {
  const passphrase = name.endsWith('protected') ? new Secret(PASSPHRASE) : undefined;
  test('binary and armored exports import, sign, and verify against gpg\'s public export', async () => {
    await signsAndVerifies(name, fixture(`${name}.secret.gpg`), passphrase);
    await signsAndVerifies(name, fixture(`${name}.secret.asc`), passphrase);
  });

  test('the transferable public key keeps gpg\'s user ID, self-signature and subkey signature bytes, subkeys as public subkeys', () => {
    const imported = importSecretKey(fixture(`${name}.secret.gpg`), passphrase);
    const parsed = parseTransferablePublicKey(imported.transferablePublicKey);
    expect(parsed.userIds).toEqual(imported.userIds);
    const ours = readPackets(imported.transferablePublicKey);
    const secret = readPackets(fixture(`${name}.secret.gpg`));
    // Secret packets become public ones (5 -> 6, 7 -> 14); everything else is copied byte for byte.
    expect(ours.map((p) => p.tag)).toEqual(secret.map((p) => (p.tag === 5 ? 6 : p.tag === 7 ? 14 : p.tag)));
    for (let i = 0; i < ours.length; i++) if (ours[i]!.tag === 13 || ours[i]!.tag === 2) expect(ours[i]!.raw.equals(secret[i]!.raw)).toBe(true);
    // The same public certificate gpg exports (binary, packet by packet).
    const gpgPublic = readPackets(dearmor(fixture(`${name}.public.asc`).toString()).bytes);
    expect(ours.map((p) => p.body.toString('hex'))).toEqual(gpgPublic.map((p) => p.body.toString('hex')));
  });
});

test('protected keys: missing passphrase, wrong passphrase', () => {
  for (const name of ['rsa-protected', 'ed25519-protected']) {
    expect(() => importSecretKey(fixture(`${name}.secret.gpg`))).toThrow(expect.objectContaining({ code: 'KEY_PASSPHRASE_REQUIRED' }));
    expect(() => importSecretKey(fixture(`${name}.secret.gpg`), new Secret('correct horsf')))
      .toThrow(expect.objectContaining({ code: 'KEY_PASSPHRASE_WRONG' }));
  }
});

test('errors never carry the passphrase', () => {
  try {
    importSecretKey(fixture('ed25519-protected.secret.gpg'), new Secret('hunter2-secret'));
    expect.unreachable();
  } catch (err) {
    expect(String((err as Error).message)).not.toContain('hunter2');
    expect(JSON.stringify(err)).not.toContain('hunter2');
  }
});

test('a primary key that may only certify is refused with KEY_IMPORT_FAILED', () => {
  expect(() => importSecretKey(fixture('ed25519-certonly.secret.gpg')))
    .toThrow(expect.objectContaining({ code: 'KEY_IMPORT_FAILED', message: expect.stringMatching(/may not sign/) }));
});

test('a public key block or a public key packet is not a secret key', () => {
  expect(() => importSecretKey(fixture('ed25519-plain.public.asc'))).toThrow(expect.objectContaining({ code: 'KEY_IMPORT_FAILED' }));
  const publicBinary = dearmor(fixture('ed25519-plain.public.asc').toString()).bytes;
  expect(() => importSecretKey(publicBinary)).toThrow(expect.objectContaining({ code: 'OPENPGP_MALFORMED' }));
});

test('openpgp.js-protected keys (AES-256, iterated+salted SHA-256) import', async () => {
  for (const name of ['rsa-plain', 'ed25519-plain']) {
    const privateKey = await openpgp.readPrivateKey({ binaryKey: fixture(`${name}.secret.gpg`) });
    const encrypted = await openpgp.encryptKey({ privateKey, passphrase: PASSPHRASE });
    const bytes = encrypted.write();
    const body = readPackets(bytes)[0]!.body;
    const publicLength = importSecretKey(fixture(`${name}.secret.gpg`)).info.publicKeyPacketBody.length;
    expect([body[publicLength], body[publicLength + 1], body[publicLength + 2]]).toEqual([254, 9, 3]);
    await signsAndVerifies(name, bytes, new Secret(PASSPHRASE));
    expect(() => importSecretKey(bytes, new Secret('nope'))).toThrow(expect.objectContaining({ code: 'KEY_PASSPHRASE_WRONG' }));
  }
});

// --- a protector straight from RFC 4880, for the variants neither gpg 2.2 nor openpgp.js write ---

interface Protection { usage: 254 | 255; cipher: 7 | 8 | 9; s2kType: 0 | 1 | 3; hash: 2 | 8 | 10 }
const CIPHER = { 7: ['aes-128-cfb', 16], 8: ['aes-192-cfb', 24], 9: ['aes-256-cfb', 32] } as const;
const HASH = { 2: 'sha1', 8: 'sha256', 10: 'sha512' } as const;

function s2kKey(p: Protection, salt: Buffer, countByte: number, passphrase: Buffer, keyLength: number): Buffer {
  const material = p.s2kType === 0 ? passphrase : Buffer.concat([salt, passphrase]);
  let hashed = material;
  if (p.s2kType === 3) {
    const count = Math.max((16 + (countByte & 15)) << ((countByte >> 4) + 6), material.length);
    hashed = Buffer.alloc(count);
    for (let i = 0; i < count; i++) hashed[i] = material[i % material.length]!;
  }
  let key = Buffer.alloc(0);
  for (let zeros = 0; key.length < keyLength; zeros++) {
    key = Buffer.concat([key, createHash(HASH[p.hash]).update(Buffer.alloc(zeros)).update(hashed).digest()]);
  }
  return key.subarray(0, keyLength);
}

function protect(plainSecretPacket: Buffer, publicLength: number, p: Protection, passphrase: string): Buffer {
  const body = readPackets(plainSecretPacket)[0]!.body;
  expect(body[publicLength]).toBe(0);
  const fields = body.subarray(publicLength + 1, body.length - 2);
  const check = p.usage === 254 ? createHash('sha1').update(fields).digest()
    : Buffer.from([(fields.reduce((a, b) => a + b, 0) >> 8) & 0xff, fields.reduce((a, b) => a + b, 0) & 0xff]);
  const salt = randomBytes(8);
  const countByte = 0x60;
  const [cipherName, keyLength] = CIPHER[p.cipher];
  const iv = randomBytes(16);
  const cipher = createCipheriv(cipherName, s2kKey(p, salt, countByte, Buffer.from(passphrase), keyLength), iv);
  const encrypted = Buffer.concat([cipher.update(Buffer.concat([fields, check])), cipher.final()]);
  const s2k = Buffer.concat([Buffer.from([p.s2kType, p.hash]), p.s2kType === 0 ? Buffer.alloc(0) : salt,
    p.s2kType === 3 ? Buffer.from([countByte]) : Buffer.alloc(0)]);
  return encodePacket(5, Buffer.concat([body.subarray(0, publicLength), Buffer.from([p.usage, p.cipher]), s2k, iv, encrypted]));
}

test.each<Protection>([
  { usage: 254, cipher: 8, s2kType: 3, hash: 2 },
  { usage: 254, cipher: 9, s2kType: 1, hash: 8 },
  { usage: 255, cipher: 7, s2kType: 0, hash: 10 },
  { usage: 255, cipher: 9, s2kType: 3, hash: 10 },
])('protection %o imports with the right passphrase only', async (p) => {
  const name = 'ed25519-plain';
  const gpgExport = fixture(`${name}.secret.gpg`);
  const packets = readPackets(gpgExport);
  const publicLength = importSecretKey(gpgExport).info.publicKeyPacketBody.length;
  const reprotected = Buffer.concat([protect(packets[0]!.raw, publicLength, p, PASSPHRASE), ...packets.slice(1).map((x) => x.raw)]);
  await signsAndVerifies(name, reprotected, new Secret(PASSPHRASE));
  expect(() => importSecretKey(reprotected, new Secret('wrong'))).toThrow(expect.objectContaining({ code: 'KEY_PASSPHRASE_WRONG' }));
});

test('CAST5 protection is decrypted where OpenSSL has CAST5, else refused clearly', () => {
  const gpgExport = fixture('ed25519-plain.secret.gpg');
  const packets = readPackets(gpgExport);
  const publicLength = importSecretKey(gpgExport).info.publicKeyPacketBody.length;
  const body = Buffer.from(packets[0]!.body);
  const cast5 = encodePacket(5, Buffer.concat([body.subarray(0, publicLength), Buffer.from([254, 3, 3, 2]), randomBytes(9),
    randomBytes(8), randomBytes(60)]));
  // The encrypted bytes are random, so with CAST5 available the check fails as a wrong passphrase.
  const expected = getCiphers().includes('cast5-cfb')
    ? { code: 'KEY_PASSPHRASE_WRONG' }
    : { code: 'ALGORITHM_UNSUPPORTED', message: expect.stringMatching(/cast5/i) };
  expect(() => importSecretKey(Buffer.concat([cast5, ...packets.slice(1).map((x) => x.raw)]), new Secret('x')))
    .toThrow(expect.objectContaining(expected));
});
