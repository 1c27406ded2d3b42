// Importing secret keys exported by `gpg --export-secret-keys [--armor]` (RFC 4880 §5.5.3,
// §3.7). gpg 2.2 writes S2K usage 0 for unprotected keys and, with a passphrase, usage 254 with
// iterated+salted SHA-1 S2K and AES-128 (test/fixtures/openpgp/list-packets.txt). The primary
// and its signing subkeys are imported; a primary exported as a GnuPG stub (`gpg
// --export-secret-subkeys`) stays offline and a subkey signs. Nothing here puts key material or
// the passphrase into an error message.
import { Buffer } from 'node:buffer';
import { createDecipheriv, createHash, createPrivateKey, createPublicKey, getCiphers, type KeyObject } from 'node:crypto';
import { SignetError } from '../errors.js';
import type { Secret } from '../secret.js';
import { dearmor } from './armor.js';
import { groupTransferableKey, verifyUserIdSelfSignature, keyIdHex } from './key.js';
import { isBoundSigningSubkey } from './certificate.js';
import { encodePacket, PacketTag, readPackets, type Packet } from './packet.js';
import {
  COMPOSITE,
  compositeSigningKey,
  isComposite,
  keyHashPrefix,
  readPublicKeyFields,
  type PublicKeyInfo,
  type PublicKeyMaterial,
  type SigningKey,
} from './public-key.js';
import { ByteReader, malformed } from './reader.js';
import { parseSignatureBody, signDetachedSync, SubpacketType, verifyDetached, verifyParsed } from './signature.js';

export interface ImportedKey {
  readonly info: PublicKeyInfo;
  readonly privateKey: SigningKey;
  readonly userIds: string[];
  /** public key packet ‖ the original user ID packets and their self-signatures ‖ subkeys. */
  readonly transferablePublicKey: Buffer;
}

function importFailed(why: string): SignetError {
  return new SignetError('KEY_IMPORT_FAILED', `cannot import the secret key: ${why}`);
}

/** Symmetric ciphers for secret-key protection (RFC 4880 §9.2), as node:crypto CFB ciphers. */
const CIPHERS: ReadonlyMap<number, { name: string; keyLength: number; blockSize: number }> = new Map([
  [3, { name: 'cast5-cfb', keyLength: 16, blockSize: 8 }],
  [7, { name: 'aes-128-cfb', keyLength: 16, blockSize: 16 }],
  [8, { name: 'aes-192-cfb', keyLength: 24, blockSize: 16 }],
  [9, { name: 'aes-256-cfb', keyLength: 32, blockSize: 16 }],
]);
const S2K_HASHES: ReadonlyMap<number, string> = new Map([[2, 'sha1'], [8, 'sha256'], [9, 'sha384'], [10, 'sha512'], [11, 'sha224']]);

interface S2K {
  readonly hash: string;
  readonly salt: Buffer | null;
  /** bytes to hash for iterated S2K, or null for simple/salted. */
  readonly count: number | null;
}

function readS2K(reader: ByteReader): S2K {
  const type = reader.u8('S2K type');
  if (type === 101) throw importFailed('the primary secret key is a gpg stub (exported with --export-secret-subkeys or on a card)');
  if (type !== 0 && type !== 1 && type !== 3) throw new SignetError('ALGORITHM_UNSUPPORTED', `S2K type ${type} is not supported`);
  const hashId = reader.u8('S2K hash');
  const hash = S2K_HASHES.get(hashId);
  if (!hash) throw new SignetError('ALGORITHM_UNSUPPORTED', `S2K hash algorithm ${hashId} is not supported`);
  const salt = type === 0 ? null : reader.bytes(8, 'S2K salt');
  let count: number | null = null;
  if (type === 3) {
    // RFC 4880 §3.7.1.3: count = (16 + (c & 15)) << ((c >> 4) + 6).
    const c = reader.u8('S2K count');
    count = (16 + (c & 15)) * 2 ** ((c >> 4) + 6);
  }
  return { hash, salt, count };
}

