// Signatures made by generateKey keys verify with our verifier and with openpgp.js (an
// independent implementation); gpg-made fixture signatures verify with ours.
import { createHash, generateKeyPairSync, sign as cryptoSign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as openpgp from 'openpgp';
import { beforeAll, describe, expect, test } from 'vitest';
import {
  armor,
  canonicalText,
  createSignatureHash,
  dearmor,
  defaultHash,
  generateKey,
  HASH_ID,
  parseSignaturePacket,
  parseTransferablePublicKey,
  publicKeyInfo,
  signatureHashedArea,
  signatureTrailer,
  signDetached,
  signDigest,
  buildSignaturePacket,
  verifyDetached,
  type GeneratedKey,
  type KeyAlgorithm,
  type SignatureParams,
} from './index.js';

const FIXTURES = new URL('../../test/fixtures/openpgp/', import.meta.url);
const fixture = (name: string): Buffer => readFileSync(new URL(name, FIXTURES));

const keys = {} as Record<KeyAlgorithm, GeneratedKey>;
let foreign: GeneratedKey;
const now = 1_790_000_000;

beforeAll(async () => {
  [keys.rsa4096, keys.ed25519, foreign] = await Promise.all([
    generateKey({ algorithm: 'rsa4096', userId: 'RSA signer <rsa@test.invalid>', creationTime: now - 100 }),
    generateKey({ algorithm: 'ed25519', userId: 'Ed signer <ed@test.invalid>', creationTime: now - 100 }),
    generateKey({ algorithm: 'ed25519', userId: 'Someone else <else@test.invalid>' }),
  ]);
});

async function openpgpVerifies(key: GeneratedKey, data: Uint8Array | string, signature: Buffer): Promise<boolean> {
  const verificationKeys = await openpgp.readKey({ binaryKey: key.transferablePublicKey });
  const message = typeof data === 'string'
    ? await openpgp.createMessage({ text: data })
    : await openpgp.createMessage({ binary: data });
  const { signatures } = await openpgp.verify({
    message, signature: await openpgp.readSignature({ binarySignature: signature }), verificationKeys,
    date: new Date((now + 10) * 1000),
  });
  try {
    await signatures[0]!.verified;
    return true;
  } catch {
    return false;
  }
}

describe.each(['rsa4096', 'ed25519'] as const)('%s', (algorithm) => {
  const params = (type: 0 | 1, hashAlgorithm = defaultHash(algorithm)): SignatureParams =>
    ({ type, hashAlgorithm, creationTime: now, signer: keys[algorithm].info });
  const data = Buffer.from('release artifact bytes \x00\xff\n');

  test('the transferable public key parses back and openpgp.js reads the self-signature', async () => {
    const key = keys[algorithm];
    const parsed = parseTransferablePublicKey(key.transferablePublicKey);
    expect(parsed.userIds).toEqual(key.userIds);
    expect(parsed.info.fingerprint.equals(key.info.fingerprint)).toBe(true);
    const read = await openpgp.readKey({ binaryKey: key.transferablePublicKey });
    expect(read.getFingerprint().toUpperCase()).toBe(key.info.fingerprint.toString('hex').toUpperCase());
    // verifyPrimaryKey checks the self-certification cryptographically.
    await expect(read.verifyPrimaryKey(new Date((now + 10) * 1000))).resolves.toBeUndefined();
    const primaryUser = await read.getPrimaryUser(new Date((now + 10) * 1000));
    expect(primaryUser.selfCertification.keyFlags?.[0]).toBe(0x03);
  });

  test('binary signatures verify with ours and openpgp.js; tampering and foreign keys fail', async () => {
    const signature = await signDetached(data, keys[algorithm].privateKey, params(0));
    const result = verifyDetached(data, signature, [foreign.info, keys[algorithm].info]);
    expect(result.ok && result.signer.fingerprint.equals(keys[algorithm].info.fingerprint)).toBe(true);
    expect(await openpgpVerifies(keys[algorithm], data, signature)).toBe(true);

    const tampered = Buffer.from(data);
    tampered[0]! ^= 1;
    expect(verifyDetached(tampered, signature, [keys[algorithm].info])).toEqual({ ok: false, reason: 'BAD_SIGNATURE' });
    expect(await openpgpVerifies(keys[algorithm], tampered, signature)).toBe(false);
    expect(verifyDetached(data, signature, [foreign.info])).toEqual({ ok: false, reason: 'NO_PUBKEY' });
    // A flipped bit in the signature value itself.
    const flipped = Buffer.from(signature);
    flipped[flipped.length - 5]! ^= 0x10;
    expect(verifyDetached(data, flipped, [keys[algorithm].info]).ok).toBe(false);
  });

  test('the packet carries what gpg emits: issuer fingerprint, creation time, unhashed key ID', async () => {
    const signature = await signDetached(data, keys[algorithm].privateKey, params(0, 'sha512'));
    const parsed = parseSignaturePacket(signature);
    expect(signature[0]).toBe(0xc2); // new-format header, tag 2
    expect(parsed).toMatchObject({ version: 4, type: 0, hashAlgorithm: HASH_ID.sha512, creationTime: now,
      pkAlgorithm: algorithm === 'rsa4096' ? 1 : 22 });
    expect(parsed.issuerFingerprint?.equals(keys[algorithm].info.fingerprint)).toBe(true);
    expect(parsed.issuerKeyId?.equals(keys[algorithm].info.keyId)).toBe(true);
    expect(parsed.hashedSubpackets.map((s) => s.type)).toEqual([33, 2]);
    expect(parsed.unhashedSubpackets.map((s) => s.type)).toEqual([16]);
    expect(parsed.mpis).toHaveLength(algorithm === 'rsa4096' ? 1 : 2);
    expect(parsed.hashedArea.equals(signatureHashedArea(params(0, 'sha512')))).toBe(true);
  });

  test('streaming hash + signDigest + buildSignaturePacket equals the one-shot signature path', async () => {
    const hash = createSignatureHash(params(0));
    for (let i = 0; i < data.length; i += 3) hash.update(data.subarray(i, i + 3));
    const { hashedArea, digest } = hash.finish();
    expect(() => hash.update(data)).toThrow();
    const raw = await signDigest(keys[algorithm].privateKey, algorithm, defaultHash(algorithm), digest);
    expect(raw.length).toBe(algorithm === 'rsa4096' ? 512 : 64);
    const packet = buildSignaturePacket(hashedArea, digest, raw, keys[algorithm].info);
    expect(verifyDetached(data, packet, [keys[algorithm].info]).ok).toBe(true);
    expect(parseSignaturePacket(packet).left16.equals(digest.subarray(0, 2))).toBe(true);
    expect(signatureTrailer(hashedArea)).toEqual(Buffer.from([4, 0xff, 0, 0, 0, hashedArea.length]));
  });

  test('canonical-text signatures (0x01) follow line-ending conversion, as openpgp.js does', async () => {
    const text = 'line one  \n-dash\r\nFrom x\tz\nUnicode: ✓ café\n';
    const signature = await signDetached(Buffer.from(text), keys[algorithm].privateKey, params(1));
    expect(parseSignaturePacket(signature).type).toBe(1);
    expect(verifyDetached(Buffer.from(text.replace(/\r?\n/g, '\r\n')), signature, [keys[algorithm].info]).ok).toBe(true);
    expect(verifyDetached(Buffer.from(text.replace(/\r?\n/g, '\n')), signature, [keys[algorithm].info]).ok).toBe(true);
    expect(verifyDetached(Buffer.from(text.replace('one  ', 'one')), signature, [keys[algorithm].info]).ok).toBe(false);
    expect(await openpgpVerifies(keys[algorithm], text, signature)).toBe(true);
    // A cleartext-framework signature covers canonicalText(); that is a fixed point of the conversion.
    const clear = await signDetached(canonicalText(text), keys[algorithm].privateKey, params(1));
    expect(verifyDetached(canonicalText(text.replace(/\r\n/g, '\n')), clear, [keys[algorithm].info]).ok).toBe(true);
  });

  test('armored signatures are accepted by verifyDetached', async () => {
    const signature = await signDetached(data, keys[algorithm].privateKey, params(0));
    expect(verifyDetached(data, Buffer.from(armor('SIGNATURE', signature)), [keys[algorithm].info]).ok).toBe(true);
    expect(verifyDetached(data, Buffer.from(armor('MESSAGE', signature)), [keys[algorithm].info]))
      .toEqual({ ok: false, reason: 'MALFORMED' });
  });
});

test('signDigest refuses a digest of the wrong length or a key of the wrong type', async () => {
  await expect(signDigest(keys.ed25519.privateKey, 'ed25519', 'sha256', Buffer.alloc(31)))
    .rejects.toMatchObject({ code: 'BAD_REQUEST' });
  await expect(signDigest(keys.ed25519.privateKey, 'rsa4096', 'sha512', Buffer.alloc(64)))
    .rejects.toMatchObject({ code: 'ALGORITHM_UNSUPPORTED' });
  await expect(signDigest(keys.rsa4096.privateKey, 'ed25519', 'sha256', Buffer.alloc(32)))
    .rejects.toMatchObject({ code: 'ALGORITHM_UNSUPPORTED' });
});

test('signatureHashedArea makes only document signatures (invariant 3)', () => {
  expect(() => signatureHashedArea({ type: 0x13 as 0, hashAlgorithm: 'sha256', creationTime: now, signer: keys.ed25519.info }))
    .toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
  expect(() => signatureHashedArea({ type: 0, hashAlgorithm: 'sha1' as 'sha256', creationTime: now, signer: keys.ed25519.info }))
    .toThrow(expect.objectContaining({ code: 'ALGORITHM_UNSUPPORTED' }));
});

describe('gpg-made signatures (test/fixtures/openpgp, made by make-fixtures.sh)', () => {
  const data = fixture('data.txt');
  const publicKey = (name: string) => parseTransferablePublicKey(dearmor(fixture(`${name}.public.asc`).toString()).bytes);

  test.each(['rsa-plain', 'ed25519-plain'])('%s: binary, armored and text-mode signatures verify', (name) => {
    const { info } = publicKey(name);
    for (const file of ['data.sig', 'data.asc', 'data.text.asc']) {
      const result = verifyDetached(data, fixture(`${name}.${file}`), [info]);
      expect(result.ok, file).toBe(true);
    }
    // gpg 2.2 writes old-format headers; the packets still parse.
    expect(fixture(`${name}.data.sig`)[0]! & 0x40).toBe(0);
    const parsed = parseSignaturePacket(fixture(`${name}.data.sig`));
    expect(parsed.hashAlgorithm).toBe(HASH_ID[name.startsWith('rsa') ? 'sha512' : 'sha256']);
    expect(verifyDetached(Buffer.concat([data, Buffer.from('x')]), fixture(`${name}.data.sig`), [info]).ok).toBe(false);
  });

  test('a SHA-256 RSA signature verifies; a SHA-1 one is refused as weak', () => {
    const { info } = publicKey('rsa-plain');
    expect(verifyDetached(data, fixture('rsa-plain.data.sha256.sig'), [info]).ok).toBe(true);
    expect(verifyDetached(data, fixture('rsa-plain.data.sha1.sig'), [info])).toEqual({ ok: false, reason: 'WEAK_HASH' });
  });

  test('a signature whose issuer is not among the keys gets NO_PUBKEY', () => {
    const { info } = publicKey('ed25519-plain');
    const other = publicKey('rsa-plain').info;
    expect(verifyDetached(data, fixture('ed25519-plain.data.sig'), [other])).toEqual({ ok: false, reason: 'NO_PUBKEY' });
    expect(verifyDetached(data, fixture('ed25519-plain.data.sig'), [other, info]).ok).toBe(true);
  });
});

describe('ECDSA P-256 (algorithm 19)', () => {
  // node:crypto signs ECDSA only over data it hashes itself; hashing the whole signed input
  // (data ‖ hashed area ‖ trailer) gives the ECDSA signature over the OpenPGP digest, as a
  // token's CKM_ECDSA over that digest does.
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const info = publicKeyInfo(publicKey, 1_750_000_000);
  const data = Buffer.from('signed with P-256\n');
  function sign(): Buffer {
    const p: SignatureParams = { type: 0x00, hashAlgorithm: 'sha256', creationTime: 1_750_000_100, signer: info };
    const hashedArea = signatureHashedArea(p);
    const whole = Buffer.concat([data, hashedArea, signatureTrailer(hashedArea)]);
    const digest = createHash('sha256').update(whole).digest();
    const raw = cryptoSign('sha256', whole, { key: privateKey, dsaEncoding: 'ieee-p1363' });
    return buildSignaturePacket(hashedArea, digest, raw, info);
  }

  test('verifies; tampered data, another key or an edited s are refused', () => {
    const packet = sign();
    const parsed = parseSignaturePacket(packet);
    expect(parsed.pkAlgorithm).toBe(19);
    expect(parsed.mpis).toHaveLength(2);
    expect(verifyDetached(data, packet, [info]).ok).toBe(true);
    expect(verifyDetached(Buffer.from('signed with P-256!\n'), packet, [info])).toMatchObject({ ok: false, reason: 'BAD_SIGNATURE' });
    const other = publicKeyInfo(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey, 1_750_000_000);
    expect(verifyDetached(data, packet, [other])).toMatchObject({ ok: false, reason: 'NO_PUBKEY' });
    const edited = Buffer.from(packet);
    edited[edited.length - 1]! ^= 1;
    expect(verifyDetached(data, edited, [info])).toMatchObject({ ok: false, reason: 'BAD_SIGNATURE' });
  });

  test('software ECDSA signing is refused: P-256 keys sign in tokens only', async () => {
    await expect(signDigest(privateKey, 'ecdsa-p256', 'sha256', Buffer.alloc(32))).rejects.toMatchObject({ code: 'ALGORITHM_UNSUPPORTED' });
  });
});
