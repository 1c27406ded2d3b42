// Public key packets, v4 (RFC 4880 §5.5.2, §12.2) and v6 (RFC 9580 §5.5.2.3, §5.5.4.3): bodies,
// fingerprints, and the key objects behind them. v6 adds native Ed25519 (27) and Ed448 (28) and,
// experimentally, the composite ML-DSA-65+Ed25519 (30) and ML-DSA-87+Ed448 (31) of the OpenPGP
// PQC specification (draft-ietf-openpgp-pqc §6, docs/keys.md "Profiles: OpenPGP v4 and v6").
import { Buffer } from 'node:buffer';
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { SignetError } from '../errors.js';
import { ByteReader, encodeMpi, malformed } from './reader.js';

/** The key types signet generates and signs with (docs/formats.md, docs/keys.md). Defined here,
 *  in the pure core; the store's records use this type. rsa4096 and ecdsa-p256 (made in PKCS#11
 *  tokens, docs/key-backends.md) are v4 only; ed448 and the two composite post-quantum types are
 *  v6 only; ed25519 is either (legacy EdDSA 22 in v4, 27 in v6). */
export type KeyAlgorithm = 'rsa4096' | 'ed25519' | 'ecdsa-p256' | 'ed448' | 'mldsa65-ed25519' | 'mldsa87-ed448';
export const KEY_ALGORITHMS: readonly KeyAlgorithm[] = ['rsa4096', 'ed25519', 'ecdsa-p256', 'ed448', 'mldsa65-ed25519', 'mldsa87-ed448'];
/** OpenPGP key versions: 4 (RFC 4880, profile rfc4880) and 6 (RFC 9580, profile rfc9580). */
export type KeyVersion = 4 | 6;
export type KeyProfile = 'rfc4880' | 'rfc9580';
export const KEY_PROFILES: readonly KeyProfile[] = ['rfc4880', 'rfc9580'];
export function profileVersion(profile: KeyProfile): KeyVersion {
  return profile === 'rfc9580' ? 6 : 4;
}
/** Which key types a profile can hold (the others are refused at creation). */
export function profileAllows(profile: KeyProfile, algorithm: KeyAlgorithm): boolean {
  return profile === 'rfc4880' ? algorithm === 'rsa4096' || algorithm === 'ed25519' || algorithm === 'ecdsa-p256' : algorithm !== 'rsa4096' && algorithm !== 'ecdsa-p256';
}
export type HashAlgorithm = 'sha256' | 'sha512';
/** Hash algorithm IDs (RFC 4880 §9.4). */
export const HASH_ID = { sha256: 8, sha512: 10 } as const;

/** Public-key algorithm IDs (RFC 9580 §9.1; 30 and 31 from draft-ietf-openpgp-pqc §10). */
export const PublicKeyAlgorithm = { rsa: 1, ecdsa: 19, eddsa: 22, ed25519: 27, ed448: 28, mldsa65Ed25519: 30, mldsa87Ed448: 31 } as const;

/** The composite algorithms: their EdDSA part and the sizes of both parts (draft-ietf-openpgp-pqc
 *  §6.1, tables "EdDSA parameters" and "ML-DSA parameters"); the ML-DSA parameter set itself is
 *  mldsaOf(algorithm). */
export const COMPOSITE = {
  'mldsa65-ed25519': { id: 30, ed: 'ed25519', edPublic: 32, edSecret: 32, edSignature: 64, mldsaPublic: 1952, mldsaSignature: 3309 },
  'mldsa87-ed448': { id: 31, ed: 'ed448', edPublic: 57, edSecret: 57, edSignature: 114, mldsaPublic: 2592, mldsaSignature: 4627 },
} as const;
export type CompositeAlgorithm = keyof typeof COMPOSITE;
export function isComposite(algorithm: KeyAlgorithm): algorithm is CompositeAlgorithm {
  return algorithm === 'mldsa65-ed25519' || algorithm === 'mldsa87-ed448';
}

// ML-DSA (FIPS 204, @noble/post-quantum) is loaded only where composite keys can occur: loading it
// costs more than 20 ms, a tenth of a signet-gpg run that rpmsign or git starts per signature with
// an RSA or EdDSA key. The openpgp barrel (index.ts, which the server and most commands import)
// loads it before anything runs; the CLI's light signature check loads it when a certificate holds
// a composite key (certificateHasComposite).
type MlDsaModule = typeof import('@noble/post-quantum/ml-dsa.js');
let mldsaModule: MlDsaModule | undefined;

