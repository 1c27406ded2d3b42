// v4 and v6 signatures (RFC 4880 §5.2, RFC 9580 §5.2). Building is split so a server can stream a large
// body into the hash and sign only the digest, while the hashed area (type, time, issuer, hash
// algorithm) is always built here and never taken from a client (docs/architecture.md, invariant 3).
import { Buffer } from 'node:buffer';
import {
  constants,
  createHash,
  randomBytes,
  createVerify,
  privateEncrypt,
  sign as cryptoSign,
  verify as cryptoVerify,
  type Hash,
  type KeyObject,
} from 'node:crypto';
import { SignetError } from '../errors.js';
import { dearmor } from './armor.js';
import { encodeLength, encodePacket, PacketTag, readPacket } from './packet.js';
import {
  COMPOSITE,
  HASH_ID,
  isComposite,
  isCompositeKey,
  mldsaOf,
  pkAlgorithmId,
  PublicKeyAlgorithm,
  publicKeyMaterial,
  type HashAlgorithm,
  type KeyAlgorithm,
  type KeyVersion,
  type PublicKeyInfo,
  type SigningKey,
} from './public-key.js';
import { ByteReader, encodeMpi, malformed } from './reader.js';
import { TextModeConverter } from './text.js';

/** 0x00 binary document, 0x01 canonical text document (RFC 4880 §5.2.1). */
export type SignatureType = 0x00 | 0x01;

/** A key's signing operation over a finished digest: returns the raw signature (RSA: the
 *  EMSA-PKCS1-v1_5 value; EdDSA and ECDSA: r ‖ s). Whoever holds the key implements it (a
 *  software key, a worker thread, a PKCS#11 token); this module only builds packets and hashes. */
export type DigestSigner = (hashAlgorithm: HashAlgorithm, digest: Buffer) => Promise<Buffer>;

export interface SignatureParams {
  readonly type: SignatureType;
  readonly hashAlgorithm: HashAlgorithm;
  /** signature creation time, Unix seconds. */
  readonly creationTime: number;
  readonly signer: PublicKeyInfo;
  /** v6 only: the salt hashed before the data (RFC 9580 §5.2.4); random when absent. The
   *  server issues it in advance for v6 midstate signing (docs/midstate.md). */
  readonly salt?: Buffer;
}

/** v6 salt sizes by hash algorithm ID (RFC 9580 §9.5, table "Hash algorithm registry"). */
export const SALT_BYTES: ReadonlyMap<number, number> = new Map([[8, 16], [9, 24], [10, 32], [11, 16], [12, 16], [14, 32]]);

/** A fresh salt of the right size for a v6 signature with this hash. */
export function newSalt(hashAlgorithm: HashAlgorithm): Buffer {
  return randomBytes(SALT_BYTES.get(HASH_ID[hashAlgorithm])!);
}

function checkSalt(version: KeyVersion, hashAlgorithm: HashAlgorithm, salt: Buffer | undefined): Buffer | null {
  if (version !== 6) return null;
  const size = SALT_BYTES.get(HASH_ID[hashAlgorithm])!;
  if (salt === undefined) return randomBytes(size);
  if (salt.length !== size) throw new SignetError('BAD_REQUEST', `a v6 ${hashAlgorithm} signature needs a ${size}-byte salt`);
  return salt;
}

export const SubpacketType = {
  creationTime: 2,
  expirationTime: 3,
  exportable: 4,
  keyExpirationTime: 9,
  preferredSymmetric: 11,
  issuerKeyId: 16,
  notation: 20,
  preferredHash: 21,
  preferredCompression: 22,
  keyServerPreferences: 23,
  primaryUserId: 25,
  policyUri: 26,
  keyFlags: 27,
  signerUserId: 28,
  features: 30,
  issuerFingerprint: 33,
} as const;

/** Subpackets whose meaning we know, so a critical one of these is acceptable. */
const UNDERSTOOD_SUBPACKETS: ReadonlySet<number> = new Set([2, 3, 4, 9, 11, 16, 21, 22, 23, 25, 26, 27, 28, 30, 33]);

/** Hashes a verifier accepts; MD5 (1), SHA-1 (2) and RIPEMD-160 (3) are refused as weak. */
const VERIFY_HASHES: ReadonlyMap<number, string> = new Map([[8, 'sha256'], [9, 'sha384'], [10, 'sha512'], [11, 'sha224'], [12, 'sha3-256'], [14, 'sha3-512']]);
/** Digest bits by hash ID: Ed448 needs at least 512 (RFC 9580 §5.2.3.4 binds EdDSA keys to a
 *  digest at least as long as the curve's strength needs), composite ML-DSA at least 256
 *  (draft-ietf-openpgp-pqc §6.2.1). */