/** RFC 4880 §3.7.1: as many hash contexts as the key needs, the i-th preloaded with i zero bytes. */
function deriveKey(s2k: S2K, passphrase: Buffer, keyLength: number): Buffer {
  const parts: Buffer[] = [];
  let produced = 0;
  for (let context = 0; produced < keyLength; context++) {
    const hash = createHash(s2k.hash).update(Buffer.alloc(context));
    const input = s2k.salt ? Buffer.concat([s2k.salt, passphrase]) : passphrase;
    if (s2k.count === null) {
      hash.update(input);
    } else {
      // Hash salt ‖ passphrase repeatedly, count bytes in all, but at least once whole.
      let remaining = Math.max(s2k.count, input.length);
      const block = Buffer.concat(Array(Math.max(1, Math.floor(65536 / input.length))).fill(input) as Buffer[]);
      while (remaining >= block.length) {
        hash.update(block);
        remaining -= block.length;
      }
      hash.update(block.subarray(0, remaining));
      block.fill(0);
    }
    if (s2k.salt) input.fill(0); // a copy; the passphrase itself belongs to the caller
    const digest = hash.digest();
    parts.push(digest);
    produced += digest.length;
  }
  const key = Buffer.concat(parts);
  for (const part of parts) part.fill(0);
  const out = Buffer.from(key.subarray(0, keyLength));
  key.fill(0);
  return out;
}

function checksum16(bytes: Buffer): number {
  let sum = 0;
  for (const byte of bytes) sum = (sum + byte) & 0xffff;
  return sum;
}

/** The cleartext secret fields of a secret key packet (after the public fields), or null for a
 *  GnuPG stub: S2K type 101 with the "GNU" marker, mode 1 (no secret: `--export-secret-subkeys`)
 *  or mode 2 (on a smartcard). RFC 9580 §3.7.2 reserves type 101 for this private extension. */
function secretFields(reader: ByteReader, passphrase: Secret | undefined, version: 4 | 6): Buffer | null {
  const usage = reader.u8('S2K usage');
  if (version === 6) {
    // RFC 9580 §5.5.3: an unprotected v6 secret key has no checksum. Protected v6 keys (AEAD or
    // Argon2, §3.7.1.4) are not read here: export the key unprotected for the import.
    if (usage !== 0) throw new SignetError('ALGORITHM_UNSUPPORTED', 'protected v6 secret keys are not supported; import it unprotected');
    return Buffer.from(reader.rest());
  }
  if ((usage === 254 || usage === 255) && reader.remaining >= 7) {
    const head = reader.peek(7);
    if (head[1] === 101 && head.subarray(3, 6).toString('latin1') === 'GNU' && (head[6] === 1 || head[6] === 2)) {
      reader.bytes(7, 'GNU dummy S2K');
      if (head[6] === 2) reader.rest(); // card serial number
      return null;
    }
  }
  if (usage === 0) {
    const rest = reader.rest();
    if (rest.length < 2) throw malformed('secret key without its checksum');
    const fields = rest.subarray(0, -2);
    if (checksum16(fields) !== rest.readUInt16BE(rest.length - 2)) throw importFailed('secret key checksum mismatch');
    return Buffer.from(fields);
  }
  if (usage !== 254 && usage !== 255) {
    throw new SignetError('ALGORITHM_UNSUPPORTED', `secret key protection (S2K usage ${usage}) is not supported`);
  }
  const cipherId = reader.u8('cipher algorithm');
  const cipher = CIPHERS.get(cipherId);
  if (!cipher) throw new SignetError('ALGORITHM_UNSUPPORTED', `secret key cipher ${cipherId} is not supported`);
  if (!getCiphers().includes(cipher.name)) {
    throw new SignetError('ALGORITHM_UNSUPPORTED', `secret key cipher ${cipher.name} is not available in this Node.js/OpenSSL build; re-export with AES`);
  }
  const s2k = readS2K(reader);
  const iv = reader.bytes(cipher.blockSize, 'IV');
  const encrypted = reader.rest();
  if (!passphrase || passphrase.length === 0) throw new SignetError('KEY_PASSPHRASE_REQUIRED', 'the secret key is protected by a passphrase');
  // v4 secret keys use plain CFB with this IV (not OpenPGP's resynchronising CFB, RFC 4880 §5.5.3).
  const key = deriveKey(s2k, passphrase.reveal(), cipher.keyLength);
  const decipher = createDecipheriv(cipher.name, key, iv);
  const plain = Buffer.concat([decipher.update(encrypted), decipher.final()]);
  key.fill(0);
  let fields: Buffer;
  let intact: boolean;
  if (usage === 254) {
    fields = plain.subarray(0, Math.max(0, plain.length - 20));
    intact = plain.length >= 20 && createHash('sha1').update(fields).digest().equals(plain.subarray(-20));
  } else {
    fields = plain.subarray(0, Math.max(0, plain.length - 2));
    intact = plain.length >= 2 && checksum16(fields) === plain.readUInt16BE(plain.length - 2);
  }
  if (!intact) {
    plain.fill(0);
    throw new SignetError('KEY_PASSPHRASE_WRONG', 'wrong passphrase for the secret key');
  }
  const out = Buffer.from(fields);
  plain.fill(0);
  return out;
}

