// Proof verification, RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2 (consistency), step by step, plus
// the edge cases the RFC leaves to the caller (transparency-dev/merkle proof/verify.go):
// equal sizes, the empty tree, size1 > size2, exact proof length, exact hash length.
// Every failure is SignetError TLOG_PROOF_INVALID; nothing here returns a boolean that a caller
// could forget to check.
import { SignetError } from '../errors.js';
import { HASH_SIZE, assertHash, bitLength, emptyRoot, hashChildren, onesCount, trailingZeros } from './rfc6962.js';

function fail(reason: string): never {
  throw new SignetError('TLOG_PROOF_INVALID', reason);
}

function assertProofHashes(proof: readonly Uint8Array[]): void {
  proof.forEach((hash, i) => {
    if (hash.length !== HASH_SIZE) fail(`proof hash ${i} is ${hash.length} bytes, not ${HASH_SIZE}`);
  });
}

function assertSize(name: string, value: bigint): void {
  if (value < 0n || value >= 1n << 64n) fail(`${name} is out of range`);
}

/**
 * Length of a valid inclusion proof for `index` in a tree of `size` (transparency-dev/merkle
 * decompInclProof): `inner` hashes below the point where the leaf's path leaves the perfect
 * subtrees, `border` hashes along the right border.
 */
export function inclusionProofShape(index: bigint, size: bigint): { inner: number; border: number } {
  if (index < 0n || index >= size) fail('index is not below the tree size');
  const inner = bitLength(index ^ (size - 1n));
  const border = onesCount(index >> BigInt(inner));
  return { inner, border };
}

/** Length of a valid consistency proof from size1 to size2 (0 < size1 < size2). */
export function consistencyProofLength(size1: bigint, size2: bigint): number {
  if (!(0n < size1 && size1 < size2)) fail('consistency proof shape needs 0 < size1 < size2');
  const { inner, border } = inclusionProofShape(size1 - 1n, size2);
  const shift = trailingZeros(size1);
  // When size1 is a power of two its root is itself a node of the new tree and is not sent.
  return inner - shift + border + (size1 === 1n << BigInt(shift) ? 0 : 1);
}

/**
 * RFC 9162 §2.1.3.2: the root implied by an inclusion proof. Callers compare it with a root they
 * trust; `verifyInclusion` does both.
 */
export function rootFromInclusionProof(
  leafHash: Uint8Array,
  index: bigint,
  size: bigint,
  proof: readonly Uint8Array[],
): Buffer {
  assertSize('tree size', size);
  assertHash(leafHash, 'leaf hash');
  assertProofHashes(proof);
  // 1. If leaf_index >= tree_size, fail.
  if (index < 0n || index >= size) fail('index is not below the tree size');
  const { inner, border } = inclusionProofShape(index, size);
  if (proof.length !== inner + border) fail(`proof has ${proof.length} hashes, expected ${inner + border}`);
  // 2.-3.
  let fn = index;
  let sn = size - 1n;
  let r: Buffer = Buffer.from(leafHash);
  // 4.
  for (const p of proof) {
    // a.
    if (sn === 0n) fail('proof is longer than the path to the root');
    // b.
    if ((fn & 1n) === 1n || fn === sn) {
      r = hashChildren(p, r);
      if ((fn & 1n) === 0n) {
        while ((fn & 1n) === 0n && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      r = hashChildren(r, p);
    }
    // c.
    fn >>= 1n;
    sn >>= 1n;
  }
  // 5.
  if (sn !== 0n) fail('proof is shorter than the path to the root');
  return r;
}

export function verifyInclusion(
  leafHash: Uint8Array,
  index: bigint,
  size: bigint,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): void {
  assertHash(root, 'root');
  if (!rootFromInclusionProof(leafHash, index, size, proof).equals(root)) fail('inclusion proof does not lead to the root');
}

/** RFC 9162 §2.1.4.2, with the size1 == 0 and size1 == size2 cases made explicit. */
export function verifyConsistency(
  size1: bigint,
  size2: bigint,
  proof: readonly Uint8Array[],
  root1: Uint8Array,
  root2: Uint8Array,
): void {
  assertSize('size1', size1);
  assertSize('size2', size2);
  assertHash(root1, 'root1');
  assertHash(root2, 'root2');
  assertProofHashes(proof);
  if (size1 > size2) fail('size1 is larger than size2');
  if (size1 === size2) {
    // Same tree: nothing to prove, the roots must simply agree.
    if (proof.length !== 0) fail('proof between equal sizes must be empty');
    if (!Buffer.from(root1).equals(root2)) fail('roots of equal sizes differ');
    return;
  }
  if (size1 === 0n) {
    // Every tree extends the empty tree (tlog-witness sends an empty proof for old size 0).
    if (proof.length !== 0) fail('proof from the empty tree must be empty');
    if (!emptyRoot().equals(root1)) fail('root1 of the empty tree is not the empty root');
    return;
  }
  const expected = consistencyProofLength(size1, size2);
  if (proof.length !== expected) fail(`proof has ${proof.length} hashes, expected ${expected}`);

  // 1. If consistency_path is an empty array, stop and fail.
  if (proof.length === 0) fail('consistency proof is empty');
  // 2. If first is an exact power of 2, prepend first_hash to the path.
  const path = (size1 & (size1 - 1n)) === 0n ? [root1, ...proof] : [...proof];
  // 3.
  let fn = size1 - 1n;
  let sn = size2 - 1n;
  // 4. If LSB(fn) is set, right-shift fn and sn equally until LSB(fn) is not set.
  while ((fn & 1n) === 1n) {
    fn >>= 1n;
    sn >>= 1n;
  }
  // 5.
  const [seed, ...rest] = path;
  if (seed === undefined) fail('consistency proof is empty');
  let fr: Buffer = Buffer.from(seed);
  let sr: Buffer = Buffer.from(seed);
  // 6.
  for (const c of rest) {
    // a.
    if (sn === 0n) fail('proof is longer than the path to the root');
    // b.
    if ((fn & 1n) === 1n || fn === sn) {
      fr = hashChildren(c, fr);
      sr = hashChildren(c, sr);
      if ((fn & 1n) === 0n) {
        while ((fn & 1n) === 0n && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      sr = hashChildren(sr, c);
    }
    // c.
    fn >>= 1n;
    sn >>= 1n;
  }
  // 7.
  if (sn !== 0n) fail('proof is shorter than the path to the root');
  if (!fr.equals(root1)) fail('consistency proof does not lead to root1');
  if (!sr.equals(root2)) fail('consistency proof does not lead to root2');
}