const DIGEST_BITS: ReadonlyMap<number, number> = new Map([[8, 256], [9, 384], [10, 512], [11, 224], [12, 256], [14, 512]]);
const WEAK_HASHES: ReadonlySet<number> = new Set([1, 2, 3]);

/** ASN.1 DigestInfo prefixes for EMSA-PKCS1-v1_5 (RFC 4880 §5.2.2). */
const DIGEST_INFO_PREFIX: Readonly<Record<HashAlgorithm, Buffer>> = {
  sha256: Buffer.from('3031300d060960864801650304020105000420', 'hex'),
  sha512: Buffer.from('3051300d060960864801650304020305000440', 'hex'),
};
const DIGEST_LENGTH: Readonly<Record<HashAlgorithm, number>> = { sha256: 32, sha512: 64 };

export function subpacket(type: number, body: Uint8Array): Buffer {
  return Buffer.concat([encodeLength(body.length + 1), Buffer.from([type]), body]);
}

function u32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value);
  return out;
}

function hashedAreaOf(type: number, signer: PublicKeyInfo, hashAlgorithm: HashAlgorithm, subpackets: Buffer[]): Buffer {
  if (!Object.hasOwn(HASH_ID, hashAlgorithm)) throw new SignetError('ALGORITHM_UNSUPPORTED', 'hash must be sha256 or sha512');
  if (signer.algorithm === 'ed448' && hashAlgorithm !== 'sha512') throw new SignetError('ALGORITHM_UNSUPPORTED', 'an Ed448 key signs with sha512');
  const area = Buffer.concat(subpackets);
  const id = pkAlgorithmId(signer.algorithm, signer.version);
  // v6: the hashed subpacket area's length takes four bytes (RFC 9580 §5.2.3).
  const head = signer.version === 6
    ? Buffer.concat([Buffer.from([6, type, id, HASH_ID[hashAlgorithm]]), u32(area.length)])
    : Buffer.from([4, type, id, HASH_ID[hashAlgorithm], area.length >> 8, area.length & 0xff]);
  return Buffer.concat([head, area]);
}

function issuerFingerprintSubpacket(signer: PublicKeyInfo): Buffer {
  return subpacket(SubpacketType.issuerFingerprint, Buffer.concat([Buffer.from([signer.version]), signer.fingerprint]));
}

/** Bytes from the version through the hashed subpackets, in gpg 2.2's order: issuer
 *  fingerprint (33), creation time (2). Only the two document types can be asked for. */
export function signatureHashedArea(p: SignatureParams): Buffer {
  if (p.type !== 0x00 && p.type !== 0x01) throw new SignetError('BAD_REQUEST', 'only document signatures (0x00, 0x01) are made here');
  return hashedAreaOf(p.type, p.signer, p.hashAlgorithm, [
    issuerFingerprintSubpacket(p.signer),
    subpacket(SubpacketType.creationTime, u32(p.creationTime)),
  ]);
}

/** Hashed area of a positive certification (0x13) of the key's own user ID, or (type 0x1F) of
 *  a v6 key's direct-key self-signature, where RFC 9580 §5.2.3.10 puts the key's flags and
 *  preferences. */
export function selfSignatureHashedArea(signer: PublicKeyInfo, hashAlgorithm: HashAlgorithm, creationTime: number, type: 0x13 | 0x1f = 0x13): Buffer {
  return hashedAreaOf(type, signer, hashAlgorithm, [
    issuerFingerprintSubpacket(signer),
    subpacket(SubpacketType.creationTime, u32(creationTime)),
    subpacket(SubpacketType.keyFlags, Buffer.from([0x03])), // certify + sign
    subpacket(SubpacketType.preferredHash, Buffer.from([HASH_ID.sha512, HASH_ID.sha256])),
    // v4: modification detection (SEIPDv1); v6 keys also announce SEIPDv2 (RFC 9580 §5.2.3.32).
    subpacket(SubpacketType.features, Buffer.from([signer.version === 6 ? 0x09 : 0x01])),
  ]);
}

/** The trailer hashed after the hashed area: version ‖ FF ‖ 4-byte length of the hashed area
 *  (RFC 9580 §5.2.4; the same shape for v4 and v6). */
