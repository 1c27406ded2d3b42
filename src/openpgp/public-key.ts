// v4 public key packets (RFC 4880 §5.5.2, §12.2; RFC 9580 §5.5.2): bodies, fingerprints, and
// the node:crypto key objects behind them.
import { Buffer } from 'node:buffer';
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { SignetError } from '../errors.js';
import { ByteReader, encodeMpi, malformed } from './reader.js';

/** The key types signet signs with (RSA-4096, Ed25519, and ECDSA over NIST P-256, docs/formats.md).
 *  Defined here, in the pure core; the store's records use this type. */
export type KeyAlgorithm = 'rsa4096' | 'ed25519' | 'ecdsa-p256';
export type HashAlgorithm = 'sha256' | 'sha512';
/** Hash algorithm IDs (RFC 4880 §9.4). */
export const HASH_ID = { sha256: 8, sha512: 10 } as const;

export const PublicKeyAlgorithm = { rsa: 1, ecdsa: 19, eddsa: 22 } as const;

/** OID of Ed25519 for legacy EdDSA in v4 keys (RFC 9580 §9.2, "Ed25519Legacy"). */
export const ED25519_OID = Buffer.from('2b06010401da470f01', 'hex');
/** OID of NIST P-256 (RFC 9580 §9.2): 1.2.840.10045.3.1.7, DER contents without tag and length. */
export const P256_OID = Buffer.from('2a8648ce3d030107', 'hex');
export const RSA_BITS = 4096;

export interface PublicKeyInfo {
  readonly algorithm: KeyAlgorithm;
  /** key creation time from the key packet, Unix seconds. */
  readonly creationTime: number;
  /** v4 fingerprint: SHA-1 over 0x99 ‖ length ‖ key packet body (20 bytes). */
  readonly fingerprint: Buffer;
  /** long key ID: the last 8 bytes of the fingerprint. */
  readonly keyId: Buffer;
  readonly publicKeyPacketBody: Buffer;
}

export function defaultHash(algorithm: KeyAlgorithm): HashAlgorithm {
  // What gpg 2.2 picks for these key types (docs/formats.md "Signatures", seen with gpg 2.2.40).
  // ECDSA P-256: SHA-256, the hash matching the curve's size (RFC 9580 §5.2.3.2 wants one at
  // least as long as the curve order).
  return algorithm === 'rsa4096' ? 'sha512' : 'sha256';
}

export function pkAlgorithmId(algorithm: KeyAlgorithm): number {
  return algorithm === 'rsa4096' ? PublicKeyAlgorithm.rsa : algorithm === 'ecdsa-p256' ? PublicKeyAlgorithm.ecdsa : PublicKeyAlgorithm.eddsa;
}

/** 0x99 ‖ 2-byte length ‖ body: how a key packet enters fingerprints and certifications. */
export function keyHashPrefix(publicKeyPacketBody: Buffer): Buffer {
  const head = Buffer.alloc(3);
  head[0] = 0x99;
  head.writeUInt16BE(publicKeyPacketBody.length, 1);
  return Buffer.concat([head, publicKeyPacketBody]);
}

function infoFromBody(algorithm: KeyAlgorithm, creationTime: number, body: Buffer): PublicKeyInfo {
  if (body.length > 0xffff) throw malformed('public key packet too long');
  const fingerprint = createHash('sha1').update(keyHashPrefix(body)).digest();
  return { algorithm, creationTime, fingerprint, keyId: fingerprint.subarray(12), publicKeyPacketBody: body };
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

/** The public key fields of a v4 key packet body; `reader` is left after the public part, so a
 *  secret key packet can continue with its secret fields. */
export function readPublicKeyFields(reader: ByteReader): { info: PublicKeyInfo; publicKey: KeyObject } {
  const start = reader.offset;
  const version = reader.u8('key version');
  if (version !== 4) throw malformed(`key version ${version} (only v4 is supported)`);
  const creationTime = reader.u32('key creation time');
  const algorithmId = reader.u8('key algorithm');
  let algorithm: KeyAlgorithm;
  let jwk: { kty: string; [field: string]: string };
  if (algorithmId === PublicKeyAlgorithm.rsa) {
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
    jwk = { kty: 'OKP', crv: 'Ed25519', x: point.subarray(1).toString('base64url') };
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
  publicKeyObjects.set(info, publicKey);
  return { info, publicKey };
}

/** Parses a whole public key packet body (tag 6 or 14). */
export function parsePublicKeyBody(body: Uint8Array): PublicKeyInfo {
  const reader = new ByteReader(body);
  const { info } = readPublicKeyFields(reader);
  reader.end('public key');
  return info;
}

const publicKeyObjects = new WeakMap<PublicKeyInfo, KeyObject>();

/** The node:crypto public key for an info record (parsed from its packet body, cached). */
export function publicKeyObject(info: PublicKeyInfo): KeyObject {
  let key = publicKeyObjects.get(info);
  if (!key) {
    const reader = new ByteReader(info.publicKeyPacketBody);
    key = readPublicKeyFields(reader).publicKey;
    reader.end('public key');
    publicKeyObjects.set(info, key);
  }
  return key;
}