export async function loadMlDsa(): Promise<void> {
  mldsaModule ??= await import('@noble/post-quantum/ml-dsa.js');
}

/** The ML-DSA parameter set of a composite algorithm (ML-DSA-65 or ML-DSA-87). */
export function mldsaOf(algorithm: CompositeAlgorithm): MlDsaModule['ml_dsa65'] {
  if (mldsaModule === undefined) throw new SignetError('INTERNAL', 'ML-DSA was used before it was loaded (loadMlDsa)');
  return algorithm === 'mldsa65-ed25519' ? mldsaModule.ml_dsa65 : mldsaModule.ml_dsa87;
}

/** Whether an OpenPGP byte string holds a key packet of a composite algorithm (30, 31): read at
 *  the packet level, before any signature on it is checked. */
export function certificateHasComposite(packets: readonly { readonly tag: number; readonly body: Uint8Array }[]): boolean {
  // Key packets (public and secret, primary and subkey): version, creation time (4), algorithm.
  return packets.some((p) => (p.tag === 5 || p.tag === 6 || p.tag === 7 || p.tag === 14) && (p.body[5] === 30 || p.body[5] === 31));
}
/** The ML-DSA secret key in seed form (FIPS 204 §3.6.3, the 32-byte ξ), as the PQC
 *  specification stores it. */
export const MLDSA_SEED_BYTES = 32;

/** A composite signing key: its EdDSA private key and its ML-DSA seed with the key expanded
 *  from it. node:crypto holds no ML-DSA in Node 20, so this is not a KeyObject. */
export interface CompositeSigningKey {
  readonly kind: 'composite';
  readonly algorithm: CompositeAlgorithm;
  readonly ed: KeyObject;
  readonly mldsaSeed: Buffer;
  readonly mldsaSecretKey: Uint8Array;
  readonly mldsaPublicKey: Uint8Array;
}
/** What signs: a node:crypto private key (RSA, Ed25519, Ed448) or a composite key. */
export type SigningKey = KeyObject | CompositeSigningKey;
export function isCompositeKey(key: SigningKey): key is CompositeSigningKey {
  return (key as Partial<CompositeSigningKey>).kind === 'composite';
}

/** Expands an ML-DSA seed into a composite key with its EdDSA half. */
export function compositeSigningKey(algorithm: CompositeAlgorithm, ed: KeyObject, seed: Uint8Array): CompositeSigningKey {
  if (seed.length !== MLDSA_SEED_BYTES) throw malformed('ML-DSA seed is not 32 bytes');
  if (ed.type !== 'private' || ed.asymmetricKeyType !== COMPOSITE[algorithm].ed) {
    throw new SignetError('ALGORITHM_UNSUPPORTED', `the EdDSA half of ${algorithm} must be an ${COMPOSITE[algorithm].ed} private key`);
  }
  const { secretKey, publicKey } = mldsaOf(algorithm).keygen(Uint8Array.from(seed));
  return { kind: 'composite', algorithm, ed, mldsaSeed: Buffer.from(seed), mldsaSecretKey: secretKey, mldsaPublicKey: publicKey };
}

/** OID of Ed25519 for legacy EdDSA in v4 keys (RFC 9580 §9.2, "Ed25519Legacy"). */
export const ED25519_OID = Buffer.from('2b06010401da470f01', 'hex');
/** OID of NIST P-256 (RFC 9580 §9.2): 1.2.840.10045.3.1.7, DER contents without tag and length. */
export const P256_OID = Buffer.from('2a8648ce3d030107', 'hex');
export const RSA_BITS = 4096;

export interface PublicKeyInfo {
  readonly algorithm: KeyAlgorithm;
  /** 4 or 6: the key packet's version (RFC 9580 §5.5.2). */
  readonly version: KeyVersion;
  /** key creation time from the key packet, Unix seconds. */
  readonly creationTime: number;
  /** v4: SHA-1 over 0x99 ‖ 2-byte length ‖ body (20 bytes); v6: SHA-256 over 0x9B ‖ 4-byte
   *  length ‖ body (32 bytes) (RFC 9580 §5.5.4). */
  readonly fingerprint: Buffer;
  /** key ID: v4 the last 8 bytes of the fingerprint, v6 the first 8 (RFC 9580 §5.5.4.3). */
  readonly keyId: Buffer;
  readonly publicKeyPacketBody: Buffer;
}