export function signatureTrailer(hashedArea: Buffer): Buffer {
  return Buffer.concat([Buffer.from([hashedArea[0] === 6 ? 6 : 4, 0xff]), u32(hashedArea.length)]);
}

/** Digest of [v6 salt ‖] prefix chunks (data, or key ‖ user ID) ‖ hashed area ‖ trailer. */
export function hashSignedInput(hashAlgorithm: HashAlgorithm, chunks: Uint8Array[], hashedArea: Buffer, salt: Buffer | null = null): Buffer {
  const hash = createHash(hashAlgorithm);
  if (salt) hash.update(salt);
  for (const chunk of chunks) hash.update(chunk);
  return hash.update(hashedArea).update(signatureTrailer(hashedArea)).digest();
}

export interface SignatureHash {
  update(chunk: Uint8Array): void;
  /** `salt` is the v6 salt (null for v4), needed to build the packet. */
  finish(): { hashedArea: Buffer; digest: Buffer; salt: Buffer | null };
}

/** Streams document data into the signature hash. For a canonical-text signature (0x01) the
 *  data is converted as gpg does for text mode (line endings to CRLF, see text.ts). */
export function createSignatureHash(p: SignatureParams): SignatureHash {
  const hashedArea = signatureHashedArea(p);
  const salt = checkSalt(p.signer.version, p.hashAlgorithm, p.salt);
  const hash: Hash = createHash(p.hashAlgorithm);
  // v6: the salt is hashed first, so nobody can precompute the hash of the data (§5.2.4).
  if (salt) hash.update(salt);
  const text = p.type === 0x01 ? new TextModeConverter() : null;
  let finished = false;
  return {
    update(chunk) {
      if (finished) throw new SignetError('INTERNAL', 'signature hash already finished');
      hash.update(text ? text.push(chunk) : chunk);
    },
    finish() {
      if (finished) throw new SignetError('INTERNAL', 'signature hash already finished');
      finished = true;
      if (text) hash.update(text.end());
      hash.update(hashedArea).update(signatureTrailer(hashedArea));
      return { hashedArea, digest: hash.digest(), salt };
    },
  };
}

function checkSigningKey(privateKey: SigningKey, algorithm: KeyAlgorithm, hashAlgorithm: HashAlgorithm, digest: Buffer): void {
  if (!Object.hasOwn(DIGEST_LENGTH, hashAlgorithm)) throw new SignetError('ALGORITHM_UNSUPPORTED', 'hash must be sha256 or sha512');
  if (digest.length !== DIGEST_LENGTH[hashAlgorithm]) throw new SignetError('BAD_REQUEST', 'digest length does not match its hash');
  if (isComposite(algorithm)) {
    if (!isCompositeKey(privateKey) || privateKey.algorithm !== algorithm) throw new SignetError('ALGORITHM_UNSUPPORTED', `signing key is not an ${algorithm} key`);
    return;
  }
  // Software ECDSA signing is not offered: node:crypto has no ECDSA call over a precomputed
  // digest, and P-256 keys exist for tokens that lack Ed25519 (docs/key-backends.md).
  if (algorithm === 'ecdsa-p256') throw new SignetError('ALGORITHM_UNSUPPORTED', 'ecdsa-p256 keys sign in a PKCS#11 token, not in software');
  const expected = algorithm === 'rsa4096' ? 'rsa' : algorithm;
  if (isCompositeKey(privateKey) || privateKey.type !== 'private' || privateKey.asymmetricKeyType !== expected) {
    throw new SignetError('ALGORITHM_UNSUPPORTED', `signing key is not an ${algorithm} private key`);
  }
}

/** DigestInfo ‖ digest: what EMSA-PKCS1-v1_5 pads (RFC 8017 §9.2, RFC 9580 §5.2.2), and so the
 *  input of privateEncrypt with PKCS#1 padding or of a token's CKM_RSA_PKCS. */
export function rsaDigestInfo(hashAlgorithm: HashAlgorithm, digest: Buffer): Buffer {
  if (!Object.hasOwn(DIGEST_LENGTH, hashAlgorithm)) throw new SignetError('ALGORITHM_UNSUPPORTED', 'hash must be sha256 or sha512');
  if (digest.length !== DIGEST_LENGTH[hashAlgorithm]) throw new SignetError('BAD_REQUEST', 'digest length does not match its hash');
  return Buffer.concat([DIGEST_INFO_PREFIX[hashAlgorithm], digest]);
}

