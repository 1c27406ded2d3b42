// RFC 6962 §2.1 / RFC 9162 §2.1.1 Merkle hashing, named as in transparency-dev/merkle (rfc6962
// package) so a reviewer can diff it against the spec. Sizes and indices are `bigint` throughout:
// JS bit operators are 32-bit, and a log may outgrow 2^32 entries.
import { createHash, hash } from 'node:crypto';

import { SignetError } from '../errors.js';

/** SHA-256 output size; every hash in a proof, tile or checkpoint is exactly this long. */
export const HASH_SIZE = 32;
/** Domain separation (RFC 6962 §2.1): leaves and interior nodes can never collide. */
export const LEAF_PREFIX = 0x00;
export const NODE_PREFIX = 0x01;

// One-shot crypto.hash over a reused scratch buffer costs about half of createHash().update()…
// per call, and `signet log verify` hashes every entry and node of the log (≈2 calls per entry).
// Safe because these functions are synchronous and copy out nothing but the digest.
const MAX_SCRATCH_ENTRY = 65535;
const leafScratch = Buffer.alloc(1 + MAX_SCRATCH_ENTRY);
leafScratch[0] = LEAF_PREFIX;
const nodeScratch = Buffer.alloc(1 + 2 * HASH_SIZE);
nodeScratch[0] = NODE_PREFIX;

/** MTH({d}) = SHA-256(0x00 || d). */
export function hashLeaf(entry: Uint8Array): Buffer {
  if (entry.length > MAX_SCRATCH_ENTRY) {
    return createHash('sha256').update(leafScratch.subarray(0, 1)).update(entry).digest();
  }
  leafScratch.set(entry, 1);
  return hash('sha256', leafScratch.subarray(0, 1 + entry.length), 'buffer');
}

/** SHA-256(0x01 || left || right); both children must be HASH_SIZE bytes. */
export function hashChildren(left: Uint8Array, right: Uint8Array): Buffer {
  if (left.length !== HASH_SIZE || right.length !== HASH_SIZE) {
    throw new RangeError('hashChildren needs two 32-byte hashes');
  }
  nodeScratch.set(left, 1);
  nodeScratch.set(right, 1 + HASH_SIZE);
  return hash('sha256', nodeScratch, 'buffer');
}

// The `…Into` variants write the digest into a caller's buffer: crypto.hash returning a Buffer
// allocates an ArrayBuffer per call, which costs twice the SHA-256 of a small input itself; a
// 32-byte 'binary' (latin1) string — bytes 0-255 as code units, lossless — written with
// Buffer.write does not.
// A million-entry `signet log verify` makes two million of these calls.
const leafViews: Buffer[] = [];

/** Writes MTH({d}) = SHA-256(0x00 || d) into `out` at `offset`. */
export function hashLeafInto(entry: Uint8Array, out: Buffer, offset: number): void {
  if (entry.length > MAX_SCRATCH_ENTRY) {
    if (offset < 0 || hashLeaf(entry).copy(out, offset) !== HASH_SIZE) throw new RangeError('no room for a hash');
    return;
  }
  leafScratch.set(entry, 1);
  const view = (leafViews[entry.length] ??= leafScratch.subarray(0, 1 + entry.length));
  if (out.write(hash('sha256', view, 'binary'), offset, HASH_SIZE, 'latin1') !== HASH_SIZE) throw new RangeError('no room for a hash');
}

/**
 * Writes SHA-256(0x01 || left || right) into `out` at `offset`, where left || right are the 64
 * bytes of `src` at `at` (siblings stored side by side, as in a level of a tree). `out` may be
 * `src` itself: the input is copied before the digest is written.
 */
export function hashPairInto(src: Buffer, at: number, out: Buffer, offset: number): void {
  if (at < 0 || at + 2 * HASH_SIZE > src.length) throw new RangeError('hashPairInto needs two 32-byte hashes');
  src.copy(nodeScratch, 1, at, at + 2 * HASH_SIZE);
  if (out.write(hash('sha256', nodeScratch, 'binary'), offset, HASH_SIZE, 'latin1') !== HASH_SIZE) throw new RangeError('no room for a hash');
}

/** Writes SHA-256(0x01 || left || right) into `out` at `offset` (`out` may hold either child). */
export function hashChildrenInto(left: Uint8Array, right: Uint8Array, out: Buffer, offset: number): void {
  if (left.length !== HASH_SIZE || right.length !== HASH_SIZE) throw new RangeError('hashChildrenInto needs two 32-byte hashes');
  nodeScratch.set(left, 1);
  nodeScratch.set(right, 1 + HASH_SIZE);
  if (out.write(hash('sha256', nodeScratch, 'binary'), offset, HASH_SIZE, 'latin1') !== HASH_SIZE) throw new RangeError('no room for a hash');
}

/**
 * MTH({}) = SHA-256() (RFC 9162 §2.1.1). Go's sumdb/tlog returns an all-zero hash here instead;
 * we follow the RFC and transparency-dev/merkle.
 */
export function emptyRoot(): Buffer {
  return createHash('sha256').digest();
}

/** Throws unless `hash` is exactly one SHA-256 output. */
export function assertHash(hash: Uint8Array, what: string): void {
  if (hash.length !== HASH_SIZE) {
    throw new SignetError('TLOG_PROOF_INVALID', `${what} is ${hash.length} bytes, not ${HASH_SIZE}`);
  }
}

// Bit arithmetic on non-negative bigints (the Go reference uses math/bits on uint64).

/** Number of bits needed to represent n (0 for 0), like Go's bits.Len64. */
export function bitLength(n: bigint): number {
  return n === 0n ? 0 : n.toString(2).length;
}

/** Number of one bits, like Go's bits.OnesCount64. */
export function onesCount(n: bigint): number {
  let count = 0;
  for (const digit of n.toString(2)) if (digit === '1') count++;
  return count;
}

/** Number of trailing zero bits of n > 0, like Go's bits.TrailingZeros64. */
export function trailingZeros(n: bigint): number {
  if (n <= 0n) throw new RangeError('trailingZeros of a non-positive number');
  let count = 0;
  while ((n & 1n) === 0n) {
    n >>= 1n;
    count++;
  }
  return count;
}

/** RFC 9162 §2.1.1 split point: the largest power of two strictly smaller than n (n >= 2). */
export function splitPoint(n: bigint): bigint {
  if (n < 2n) throw new RangeError('splitPoint needs n >= 2');
  return 1n << BigInt(bitLength(n - 1n) - 1);
}