export function defaultHash(algorithm: KeyAlgorithm, version: KeyVersion = 4): HashAlgorithm {
  // v4: what gpg 2.2 picks for these key types (docs/formats.md "Signatures", seen with gpg
  // 2.2.40); ECDSA P-256: SHA-256, the hash matching the curve's size (RFC 9580 §5.2.3.2 wants
  // one at least as long as the curve order). v6: SHA-512, as sq 1.x does; Ed448 needs a 512-bit
  // digest anyway.
  if (version === 6) return 'sha512';
  return algorithm === 'rsa4096' ? 'sha512' : 'sha256';
}

export function pkAlgorithmId(algorithm: KeyAlgorithm, version: KeyVersion = 4): number {
  switch (algorithm) {
    case 'rsa4096': return PublicKeyAlgorithm.rsa;
    case 'ecdsa-p256': return PublicKeyAlgorithm.ecdsa;
    case 'ed25519': return version === 6 ? PublicKeyAlgorithm.ed25519 : PublicKeyAlgorithm.eddsa;
    case 'ed448': return PublicKeyAlgorithm.ed448;
    default: return COMPOSITE[algorithm].id;
  }
}

/** How a key packet enters fingerprints and certifications: v4 0x99 ‖ 2-byte length ‖ body,
 *  v6 0x9B ‖ 4-byte length ‖ body (RFC 9580 §5.2.4). */
export function keyHashPrefix(publicKeyPacketBody: Buffer): Buffer {
  if (publicKeyPacketBody[0] === 6) {
    const head = Buffer.alloc(5);
    head[0] = 0x9b;
    head.writeUInt32BE(publicKeyPacketBody.length, 1);
    return Buffer.concat([head, publicKeyPacketBody]);
  }
  const head = Buffer.alloc(3);
  head[0] = 0x99;
  head.writeUInt16BE(publicKeyPacketBody.length, 1);
  return Buffer.concat([head, publicKeyPacketBody]);
}

function infoFromBody(algorithm: KeyAlgorithm, creationTime: number, body: Buffer): PublicKeyInfo {
  if (body[0] === 6) {
    const fingerprint = createHash('sha256').update(keyHashPrefix(body)).digest();
    return { algorithm, version: 6, creationTime, fingerprint, keyId: fingerprint.subarray(0, 8), publicKeyPacketBody: body };
  }
  if (body.length > 0xffff) throw malformed('public key packet too long');
  const fingerprint = createHash('sha1').update(keyHashPrefix(body)).digest();
  return { algorithm, version: 4, creationTime, fingerprint, keyId: fingerprint.subarray(12), publicKeyPacketBody: body };
}

function u32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value);
  return out;
}

/** The v6 public key packet body for a signing key (RFC 9580 §5.5.2.3: version, time,
 *  algorithm, 4-byte length of the key material, material in native form). */
export function publicKeyInfoV6(key: SigningKey, creationTime: number): PublicKeyInfo {
  const time = u32(unixTime(creationTime));
  let algorithm: KeyAlgorithm;
  let material: Buffer;
  if (isCompositeKey(key)) {
    algorithm = key.algorithm;
    const ed = createPublicKey(key.ed).export({ format: 'jwk' });
    material = Buffer.concat([Buffer.from(ed.x ?? '', 'base64url'), Buffer.from(key.mldsaPublicKey)]);
  } else {
    const publicKey = key.type === 'private' ? createPublicKey(key) : key;
    const type = publicKey.asymmetricKeyType;
    if (type !== 'ed25519' && type !== 'ed448') {
      throw new SignetError('ALGORITHM_UNSUPPORTED', `a v6 key must be Ed25519, Ed448 or composite ML-DSA (not ${type ?? 'unknown'})`);
    }
    algorithm = type;
    material = Buffer.from(publicKey.export({ format: 'jwk' }).x ?? '', 'base64url');
  }
  const body = Buffer.concat([Buffer.from([6]), time, Buffer.from([pkAlgorithmId(algorithm, 6)]), u32(material.length), material]);
  const info = infoFromBody(algorithm, creationTime, body);
  // Parse back once: the body must be one this module reads (sizes, valid points).
  const reader = new ByteReader(body);
  const parsed = readPublicKeyFields(reader);
  reader.end('public key');
  publicKeyObjects.set(info, parsed.material);
  return info;
}

/** The public key info of a signing key in the given version (v4: RSA-4096 or Ed25519). */
export function publicKeyInfoFor(key: SigningKey, creationTime: number, version: KeyVersion): PublicKeyInfo {
  if (version === 6) return publicKeyInfoV6(key, creationTime);
  if (isCompositeKey(key)) throw new SignetError('ALGORITHM_UNSUPPORTED', 'composite ML-DSA keys exist only as v6 keys');
  return publicKeyInfo(key, creationTime);
}

