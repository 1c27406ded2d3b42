// Key packets, fingerprints and the deterministic Ed25519 golden vector
// (test/fixtures/openpgp/ed25519-golden.json; gpg checks the same bytes in test/interop).
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import {
  buildTransferablePublicKey,
  dearmor,
  ED25519_OID,
  parsePublicKeyBody,
  parseTransferablePublicKey,
  publicKeyInfo,
  signDetached,
  verifyDetached,
} from './index.js';

const FIXTURES = new URL('../../test/fixtures/openpgp/', import.meta.url);
interface GoldenVector {
  seed: string; keyCreationTime: number; userId: string; signatureCreationTime: number; data: string;
  publicKeyPacketBody: string; fingerprint: string; transferablePublicKey: string; signature: string;
}
const golden = JSON.parse(readFileSync(new URL('ed25519-golden.json', FIXTURES), 'utf8')) as GoldenVector;
const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex');
const goldenKey = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, Buffer.from(golden.seed, 'hex')]), format: 'der', type: 'pkcs8' });

describe('deterministic Ed25519 golden vector', () => {
  test('key packet and fingerprint match the checked-in bytes', () => {
    const info = publicKeyInfo(goldenKey, golden.keyCreationTime);
    expect(info.publicKeyPacketBody.toString('hex')).toBe(golden.publicKeyPacketBody);
    expect(info.fingerprint.toString('hex').toUpperCase()).toBe(golden.fingerprint);
    expect(info.keyId.equals(info.fingerprint.subarray(12))).toBe(true);
    // RFC 8032 §7.1 TEST 1: the public key inside the packet is the RFC's.
    expect(golden.publicKeyPacketBody.endsWith('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a')).toBe(true);
  });

  test('transferable public key and detached signature match the checked-in bytes', async () => {
    const info = publicKeyInfo(goldenKey, golden.keyCreationTime);
    const tpk = await buildTransferablePublicKey(info, goldenKey, golden.userId, golden.keyCreationTime);
    expect(tpk.toString('hex')).toBe(golden.transferablePublicKey);
    const signature = await signDetached(Buffer.from(golden.data), goldenKey,
      { type: 0, hashAlgorithm: 'sha256', creationTime: golden.signatureCreationTime, signer: info });
    expect(signature.toString('hex')).toBe(golden.signature);
    expect(verifyDetached(Buffer.from(golden.data), signature, [info]).ok).toBe(true);
  });
});

describe('public key packets', () => {
  test('a public KeyObject and its private key give the same packet', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    expect(publicKeyInfo(publicKey, 5).publicKeyPacketBody.equals(publicKeyInfo(privateKey, 5).publicKeyPacketBody)).toBe(true);
  });

  test('EdDSA packet layout: v4, time, algo 22, OID, 263-bit 0x40-prefixed point', () => {
    const body = publicKeyInfo(goldenKey, 0x01020304).publicKeyPacketBody;
    expect(body.subarray(0, 7)).toEqual(Buffer.from([4, 1, 2, 3, 4, 22, 9]));
    expect(body.subarray(7, 16).equals(ED25519_OID)).toBe(true);
    expect(body.readUInt16BE(16)).toBe(263);
    expect(body[18]).toBe(0x40);
    expect(body.length).toBe(18 + 33);
  });

  test('parsePublicKeyBody round-trips gpg-made keys and their fingerprints', () => {
    for (const name of ['rsa-plain', 'ed25519-plain']) {
      const { info, userIds } = parseTransferablePublicKey(dearmor(readFileSync(new URL(`${name}.public.asc`, FIXTURES), 'utf8')).bytes);
      expect(info.fingerprint.toString('hex').toUpperCase()).toBe(readFileSync(new URL(`${name}.fingerprint`, FIXTURES), 'utf8').trim());
      expect(userIds).toEqual([`signet test ${name} (TEST ONLY) <${name}@test.invalid>`]);
      expect(parsePublicKeyBody(info.publicKeyPacketBody).fingerprint.equals(info.fingerprint)).toBe(true);
    }
  });

  test('RSA keys other than 4096 bits and other key types (ECDSA on P-384) are refused', () => {
    const rsa2048 = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
    expect(() => publicKeyInfo(rsa2048, 0)).toThrow(expect.objectContaining({ code: 'ALGORITHM_UNSUPPORTED' }));
    // P-256 is algorithm 19 (keys in PKCS#11 tokens); other curves are refused.
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey;
    expect(() => publicKeyInfo(p384, 0)).toThrow(expect.objectContaining({ code: 'ALGORITHM_UNSUPPORTED' }));
    const p256 = publicKeyInfo(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey, 0);
    expect(p256.algorithm).toBe('ecdsa-p256');
    // RFC 9580 §5.5.5.4: v4, time, algorithm 19, OID length 8, the P-256 OID, a 515-bit MPI.
    expect(p256.publicKeyPacketBody.subarray(5, 15).toString('hex')).toBe('13082a8648ce3d030107');
    expect(p256.publicKeyPacketBody.readUInt16BE(15)).toBe(515);
    expect(parsePublicKeyBody(p256.publicKeyPacketBody).fingerprint.equals(p256.fingerprint)).toBe(true);
    expect(() => publicKeyInfo(createPublicKey(goldenKey), -1)).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
  });

  test('a user ID whose self-signature does not verify is refused', async () => {
    const info = publicKeyInfo(goldenKey, golden.keyCreationTime);
    const tpk = await buildTransferablePublicKey(info, goldenKey, 'Alice <a@test.invalid>', golden.keyCreationTime);
    const forged = Buffer.from(tpk);
    const uidAt = forged.indexOf('Alice');
    forged[uidAt] = 'M'.charCodeAt(0); // "Mlice": same length, signature no longer matches
    expect(() => parseTransferablePublicKey(forged)).toThrow(expect.objectContaining({ code: 'OPENPGP_MALFORMED' }));
  });
});