function toBigInt(bytes: Buffer): bigint {
  return bytes.length === 0 ? 0n : BigInt(`0x${bytes.toString('hex')}`);
}

function toBase64Url(value: bigint): string {
  let hex = value.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  return Buffer.from(hex, 'hex').toString('base64url');
}

/** v6 native secrets (RFC 9580 §5.5.5.9, §5.5.5.10; draft-ietf-openpgp-pqc §6.4.2): fixed-length
 *  EdDSA secret, and for composites the 32-byte ML-DSA seed after it. */
function v6PrivateKeyFrom(info: PublicKeyInfo, material: PublicKeyMaterial, fields: Buffer): SigningKey {
  const reader = new ByteReader(fields);
  const composite = isComposite(info.algorithm) ? COMPOSITE[info.algorithm] : null;
  const curve = composite ? composite.ed : info.algorithm;
  const edSecret = reader.bytes(curve === 'ed25519' ? 32 : 57, 'EdDSA secret');
  const seed = composite ? reader.bytes(32, 'ML-DSA seed') : null;
  reader.end('v6 secret key');
  const x = material.key.export({ format: 'jwk' }).x!;
  let ed: KeyObject;
  try {
    ed = createPrivateKey({ key: { kty: 'OKP', crv: curve === 'ed25519' ? 'Ed25519' : 'Ed448', x, d: edSecret.toString('base64url') }, format: 'jwk' });
  } catch {
    throw importFailed('node:crypto refused the secret key values');
  }
  if (createPublicKey(ed).export({ format: 'jwk' }).x !== x) throw importFailed('the secret key does not belong to the public key');
  if (!composite || !seed || !isComposite(info.algorithm)) return ed;
  const key = compositeSigningKey(info.algorithm, ed, seed);
  if (!Buffer.from(key.mldsaPublicKey).equals(Buffer.from(material.mldsaPublicKey!))) {
    throw importFailed('the ML-DSA seed does not belong to the public key');
  }
  return key;
}

function privateKeyFrom(info: PublicKeyInfo, publicKey: KeyObject, fields: Buffer): KeyObject {
  const reader = new ByteReader(fields);
  const publicJwk = publicKey.export({ format: 'jwk' });
  let jwk: Record<string, string>;
  if (info.algorithm === 'rsa4096') {
    const d = toBigInt(reader.mpi('RSA d'));
    // OpenPGP orders p < q and stores u = p⁻¹ mod q. JWK's qi is q⁻¹ mod p, so OpenPGP's p
    // plays JWK's q here and u is exactly JWK's qi.
    const p = toBigInt(reader.mpi('RSA p'));
    const q = toBigInt(reader.mpi('RSA q'));
    const u = toBigInt(reader.mpi('RSA u'));
    reader.end('RSA secret key');
    const n = toBigInt(Buffer.from(publicJwk.n ?? '', 'base64url'));
    if (p * q !== n || (p * u) % q !== 1n) throw importFailed('the RSA secret values do not match the public key');
    jwk = { kty: 'RSA', n: publicJwk.n!, e: publicJwk.e!, d: toBase64Url(d), p: toBase64Url(q), q: toBase64Url(p),
      dp: toBase64Url(d % (q - 1n)), dq: toBase64Url(d % (p - 1n)), qi: toBase64Url(u) };
  } else {
    const secret = reader.mpi('EdDSA secret');
    reader.end('EdDSA secret key');
    if (secret.length > 32) throw importFailed('the EdDSA secret is longer than 32 bytes');
    const seed = Buffer.concat([Buffer.alloc(32 - secret.length), secret]);
    jwk = { kty: 'OKP', crv: 'Ed25519', x: publicJwk.x!, d: seed.toString('base64url') };
    seed.fill(0);
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: jwk, format: 'jwk' });
  } catch {
    throw importFailed('node:crypto refused the secret key values');
  }
  // The public half derived from the secret must be the key packet's key.
  const derived = createPublicKey(privateKey).export({ format: 'jwk' });
  if (info.algorithm === 'ed25519' ? derived.x !== publicJwk.x : derived.n !== publicJwk.n || derived.e !== publicJwk.e) {
    throw importFailed('the secret key does not belong to the public key');
  }
  return privateKey;
}