export function unixTime(value: number): number {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new SignetError('BAD_REQUEST', 'creation time must be a Unix time in seconds (u32)');
  }
  return value;
}

/** The v4 public key packet body and fingerprint for a node:crypto key (private or public). */
export function publicKeyInfo(privateOrPublic: KeyObject, creationTime: number): PublicKeyInfo {
  const time = Buffer.alloc(4);
  time.writeUInt32BE(unixTime(creationTime));
  const publicKey = privateOrPublic.type === 'private' ? createPublicKey(privateOrPublic) : privateOrPublic;
  const jwk = publicKey.export({ format: 'jwk' });
  if (publicKey.asymmetricKeyType === 'rsa' && jwk.n && jwk.e) {
    const n = Buffer.from(jwk.n, 'base64url');
    if (publicKey.asymmetricKeyDetails?.modulusLength !== RSA_BITS) {
      throw new SignetError('ALGORITHM_UNSUPPORTED', `only RSA-${RSA_BITS} keys are supported`);
    }
    const body = Buffer.concat([Buffer.from([4]), time, Buffer.from([PublicKeyAlgorithm.rsa]),
      encodeMpi(n), encodeMpi(Buffer.from(jwk.e, 'base64url'))]);
    return infoFromBody('rsa4096', creationTime, body);
  }
  if (publicKey.asymmetricKeyType === 'ed25519' && jwk.x) {
    // Native point format: 0x40 prefix then the 32-byte key (RFC 9580 §11.2.2), a 263-bit MPI.
    const point = Buffer.concat([Buffer.from([0x40]), Buffer.from(jwk.x, 'base64url')]);
    const body = Buffer.concat([Buffer.from([4]), time, Buffer.from([PublicKeyAlgorithm.eddsa, ED25519_OID.length]),
      ED25519_OID, encodeMpi(point)]);
    return infoFromBody('ed25519', creationTime, body);
  }
  if (publicKey.asymmetricKeyType === 'ec' && jwk.crv === 'P-256' && jwk.x && jwk.y) {
    // RFC 9580 §5.5.5.4: algorithm 19, the curve OID, then the point as an MPI in SEC1
    // uncompressed form (0x04 ‖ x ‖ y, 515 bits).
    const point = Buffer.concat([Buffer.from([0x04]), Buffer.from(jwk.x, 'base64url'), Buffer.from(jwk.y, 'base64url')]);
    const body = Buffer.concat([Buffer.from([4]), time, Buffer.from([PublicKeyAlgorithm.ecdsa, P256_OID.length]),
      P256_OID, encodeMpi(point)]);
    return infoFromBody('ecdsa-p256', creationTime, body);
  }
  throw new SignetError('ALGORITHM_UNSUPPORTED', `unsupported key type ${publicKey.asymmetricKeyType ?? 'unknown'}`);
}

/** A parsed public key: the node:crypto key (the EdDSA half for composites) and, for the
 *  composite algorithms, the ML-DSA public key (FIPS 204 encoding). */
export interface PublicKeyMaterial {
  readonly key: KeyObject;
  readonly mldsaPublicKey?: Uint8Array;
}

function okp(crv: 'Ed25519' | 'Ed448', x: Buffer): { kty: string; [field: string]: string } {
  return { kty: 'OKP', crv, x: x.toString('base64url') };
}

/** The public key fields of a v4 or v6 key packet body; `reader` is left after the public part,
 *  so a secret key packet can continue with its secret fields. */