/** Composite ML-DSA + EdDSA: both halves sign the digest, EdDSA (PureEdDSA, empty context)
 *  first, then ML-DSA (hedged, empty context); the signature is the two concatenated
 *  (draft-ietf-openpgp-pqc §6.2.2, §6.3.1). */
function compositeSign(key: SigningKey, digest: Buffer): Buffer {
  if (!isCompositeKey(key)) throw new SignetError('INTERNAL', 'not a composite key');
  const ed = cryptoSign(null, digest, key.ed);
  const mldsa = mldsaOf(key.algorithm).sign(Uint8Array.from(digest), key.mldsaSecretKey);
  return Buffer.concat([ed, mldsa]);
}

/** EMSA-PKCS1-v1_5 over DigestInfo ‖ digest, which is exactly what privateEncrypt with PKCS#1
 *  padding computes (RFC 4880 §5.2.2, docs/formats.md "Signatures"). */
function rsaSignDigest(privateKey: KeyObject, hashAlgorithm: HashAlgorithm, digest: Buffer): Buffer {
  return privateEncrypt({ key: privateKey, padding: constants.RSA_PKCS1_PADDING }, rsaDigestInfo(hashAlgorithm, digest));
}

/** Signs a digest, returning the raw signature (RSA: 512 bytes; Ed25519: R ‖ S, 64 bytes).
 *  Legacy EdDSA in v4 signs the digest itself as the Ed25519 message (RFC 9580 §5.2.3.3); that
 *  runs asynchronously on the libuv threadpool (crypto.sign with a callback). RSA has no
 *  asynchronous node:crypto call that takes a precomputed digest (crypto.sign(null, …) hashes
 *  the input with SHA-256 first), so RSA runs privateEncrypt on the calling thread: to sign RSA
 *  in parallel, call this from worker threads. */
export async function signDigest(privateKey: SigningKey, algorithm: KeyAlgorithm, hashAlgorithm: HashAlgorithm,
  digest: Buffer): Promise<Buffer> {
  checkSigningKey(privateKey, algorithm, hashAlgorithm, digest);
  if (isCompositeKey(privateKey)) return compositeSign(privateKey, digest);
  if (algorithm === 'rsa4096') return rsaSignDigest(privateKey, hashAlgorithm, digest);
  return new Promise((resolve, reject) => {
    cryptoSign(null, digest, privateKey, (err, signature) => (err ? reject(err) : resolve(signature)));
  });
}

/** Synchronous signDigest, for the key-import self-test. */
export function signDigestSync(privateKey: SigningKey, algorithm: KeyAlgorithm, hashAlgorithm: HashAlgorithm, digest: Buffer): Buffer {
  checkSigningKey(privateKey, algorithm, hashAlgorithm, digest);
  if (isCompositeKey(privateKey)) return compositeSign(privateKey, digest);
  return algorithm === 'rsa4096' ? rsaSignDigest(privateKey, hashAlgorithm, digest) : cryptoSign(null, digest, privateKey);
}

/** The native signature sizes of the v6 algorithms (RFC 9580 §5.2.3.4, §5.2.3.5;
 *  draft-ietf-openpgp-pqc §6.3.1): one fixed-length field, or EdDSA ‖ ML-DSA for composites. */
function v6SignatureFields(algorithm: KeyAlgorithm): number[] {
  if (algorithm === 'ed25519') return [64];
  if (algorithm === 'ed448') return [114];
  if (isComposite(algorithm)) return [COMPOSITE[algorithm].edSignature, COMPOSITE[algorithm].mldsaSignature];
  throw new SignetError('ALGORITHM_UNSUPPORTED', `${algorithm} is not a v6 signing algorithm here`);
}

/** The tag 2 packet. v4: hashed area ‖ unhashed area (issuer key ID, 16) ‖ left 16 bits ‖
 *  MPIs. v6 (RFC 9580 §5.2.3): hashed area ‖ 4-byte empty unhashed area (a v6 signature names
 *  its issuer by the hashed fingerprint) ‖ left 16 bits ‖ salt size ‖ salt ‖ native signature. */
