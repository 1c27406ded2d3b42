// Midstate signing (docs/midstate.md): for a large file the client hashes every full
// block itself and sends the hash's chaining value, the byte count and the tail (fewer bytes
// than a block). The server resumes the hash over the tail, then appends the hashed area and the
// v4 trailer it builds itself (binary document, type 0x00), and signs.
//
// Why this keeps invariant 3 ("no API signs a raw client-chosen digest"): the client chooses only
// a chaining value, and the server runs at least one more compression over bytes it chose (its
// hashed area, trailer and the length padding). To make the final digest equal a digest of its
// choosing — say of a key certification — a client would have to invert the SHA-2 compression
// function. The signature's type, time, issuer and hash are the server's, so what a verifier sees
// is always a binary-document signature.
import { SignetError } from '../errors.js';
import { armor, signatureHashedArea, signatureTrailer, type HashAlgorithm, type KeyAlgorithm } from '../openpgp/index.js';
import { blockBytes, isSha2Algorithm, ResumableSha2 } from '../sha2/resumable.js';
import { signFinishedHash, type Signer } from './engine.js';

/** Hashes a key may sign with in midstate mode. Both keys advertise SHA-512 and SHA-256 in their
 *  preferred-hash subpacket (src/openpgp/signature.ts selfSignatureHashedArea). */
export const MIDSTATE_HASHES: Readonly<Record<KeyAlgorithm, readonly HashAlgorithm[]>> = {
  rsa4096: ['sha512', 'sha256'],
  ed25519: ['sha512', 'sha256'],
  'ecdsa-p256': ['sha512', 'sha256'],
  ed448: ['sha512'],
  'mldsa65-ed25519': ['sha512', 'sha256'],
  'mldsa87-ed448': ['sha512'],
};

/** The request as received: validated here, nothing assumed. */
export interface MidstateInput {
  readonly hash: string;
  /** The chaining value after `length` bytes, big-endian words (Midstate.state). */
  readonly state: Buffer;
  /** Bytes hashed into `state`: a whole number of blocks. */
  readonly length: number;
  /** The bytes after the last full block: shorter than one block. */
  readonly tail: Buffer;
  /** v6 keys: the same file hashed after the server-issued salt (salt ‖ file), as chaining
   *  value, length and tail; `state`/`length`/`tail` above stay the file's own hash, whose
   *  digest the log records. */
  readonly salted?: { readonly salt: Buffer; readonly state: Buffer; readonly length: number; readonly tail: Buffer };
}

export interface MidstateSignOptions {
  readonly armor: boolean;
  /** Largest artifact accepted (length + tail), in bytes. */
  readonly maxBytes: number;
  /** Signature creation time, Unix seconds (defaults to now). */
  readonly creationTime?: number;
}

export interface MidstateSigned {
  readonly packet: Buffer;
  readonly armored?: string;
  readonly hashAlgorithm: HashAlgorithm;
  readonly creationTime: number;
  /** The artifact's own digest in the signature's hash (what the log records): the resumed
   *  hash finished before the trailer. The client compares it with its own. */
  readonly artifactDigest: Buffer;
  readonly artifactBytes: number;
}

export async function signMidstate(signer: Signer, input: MidstateInput, options: MidstateSignOptions): Promise<MidstateSigned> {
  const { hash: hashAlgorithm, state, length, tail } = input;
  // A v6 signature hashes a salt before the data (RFC 9580 §5.2.4): the client hashes salt ‖
  // file with a salt the server issued (src/sign/midstate-salt.ts); without it, no v6 midstate.
  if (signer.info.version === 6 && input.salted === undefined) {
    throw new SignetError('KEY_PROFILE_UNSUPPORTED', 'midstate signing with a v6 key needs a server-issued salt (POST /v1/sign/:key/midstate/salt): a v6 signature hashes a salt before the data');
  }
  if (signer.info.version !== 6 && input.salted !== undefined) {
    throw new SignetError('MIDSTATE_INVALID', 'a salted midstate is for v6 keys only');
  }
  if (!isSha2Algorithm(hashAlgorithm) || !MIDSTATE_HASHES[signer.info.algorithm].includes(hashAlgorithm)) {
    throw new SignetError('ALGORITHM_UNSUPPORTED', `a ${signer.info.algorithm} key signs midstates with ${MIDSTATE_HASHES[signer.info.algorithm].join(' or ')}`);
  }
  if (tail.length >= blockBytes(hashAlgorithm)) {
    throw new SignetError('MIDSTATE_INVALID', `the tail must be shorter than the ${hashAlgorithm} block (${blockBytes(hashAlgorithm)} bytes)`);
  }
  const hasher = ResumableSha2.resume({ algorithm: hashAlgorithm, state, length });
  const artifactBytes = length + tail.length;
  if (artifactBytes === 0) throw new SignetError('BODY_EMPTY', 'the artifact is empty');
  if (artifactBytes > options.maxBytes) throw new SignetError('BODY_TOO_LARGE', `the artifact exceeds the limit of ${options.maxBytes} bytes`);

  const creationTime = options.creationTime ?? Math.floor(Date.now() / 1000);
  const hashedArea = signatureHashedArea({ type: 0x00, hashAlgorithm, creationTime, signer: signer.info });
  hasher.update(tail);
  const artifactDigest = hasher.digest();
  let digest: Buffer;
  let salt: Buffer | null = null;
  if (input.salted) {
    const s = input.salted;
    if (s.tail.length >= blockBytes(hashAlgorithm)) throw new SignetError('MIDSTATE_INVALID', 'the salted tail must be shorter than one block');
    // salt ‖ file: exactly the salt's bytes more than the file, and both end with the same bytes.
    if (s.length + s.tail.length !== s.salt.length + artifactBytes) throw new SignetError('MIDSTATE_INVALID', 'the salted length does not match the file length and the salt');
    const overlap = Math.min(s.tail.length, tail.length);
    if (!s.tail.subarray(s.tail.length - overlap).equals(tail.subarray(tail.length - overlap))) throw new SignetError('MIDSTATE_INVALID', 'the salted and unsalted tails differ');
    const salted = ResumableSha2.resume({ algorithm: hashAlgorithm, state: s.state, length: s.length });
    digest = salted.update(s.tail).update(hashedArea).update(signatureTrailer(hashedArea)).digest();
    salt = s.salt;
  } else {
    digest = hasher.update(hashedArea).update(signatureTrailer(hashedArea)).digest();
  }
  const packet = await signFinishedHash(signer, { hashedArea, digest, salt }, hashAlgorithm);
  return {
    packet,
    ...(options.armor ? { armored: armor('SIGNATURE', packet) } : {}),
    hashAlgorithm,
    creationTime,
    artifactDigest,
    artifactBytes,
  };
}