export function readPublicKeyFields(reader: ByteReader): { info: PublicKeyInfo; publicKey: KeyObject; material: PublicKeyMaterial } {
  const start = reader.offset;
  const version = reader.u8('key version');
  if (version !== 4 && version !== 6) throw malformed(`key version ${version} (only v4 and v6 are supported)`);
  const creationTime = reader.u32('key creation time');
  const algorithmId = reader.u8('key algorithm');
  let algorithm: KeyAlgorithm;
  let jwk: { kty: string; [field: string]: string };
  let mldsaPublicKey: Uint8Array | undefined;
  if (version === 6) {
    // v6: a 4-byte count of the algorithm-specific material, then the material (§5.5.2.3).
    const material = new ByteReader(reader.bytes(reader.u32('key material length'), 'key material'));
    if (algorithmId === PublicKeyAlgorithm.ed25519) {
      algorithm = 'ed25519';
      jwk = okp('Ed25519', material.bytes(32, 'Ed25519 public key'));
    } else if (algorithmId === PublicKeyAlgorithm.ed448) {
      algorithm = 'ed448';
      jwk = okp('Ed448', material.bytes(57, 'Ed448 public key'));
    } else if (algorithmId === PublicKeyAlgorithm.mldsa65Ed25519 || algorithmId === PublicKeyAlgorithm.mldsa87Ed448) {
      algorithm = algorithmId === PublicKeyAlgorithm.mldsa65Ed25519 ? 'mldsa65-ed25519' : 'mldsa87-ed448';
      const c = COMPOSITE[algorithm];
      jwk = okp(c.ed === 'ed25519' ? 'Ed25519' : 'Ed448', material.bytes(c.edPublic, 'EdDSA public key'));
      mldsaPublicKey = Uint8Array.from(material.bytes(c.mldsaPublic, 'ML-DSA public key'));
    } else {
      throw new SignetError('ALGORITHM_UNSUPPORTED', `v6 public-key algorithm ${algorithmId} is not supported`);
    }
    material.end('v6 key material');
  } else if (algorithmId === PublicKeyAlgorithm.rsa) {
    const n = reader.mpi('RSA modulus');
    const e = reader.mpi('RSA exponent');
    if (n.length * 8 !== RSA_BITS || (n[0]! & 0x80) === 0) {
      throw new SignetError('ALGORITHM_UNSUPPORTED', `only RSA-${RSA_BITS} keys are supported`);
    }
    algorithm = 'rsa4096';
    jwk = { kty: 'RSA', n: n.toString('base64url'), e: e.toString('base64url') };
  } else if (algorithmId === PublicKeyAlgorithm.eddsa) {
    const oid = reader.bytes(reader.u8('curve OID length'), 'curve OID');
    if (!oid.equals(ED25519_OID)) throw new SignetError('ALGORITHM_UNSUPPORTED', 'only the Ed25519 curve is supported for EdDSA');
    const point = reader.mpi('EdDSA public point');
    if (point.length !== 33 || point[0] !== 0x40) throw malformed('EdDSA public point is not 0x40 ‖ 32 bytes');
    algorithm = 'ed25519';
    jwk = okp('Ed25519', point.subarray(1));
  } else if (algorithmId === PublicKeyAlgorithm.ecdsa) {
    const oid = reader.bytes(reader.u8('curve OID length'), 'curve OID');
    if (!oid.equals(P256_OID)) throw new SignetError('ALGORITHM_UNSUPPORTED', 'only the NIST P-256 curve is supported for ECDSA');
    const point = reader.mpi('ECDSA public point');
    if (point.length !== 65 || point[0] !== 0x04) throw malformed('ECDSA public point is not 0x04 ‖ x ‖ y (65 bytes)');
    algorithm = 'ecdsa-p256';
    jwk = { kty: 'EC', crv: 'P-256', x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33).toString('base64url') };
  } else {
    throw new SignetError('ALGORITHM_UNSUPPORTED', `public-key algorithm ${algorithmId} is not supported`);
  }
  const body = reader.bytesFrom(start);
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: jwk, format: 'jwk' });
  } catch (cause) {
    throw new SignetError('OPENPGP_MALFORMED', 'public key is not a valid key', { cause });
  }
  const info = infoFromBody(algorithm, creationTime, Buffer.from(body));
  const material: PublicKeyMaterial = mldsaPublicKey ? { key: publicKey, mldsaPublicKey } : { key: publicKey };
  publicKeyObjects.set(info, material);
  return { info, publicKey, material };
}

/** Parses a whole public key packet body (tag 6 or 14). */
export function parsePublicKeyBody(body: Uint8Array): PublicKeyInfo {
  const reader = new ByteReader(body);
  const { info } = readPublicKeyFields(reader);
  reader.end('public key');
  return info;
}

const publicKeyObjects = new WeakMap<PublicKeyInfo, PublicKeyMaterial>();

/** The public key material for an info record (parsed from its packet body, cached). */
export function publicKeyMaterial(info: PublicKeyInfo): PublicKeyMaterial {
  let material = publicKeyObjects.get(info);
  if (!material) {
    const reader = new ByteReader(info.publicKeyPacketBody);
    material = readPublicKeyFields(reader).material;
    reader.end('public key');
    publicKeyObjects.set(info, material);
  }
  return material;
}

/** The node:crypto public key for an info record (the EdDSA half for a composite key). */
export function publicKeyObject(info: PublicKeyInfo): KeyObject {
  return publicKeyMaterial(info).key;
}