export function buildSignaturePacket(hashedArea: Buffer, digest: Buffer, rawSignature: Buffer, signer: PublicKeyInfo, salt: Buffer | null = null): Buffer {
  if (signer.version === 6) {
    if (!salt) throw new SignetError('INTERNAL', 'a v6 signature needs its salt');
    const expected = v6SignatureFields(signer.algorithm).reduce((a, b) => a + b, 0);
    if (rawSignature.length !== expected) throw new SignetError('INTERNAL', `a ${signer.algorithm} signature must be ${expected} bytes`);
    return encodePacket(PacketTag.signature, Buffer.concat([hashedArea, u32(0), digest.subarray(0, 2),
      Buffer.from([salt.length]), salt, rawSignature]));
  }
  const unhashed = subpacket(SubpacketType.issuerKeyId, signer.keyId);
  let mpis: Buffer;
  if (signer.algorithm === 'rsa4096') {
    mpis = encodeMpi(rawSignature);
  } else {
    // EdDSA R ‖ S (RFC 9580 §5.2.3.3) and ECDSA r ‖ s (§5.2.3.2; PKCS#11 CKM_ECDSA returns them
    // so, each the size of the P-256 order): two MPIs.
    if (rawSignature.length !== 64) throw new SignetError('INTERNAL', `${signer.algorithm} signature must be 64 bytes`);
    mpis = Buffer.concat([encodeMpi(rawSignature.subarray(0, 32)), encodeMpi(rawSignature.subarray(32))]);
  }
  const body = Buffer.concat([hashedArea, Buffer.from([unhashed.length >> 8, unhashed.length & 0xff]), unhashed,
    digest.subarray(0, 2), mpis]);
  return encodePacket(PacketTag.signature, body);
}

/** A detached signature over bytes in memory, made by `sign` (a key handle's operation). */
export async function signDetachedWith(data: Uint8Array, sign: DigestSigner, p: SignatureParams): Promise<Buffer> {
  const hash = createSignatureHash(p);
  hash.update(data);
  const { hashedArea, digest, salt } = hash.finish();
  return buildSignaturePacket(hashedArea, digest, await sign(p.hashAlgorithm, digest), p.signer, salt);
}

/** signDetachedWith a software private key (node:crypto, or a composite key). */
export async function signDetached(data: Uint8Array, privateKey: SigningKey, p: SignatureParams): Promise<Buffer> {
  return signDetachedWith(data, (hashAlgorithm, digest) => signDigest(privateKey, p.signer.algorithm, hashAlgorithm, digest), p);
}

export function signDetachedSync(data: Uint8Array, privateKey: SigningKey, p: SignatureParams): Buffer {
  const hash = createSignatureHash(p);
  hash.update(data);
  const { hashedArea, digest, salt } = hash.finish();
  return buildSignaturePacket(hashedArea, digest, signDigestSync(privateKey, p.signer.algorithm, p.hashAlgorithm, digest), p.signer, salt);
}

export interface Subpacket {
  readonly type: number;
  readonly critical: boolean;
  readonly body: Buffer;
}

export interface ParsedSignature {
  readonly version: 4 | 6;
  readonly type: number;
  readonly pkAlgorithm: number;
  readonly hashAlgorithm: number;
  /** the exact bytes hashed: version through the hashed subpackets, never re-encoded. */
  readonly hashedArea: Buffer;
  readonly hashedSubpackets: readonly Subpacket[];
  readonly unhashedSubpackets: readonly Subpacket[];
  readonly creationTime: number;
  /** seconds after creation when the signature expires (subpacket 3), or null. */
  readonly expirationSeconds: number | null;
  /** v4 or v6 fingerprint from a hashed issuer-fingerprint subpacket, or null. */
  readonly issuerFingerprint: Buffer | null;
  /** v6: the salt hashed before the data; null for v4. */
  readonly salt: Buffer | null;
  /** key ID from subpacket 16 (hashed or unhashed; a hint only), or null. */
  readonly issuerKeyId: Buffer | null;
  readonly left16: Buffer;
  /** v4: the MPIs' values; v6: the native fixed-length fields (one, or EdDSA and ML-DSA). */
  readonly mpis: readonly Buffer[];
}

function readSubpackets(reader: ByteReader, hashed: boolean): Subpacket[] {
  const subpackets: Subpacket[] = [];
  while (!reader.done) {
    const first = reader.u8('subpacket length');
    let length: number;
    if (first < 192) length = first;
    else if (first < 255) length = ((first - 192) << 8) + reader.u8('subpacket length') + 192;
    else length = reader.u32('subpacket length');
    if (length === 0) throw malformed('empty subpacket');
    const typeByte = reader.u8('subpacket type');
    const body = reader.bytes(length - 1, 'subpacket body');
    const type = typeByte & 0x7f;
    const critical = (typeByte & 0x80) !== 0;
    // RFC 4880 §5.2.3.1: an unknown critical subpacket makes the signature invalid.
    if (critical && hashed && !UNDERSTOOD_SUBPACKETS.has(type)) throw malformed(`unknown critical subpacket ${type}`);
    subpackets.push({ type, critical, body });
  }
  return subpackets;
}