function keyFlagsOf(signature: Packet): number | null {
  const parsed = parseSignatureBody(signature.body);
  const flags = parsed.hashedSubpackets.filter((s) => s.type === SubpacketType.keyFlags);
  if (flags.length > 1) throw malformed('more than one key flags subpacket');
  return flags[0] ? (flags[0].body[0] ?? 0) : null;
}

/** The length of a key packet's public part for any v4 algorithm (so subkeys signet does not
 *  sign with, such as Curve25519 encryption subkeys, are kept in the certificate as they are). */
function publicPartLength(body: Buffer): number {
  const r = new ByteReader(body);
  r.u8('key version');
  r.u32('key creation time');
  const algorithm = r.u8('key algorithm');
  const mpis = (n: number): void => {
    for (let i = 0; i < n; i++) r.mpi('public key field');
  };
  if (algorithm === 1 || algorithm === 2 || algorithm === 3) mpis(2);
  else if (algorithm === 16 || algorithm === 20) mpis(3);
  else if (algorithm === 17) mpis(4);
  else if (algorithm === 18) {
    r.bytes(r.u8('curve OID length'), 'curve OID');
    mpis(1);
    r.bytes(r.u8('KDF parameters length'), 'KDF parameters');
  } else if (algorithm === 19 || algorithm === 22) {
    r.bytes(r.u8('curve OID length'), 'curve OID');
    mpis(1);
  } else {
    throw new SignetError('ALGORITHM_UNSUPPORTED', `subkey algorithm ${algorithm} is not supported`);
  }
  return r.offset;
}

export interface ImportedSubkey {
  readonly info: PublicKeyInfo;
  readonly privateKey: KeyObject;
}

export interface ImportedKeyring {
  readonly info: PublicKeyInfo;
  /** null when the primary's secret is not in the export (a GnuPG stub): it stays offline. */
  readonly privateKey: SigningKey | null;
  readonly userIds: string[];
  /** Public key packet, user IDs with their self-signatures, every subkey with its signatures. */
  readonly transferablePublicKey: Buffer;
  /** Signing subkeys whose binding and back-signature verify and whose secret was exported,
   *  newest first. */
  readonly signingSubkeys: ImportedSubkey[];
  /** The primary's newest self-signature allows signing (key flags). */
  readonly primaryMaySign: boolean;
}

function selfTest(info: PublicKeyInfo, privateKey: SigningKey): void {
  // Prove the key works: a signature made with it verifies with the key packet's public key.
  const challenge = Buffer.from('signet key import self-test');
  const proof = signDetachedSync(challenge, privateKey, { type: 0x00, hashAlgorithm: info.version === 6 ? 'sha512' : 'sha256', creationTime: info.creationTime, signer: info });
  if (!verifyDetached(challenge, proof, [info]).ok) throw importFailed('a test signature with the key did not verify');
}

/** Imports what `gpg --export-secret-keys` or `gpg --export-secret-subkeys` writes: the primary
 *  (or its stub) and every subkey; signing subkeys with a bound back-signature and a secret
 *  become signet signing keys. */