function single(subpackets: readonly Subpacket[], type: number, length: number): Buffer | null {
  const found = subpackets.filter((s) => s.type === type);
  if (found.length > 1) throw malformed(`duplicate subpacket ${type}`);
  const [only] = found;
  if (only && only.body.length !== length) throw malformed(`subpacket ${type} has length ${only.body.length}`);
  return only ? only.body : null;
}

const V6_ALGORITHMS: ReadonlyMap<number, KeyAlgorithm> = new Map([
  [PublicKeyAlgorithm.ed25519, 'ed25519'], [PublicKeyAlgorithm.ed448, 'ed448'],
  [PublicKeyAlgorithm.mldsa65Ed25519, 'mldsa65-ed25519'], [PublicKeyAlgorithm.mldsa87Ed448, 'mldsa87-ed448'],
]);

/** Parses a signature packet body strictly: v4 or v6, every length checked, no trailing data. */
export function parseSignatureBody(body: Uint8Array): ParsedSignature {
  const reader = new ByteReader(body);
  const version = reader.u8('signature version');
  if (version !== 4 && version !== 6) throw malformed(`signature version ${version} (only v4 and v6 are supported)`);
  const type = reader.u8('signature type');
  const pkAlgorithm = reader.u8('public-key algorithm');
  const hashAlgorithm = reader.u8('hash algorithm');
  // v6 subpacket areas have 4-byte lengths (RFC 9580 §5.2.3).
  const areaLength = (what: string): number => (version === 6 ? reader.u32(what) : reader.u16(what));
  const hashedSubpackets = readSubpackets(new ByteReader(reader.bytes(areaLength('hashed area length'), 'hashed area')), true);
  const hashedArea = reader.bytesFrom(0);
  const unhashedSubpackets = readSubpackets(new ByteReader(reader.bytes(areaLength('unhashed area length'), 'unhashed area')), false);
  const left16 = reader.bytes(2, 'left 16 bits');
  let mpis: Buffer[];
  let salt: Buffer | null = null;
  if (version === 6) {
    const saltSize = SALT_BYTES.get(hashAlgorithm);
    if (saltSize === undefined) throw new SignetError('ALGORITHM_UNSUPPORTED', `v6 signature hash algorithm ${hashAlgorithm} is not supported`);
    // The salt's size is fixed by the hash; any other size is malformed (§5.2.3).
    if (reader.u8('salt size') !== saltSize) throw malformed('v6 salt size does not match the hash algorithm');
    salt = reader.bytes(saltSize, 'salt');
    const algorithm = V6_ALGORITHMS.get(pkAlgorithm);
    if (!algorithm) throw new SignetError('ALGORITHM_UNSUPPORTED', `v6 signature public-key algorithm ${pkAlgorithm} is not supported`);
    mpis = v6SignatureFields(algorithm).map((n) => reader.bytes(n, 'signature'));
  } else if (pkAlgorithm === PublicKeyAlgorithm.rsa) mpis = [reader.mpi('RSA signature')];
  else if (pkAlgorithm === PublicKeyAlgorithm.eddsa) mpis = [reader.mpi('EdDSA R'), reader.mpi('EdDSA S')];
  else if (pkAlgorithm === PublicKeyAlgorithm.ecdsa) mpis = [reader.mpi('ECDSA r'), reader.mpi('ECDSA s')];
  else throw new SignetError('ALGORITHM_UNSUPPORTED', `signature public-key algorithm ${pkAlgorithm} is not supported`);
  reader.end('signature');

  const creation = single(hashedSubpackets, SubpacketType.creationTime, 4);
  if (!creation) throw malformed('signature without a hashed creation time');
  const expiration = single(hashedSubpackets, SubpacketType.expirationTime, 4);
  // A v4 signature names a v4 issuer (1 + 20 bytes), a v6 one a v6 issuer (1 + 32 bytes).
  const fingerprint = single(hashedSubpackets, SubpacketType.issuerFingerprint, version === 6 ? 33 : 21);
  if (fingerprint && fingerprint[0] !== version) throw malformed(`issuer fingerprint is not a v${version} fingerprint`);
  const issuerKeyId = single(hashedSubpackets, SubpacketType.issuerKeyId, 8) ?? single(unhashedSubpackets, SubpacketType.issuerKeyId, 8);
  return {
    version,
    type,
    pkAlgorithm,
    hashAlgorithm,
    hashedArea,
    hashedSubpackets,
    unhashedSubpackets,
    creationTime: creation.readUInt32BE(0),
    expirationSeconds: expiration ? expiration.readUInt32BE(0) || null : null,
    issuerFingerprint: fingerprint ? fingerprint.subarray(1) : null,
    issuerKeyId,
    salt,
    left16,
    mpis,
  };
}

/** Parses exactly one signature packet (old or new header format) with nothing after it. */
export function parseSignaturePacket(bytes: Uint8Array): ParsedSignature {
  const reader = new ByteReader(bytes);
  const packet = readPacket(reader);
  if (packet.tag !== PacketTag.signature) throw malformed(`expected a signature packet, found tag ${packet.tag}`);
  reader.end('the signature packet');
  return parseSignatureBody(packet.body);
}

function leftPad(value: Buffer, length: number): Buffer | null {
  if (value.length > length) return null;
  return Buffer.concat([Buffer.alloc(length - value.length), value]);
}

/** Cryptographic check of a parsed signature over `chunks` ‖ hashed area ‖ trailer by one key.
 *  Uses node:crypto only (no JS bignum), so PKCS#1 parsing is OpenSSL's strict one. */
export function verifyParsed(info: PublicKeyInfo, parsed: ParsedSignature, chunks: Uint8Array[]): boolean {
  const v = parsedVerifier(info, parsed);
  if (!v) return false;
  for (const chunk of chunks) v.update(chunk);
  return v.verify();
}

/** The incremental form of verifyParsed: data is fed in chunks (a file of any size is checked
 *  without holding it in memory); null when the key cannot have made the signature. */
function parsedVerifier(info: PublicKeyInfo, parsed: ParsedSignature): { update(chunk: Uint8Array): void; verify(): boolean } | null {
  const hashName = VERIFY_HASHES.get(parsed.hashAlgorithm);
  if (!hashName || parsed.pkAlgorithm !== pkAlgorithmId(info.algorithm, info.version)) return null;
  // A v6 key makes v6 signatures and a v4 key v4 ones (RFC 9580 §5.2.3, §5.5.2.3).
  if (parsed.version !== info.version) return null;
  const { key, mldsaPublicKey } = publicKeyMaterial(info);
  const trailer = signatureTrailer(parsed.hashedArea);
  if (parsed.version === 6) {
    const bits = DIGEST_BITS.get(parsed.hashAlgorithm) ?? 0;
    if (bits < (info.algorithm === 'ed448' ? 512 : 256)) return null;
    const hash = createHash(hashName);
    hash.update(parsed.salt!);
    return {
      update: (chunk) => void hash.update(chunk),
      verify: () => {
        const digest = hash.update(parsed.hashedArea).update(trailer).digest();
        // The left 16 bits must be the digest's (RFC 9580 §5.2.3): a packet edited there is
        // refused, as gpg and sq refuse it.
        if (!digest.subarray(0, 2).equals(parsed.left16)) return false;
        if (!cryptoVerify(null, digest, key, parsed.mpis[0]!)) return false;
        if (!isComposite(info.algorithm)) return true;
        // Composite: the ML-DSA half must verify too (draft-ietf-openpgp-pqc §6.2.3).
        try {
          return mldsaOf(info.algorithm).verify(Uint8Array.from(parsed.mpis[1]!), Uint8Array.from(digest), mldsaPublicKey!);
        } catch {
          return false;
        }
      },
    };
  }
  if (info.algorithm === 'rsa4096') {
    const signature = leftPad(parsed.mpis[0]!, 512);
    if (!signature) return null;
    const verifier = createVerify(hashName);
    return {
      update: (chunk) => void verifier.update(chunk),
      verify: () => verifier.update(parsed.hashedArea).update(trailer).verify(key, signature),
    };
  }
  const r = leftPad(parsed.mpis[0]!, 32);
  const s = leftPad(parsed.mpis[1]!, 32);
  if (!r || !s) return null;
  if (info.algorithm === 'ecdsa-p256') {
    // ECDSA signs the hash of the data (RFC 9580 §5.2.3.2); OpenSSL checks r and s in range.
    const verifier = createVerify(hashName);
    return {
      update: (chunk) => void verifier.update(chunk),
      verify: () => verifier.update(parsed.hashedArea).update(trailer).verify({ key, dsaEncoding: 'ieee-p1363' }, Buffer.concat([r, s])),
    };
  }
  if (info.algorithm !== 'ed25519') return null;
  const hash = createHash(hashName);
  return {
    update: (chunk) => void hash.update(chunk),
    verify: () => cryptoVerify(null, hash.update(parsed.hashedArea).update(trailer).digest(), key, Buffer.concat([r, s])),
  };
}