export function importSecretKeyring(input: Uint8Array, passphrase?: Secret): ImportedKeyring {
  let bytes: Buffer = Buffer.from(input);
  if (bytes.length > 0 && (bytes[0]! & 0x80) === 0) {
    const armored = dearmor(bytes.toString('utf8'));
    if (armored.kind !== 'PRIVATE KEY BLOCK') throw importFailed('the armor is not a PRIVATE KEY BLOCK');
    bytes = armored.bytes;
  }
  const grouped = groupTransferableKey(readPackets(bytes), PacketTag.secretKey);
  const reader = new ByteReader(grouped.key.body);
  const { info, publicKey, material } = readPublicKeyFields(reader);
  if (info.algorithm === 'ecdsa-p256') {
    throw new SignetError('ALGORITHM_UNSUPPORTED', 'ECDSA keys are made in a PKCS#11 token, not imported (docs/key-backends.md)');
  }
  const primaryPrefix = keyHashPrefix(info.publicKeyPacketBody);

  // Certification checks need only the public key; do them before touching the secret.
  for (const signature of grouped.directSignatures) {
    const parsed = parseSignatureBody(signature.body);
    if (parsed.type === 0x20 && verifyParsed(info, parsed, [primaryPrefix])) {
      throw importFailed('the key is revoked');
    }
  }
  const userIds: string[] = [];
  const kept: Buffer[] = [encodePacket(PacketTag.publicKey, info.publicKeyPacketBody)];
  let latest: { time: number; flags: number | null } | null = null;
  // v6: the direct-key self-signature carries the key flags (RFC 9580 §5.2.3.10).
  const direct = grouped.directSignatures.filter((s) => {
    const parsed = parseSignatureBody(s.body);
    return parsed.type === 0x1f && verifyParsed(info, parsed, [keyHashPrefix(info.publicKeyPacketBody)]);
  });
  if (direct.length > 0) kept.push(...direct.map((s) => s.raw));
  for (const s of direct) {
    const time = parseSignatureBody(s.body).creationTime;
    if (!latest || time >= latest.time) latest = { time, flags: keyFlagsOf(s) };
  }
  for (const { packet, signatures } of grouped.userIds) {
    const selfSignatures = signatures.filter((s) => verifyUserIdSelfSignature(info, packet.body, s));
    if (selfSignatures.length === 0) continue;
    userIds.push(new TextDecoder().decode(packet.body));
    kept.push(packet.raw, ...selfSignatures.map((s) => s.raw));
    for (const s of selfSignatures) {
      const time = parseSignatureBody(s.body).creationTime;
      if (!latest || time >= latest.time) latest = { time, flags: keyFlagsOf(s) };
    }
  }
  if (!latest) throw importFailed(info.version === 6 ? 'neither a direct-key signature nor a user ID carries a valid self-signature' : 'no user ID carries a valid self-signature');

  // Subkeys: every one is kept in the certificate (as a public subkey with its signatures);
  // signing subkeys whose binding verifies and whose secret is here become signing keys. A v6
  // key's subkeys are not read (signet signs with a v6 primary only): they are left out.
  const signingSubkeys: { subkey: ImportedSubkey; time: number }[] = [];
  for (const { packet, signatures } of info.version === 6 ? [] : grouped.subkeys) {
    const publicBody = packet.body.subarray(0, publicPartLength(packet.body));
    kept.push(encodePacket(PacketTag.publicSubkey, publicBody), ...signatures.map((s) => s.raw));
    let sub: ReturnType<typeof readPublicKeyFields>;
    const subReader = new ByteReader(packet.body);
    try {
      sub = readPublicKeyFields(subReader);
    } catch {
      continue; // an algorithm signet does not sign with: kept, never used
    }
    if (!isBoundSigningSubkey(info, sub.info, signatures)) continue;
    const subFields = secretFields(subReader, passphrase, 4);
    if (subFields === null) continue;
    let privateKey: KeyObject;
    try {
      privateKey = privateKeyFrom(sub.info, sub.publicKey, subFields);
    } finally {
      subFields.fill(0);
    }
    selfTest(sub.info, privateKey);
    signingSubkeys.push({ subkey: { info: sub.info, privateKey }, time: sub.info.creationTime });
  }
  signingSubkeys.sort((a, b) => b.time - a.time);

  const fields = secretFields(reader, passphrase, info.version);
  let privateKey: SigningKey | null = null;
  if (fields !== null) {
    try {
      privateKey = info.version === 6 ? v6PrivateKeyFrom(info, material, fields) : privateKeyFrom(info, publicKey, fields);
    } finally {
      fields.fill(0);
    }
    selfTest(info, privateKey);
  }
  const primaryMaySign = latest.flags === null || (latest.flags & 0x02) !== 0;
  if (signingSubkeys.length === 0 && (privateKey === null || !primaryMaySign)) {
    throw importFailed(privateKey === null
      ? 'the primary secret key is a gpg stub (exported with --export-secret-subkeys or on a card) and no signing subkey with its secret was exported'
      : `primary key ${keyIdHex(info)} may not sign (key flags) and no signing subkey was exported`);
  }
  return { info, privateKey, userIds, transferablePublicKey: Buffer.concat(kept), signingSubkeys: signingSubkeys.map((s) => s.subkey), primaryMaySign };
}

/** The primary alone, as before subkeys were imported: refused unless the primary's secret is in
 *  the export and it may sign. */
export function importSecretKey(input: Uint8Array, passphrase?: Secret): ImportedKey {
  const imported = importSecretKeyring(input, passphrase);
  if (imported.privateKey === null) throw importFailed('the primary secret key is a gpg stub (exported with --export-secret-subkeys or on a card)');
  if (!imported.primaryMaySign) throw importFailed(`primary key ${keyIdHex(imported.info)} may not sign (key flags)`);
  return { info: imported.info, privateKey: imported.privateKey, userIds: imported.userIds, transferablePublicKey: imported.transferablePublicKey };
}