export type VerifyResult =
  | { ok: true; signer: PublicKeyInfo; signature: ParsedSignature }
  | { ok: false; reason: 'NO_PUBKEY' | 'BAD_SIGNATURE' | 'MALFORMED' | 'WEAK_HASH' };

/** Verifies a detached binary (0x00) or canonical-text (0x01) signature: exactly one v4
 *  signature packet (binary; armored input is accepted and dearmored strictly), made by one of
 *  `keys`. Never throws for bad input: every failure is a reason. */
export function verifyDetached(data: Uint8Array, signature: Uint8Array, keys: PublicKeyInfo[]): VerifyResult {
  const pre = verifyCandidates(signature, keys);
  if ('reason' in pre) return pre;
  const { parsed, candidates } = pre;
  const signed = parsed.type === 0x01 ? textModeBytes(data) : data;
  for (const key of candidates) {
    if (verifyParsed(key, parsed, [signed])) return { ok: true, signer: key, signature: parsed };
  }
  return { ok: false, reason: 'BAD_SIGNATURE' };
}

/** verifyDetached over data read in chunks: `open()` is called once per candidate key (usually
 *  once) and must yield the same bytes each time. Memory stays bounded whatever the size. */
export async function verifyDetachedStream(open: () => AsyncIterable<Uint8Array>, signature: Uint8Array, keys: PublicKeyInfo[]): Promise<VerifyResult> {
  const pre = verifyCandidates(signature, keys);
  if ('reason' in pre) return pre;
  const { parsed, candidates } = pre;
  for (const key of candidates) {
    const v = parsedVerifier(key, parsed);
    if (!v) continue;
    const text = parsed.type === 0x01 ? new TextModeConverter() : null;
    for await (const chunk of open()) v.update(text ? text.push(chunk) : chunk);
    if (text) v.update(text.end());
    if (v.verify()) return { ok: true, signer: key, signature: parsed };
  }
  return { ok: false, reason: 'BAD_SIGNATURE' };
}

function verifyCandidates(signature: Uint8Array, keys: PublicKeyInfo[]): { parsed: ParsedSignature; candidates: PublicKeyInfo[] } | { ok: false; reason: 'NO_PUBKEY' | 'MALFORMED' | 'WEAK_HASH' } {
  let parsed: ParsedSignature;
  try {
    parsed = parseSignaturePacket(signatureBytes(signature));
  } catch {
    return { ok: false, reason: 'MALFORMED' };
  }
  if (parsed.type !== 0x00 && parsed.type !== 0x01) return { ok: false, reason: 'MALFORMED' };
  if (WEAK_HASHES.has(parsed.hashAlgorithm)) return { ok: false, reason: 'WEAK_HASH' };
  if (!VERIFY_HASHES.has(parsed.hashAlgorithm)) return { ok: false, reason: 'MALFORMED' };
  // A v6 signature must name its issuer by a hashed fingerprint (RFC 9580 §5.2.3.35).
  if (parsed.version === 6 && !parsed.issuerFingerprint) return { ok: false, reason: 'MALFORMED' };
  const candidates = keys.filter((k) =>
    parsed.issuerFingerprint ? k.fingerprint.equals(parsed.issuerFingerprint)
      : parsed.issuerKeyId ? k.keyId.equals(parsed.issuerKeyId) : true);
  if (candidates.length === 0) return { ok: false, reason: 'NO_PUBKEY' };
  return { parsed, candidates };
}

function textModeBytes(data: Uint8Array): Buffer {
  const converter = new TextModeConverter();
  return Buffer.concat([converter.push(data), converter.end()]);
}

function signatureBytes(signature: Uint8Array): Uint8Array {
  if (signature.length > 0 && (signature[0]! & 0x80) === 0) {
    const armored = dearmor(Buffer.from(signature).toString('utf8'));
    if (armored.kind !== 'SIGNATURE') throw malformed('armor is not a signature');
    return armored.bytes;
  }
  return signature;
}
