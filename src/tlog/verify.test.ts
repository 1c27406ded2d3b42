import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { isSignetError } from '../errors.js';
import { emptyRoot, hashLeaf } from './rfc6962.js';
import { MemoryTree } from './tree.js';
import { consistencyProofLength, inclusionProofShape, rootFromInclusionProof, verifyConsistency, verifyInclusion } from './verify.js';

interface Vectors {
  leaves: string[];
  roots: string[];
  inclusion: { index: number; size: number; proof: string[] }[];
  consistency: { size1: number; size2: number; proof: string[] }[];
}
const vectors = JSON.parse(
  readFileSync(new URL('../../test/fixtures/tlog/rfc6962-vectors.json', import.meta.url), 'utf8'),
) as Vectors;
const hex = (s: string): Buffer => Buffer.from(s, 'hex');
const leafHashes = vectors.leaves.map((l) => hashLeaf(hex(l)));
const rootOf = (size: number): Buffer => hex(vectors.roots[size - 1] as string);

function expectProofInvalid(check: () => void, description: string): void {
  let error: unknown;
  try {
    check();
  } catch (e) {
    error = e;
  }
  expect(isSignetError(error, 'TLOG_PROOF_INVALID'), `${description} must be rejected`).toBe(true);
}

const SOME_HASH = hex('abacaba000000000000000000000000000000000000000000060061e00123456');
const flipBit = (proof: Buffer[], i: number, mask: number): Buffer[] =>
  proof.map((h, j) => (j === i ? Buffer.from(h.map((b, k) => (k === 0 ? b ^ mask : b))) : h));

/** transparency-dev/merkle corruptInclusionProof, plus extra cases (wrong lengths, swapped and duplicated hashes). */
function inclusionMutations(index: bigint, size: bigint, proof: Buffer[], root: Buffer, leaf: Buffer) {
  const m: [string, bigint, bigint, Buffer[], Buffer, Buffer][] = [
    ['index - 1', index - 1n, size, proof, root, leaf],
    ['index + 1', index + 1n, size, proof, root, leaf],
    ['index ^ 2', index ^ 2n, size, proof, root, leaf],
    ['size * 2', index, size * 2n, proof, root, leaf],
    ['size / 2', index, size / 2n, proof, root, leaf],
    ['index = size', size, size, proof, root, leaf],
    ['wrong leaf', index, size, proof, root, hashLeaf(Buffer.from('WrongLeaf'))],
    ['wrong leaf length', index, size, proof, root, Buffer.from('WrongLeaf')],
    ['empty root', index, size, proof, emptyRoot(), leaf],
    ['random root', index, size, proof, SOME_HASH, leaf],
    ['short root', index, size, proof, root.subarray(0, 31), leaf],
    ['trailing empty', index, size, [...proof, Buffer.alloc(0)], root, leaf],
    ['trailing root', index, size, [...proof, root], root, leaf],
    ['preceding empty', index, size, [Buffer.alloc(0), ...proof], root, leaf],
    ['preceding root', index, size, [root, ...proof], root, leaf],
    ['inserted hash', index, size, [...proof.slice(0, 1), SOME_HASH, ...proof.slice(1)], root, leaf],
  ];
  if (proof.length > 0) {
    m.push(['removed last', index, size, proof.slice(0, -1), root, leaf]);
    m.push(['removed first', index, size, proof.slice(1), root, leaf]);
    m.push(['empty proof', index, size, [], root, leaf]);
    m.push(['33-byte hash', index, size, [Buffer.concat([proof[0] as Buffer, Buffer.of(0)]), ...proof.slice(1)], root, leaf]);
  } else {
    m.push(['non-empty proof for a single-leaf tree', index, size, [SOME_HASH], root, leaf]);
  }
  proof.forEach((_, i) => m.push([`bit flip in proof[${i}]`, index, size, flipBit(proof, i, 8), root, leaf]));
  return m;
}

/** transparency-dev/merkle corruptConsistencyProof, plus extra cases (wrong lengths, swapped and duplicated hashes). */
function consistencyMutations(size1: bigint, size2: bigint, proof: Buffer[], root1: Buffer, root2: Buffer) {
  const m: [string, bigint, bigint, Buffer[], Buffer, Buffer][] = [
    ['size1 - 1', size1 - 1n, size2, proof, root1, root2],
    ['size1 + 1', size1 + 1n, size2, proof, root1, root2],
    ['size1 ^ 2', size1 ^ 2n, size2, proof, root1, root2],
    ['size2 * 2', size1, size2 * 2n, proof, root1, root2],
    ['size2 / 2', size1, size2 / 2n, proof, root1, root2],
    ['size1 > size2', size2, size1, proof, root2, root1],
    ['wrong root1', size1, size2, proof, SOME_HASH, root2],
    ['wrong root2', size1, size2, proof, root1, SOME_HASH],
    ['empty root1', size1, size2, proof, emptyRoot(), root2],
    ['short root1', size1, size2, proof, Buffer.from('WrongRoot'), root2],
    ['short root2', size1, size2, proof, root1, Buffer.from('WrongRoot')],
    ['swapped roots', size1, size2, proof, root2, root1],
    ['empty proof', size1, size2, [], root1, root2],
    ['trailing empty', size1, size2, [...proof, Buffer.alloc(0)], root1, root2],
    ['trailing root1', size1, size2, [...proof, root1], root1, root2],
    ['trailing root2', size1, size2, [...proof, root2], root1, root2],
    ['preceding empty', size1, size2, [Buffer.alloc(0), ...proof], root1, root2],
    ['preceding root1', size1, size2, [root1, ...proof], root1, root2],
    ['preceding root2', size1, size2, [root2, ...proof], root1, root2],
    ['preceding proof[0]', size1, size2, [proof[0] as Buffer, ...proof], root1, root2],
    ['truncated', size1, size2, proof.slice(0, -1), root1, root2],
    ['removed first', size1, size2, proof.slice(1), root1, root2],
    ['inserted hash', size1, size2, [...proof.slice(0, 1), SOME_HASH, ...proof.slice(1)], root1, root2],
    ['33-byte hash', size1, size2, [Buffer.concat([proof[0] as Buffer, Buffer.of(0)]), ...proof.slice(1)], root1, root2],
    ['proof between equal sizes', size2, size2, proof, root2, root2],
    ['proof from the empty tree', 0n, size2, proof, emptyRoot(), root2],
  ];
  proof.forEach((_, i) => m.push([`bit flip in proof[${i}]`, size1, size2, flipBit(proof, i, 16), root1, root2]));
  return m;
}

describe('RFC 6962 known answers (transparency-dev/merkle verify_test.go)', () => {
  it.each(vectors.inclusion)('inclusion of index $index in size $size', ({ index, size, proof }) => {
    const hashes = proof.map(hex);
    const leaf = leafHashes[index] as Buffer;
    expect(rootFromInclusionProof(leaf, BigInt(index), BigInt(size), hashes).equals(rootOf(size))).toBe(true);
    verifyInclusion(leaf, BigInt(index), BigInt(size), hashes, rootOf(size));
    for (const [description, i, s, p, r, l] of inclusionMutations(BigInt(index), BigInt(size), hashes, rootOf(size), leaf)) {
      expectProofInvalid(() => verifyInclusion(l, i, s, p, r), description);
    }
  });

  it.each(vectors.consistency)('consistency $size1 -> $size2', ({ size1, size2, proof }) => {
    const hashes = proof.map(hex);
    verifyConsistency(BigInt(size1), BigInt(size2), hashes, rootOf(size1), rootOf(size2));
    for (const [description, s1, s2, p, r1, r2] of consistencyMutations(BigInt(size1), BigInt(size2), hashes, rootOf(size1), rootOf(size2))) {
      expectProofInvalid(() => verifyConsistency(s1, s2, p, r1, r2), description);
    }
  });
});

describe('edge cases RFC 9162 leaves to the caller', () => {
  const root1 = rootOf(1);
  const root2 = rootOf(2);

  it('accepts equal sizes with an empty proof and equal roots, rejects anything else', () => {
    verifyConsistency(5n, 5n, [], rootOf(5), rootOf(5));
    verifyConsistency(0n, 0n, [], emptyRoot(), emptyRoot());
    expectProofInvalid(() => verifyConsistency(1n, 1n, [], root1, root2), 'equal sizes, different roots');
    expectProofInvalid(() => verifyConsistency(1n, 1n, [emptyRoot()], root1, root1), 'equal sizes, non-empty proof');
    expectProofInvalid(() => verifyConsistency(0n, 0n, [emptyRoot()], emptyRoot(), emptyRoot()), 'size 0, non-empty proof');
  });

  it('treats every tree as an extension of the empty tree, with an empty proof only', () => {
    verifyConsistency(0n, 8n, [], emptyRoot(), rootOf(8));
    expectProofInvalid(() => verifyConsistency(0n, 1n, [emptyRoot()], emptyRoot(), root1), 'size 0, non-empty proof');
    // A size-0 "root" other than SHA-256() is not an RFC 9162 root (Go sumdb uses zeros).
    expectProofInvalid(() => verifyConsistency(0n, 1n, [], Buffer.alloc(32), root1), 'size 0, zero root');
  });

  it('rejects time travel and empty proofs for growth', () => {
    expectProofInvalid(() => verifyConsistency(1n, 0n, [], root1, emptyRoot()), '1 -> 0');
    expectProofInvalid(() => verifyConsistency(2n, 1n, [], root2, root1), '2 -> 1');
    expectProofInvalid(() => verifyConsistency(1n, 2n, [], root1, root2), '1 -> 2 without proof');
  });

  it('rejects any inclusion in the empty tree and indices at or past the size', () => {
    for (const [index, size] of [[0n, 0n], [1n, 0n], [1n, 1n], [2n, 1n], [-1n, 1n]] as const) {
      expectProofInvalid(() => verifyInclusion(SOME_HASH, index, size, [], emptyRoot()), `${index} in ${size}`);
    }
  });

  it('checks a single-leaf tree (root = leaf hash) and hash lengths', () => {
    const leaf = hashLeaf(Buffer.from('data'));
    verifyInclusion(leaf, 0n, 1n, [], leaf);
    expectProofInvalid(() => verifyInclusion(leaf, 0n, 1n, [], Buffer.alloc(0)), 'empty root');
    expectProofInvalid(() => verifyInclusion(Buffer.alloc(0), 0n, 1n, [], leaf), 'empty leaf hash');
  });

  it('rejects sizes beyond 2^64', () => {
    expectProofInvalid(() => verifyInclusion(SOME_HASH, 0n, 1n << 64n, [], SOME_HASH), 'size 2^64');
  });
});

describe('proof mutation suite over sizes 1..64: every corrupted proof is refused', () => {
  const tree = new MemoryTree();
  for (let i = 0; i < 64; i++) tree.append(Buffer.from(`entry ${i}`));

  it('rejects every mutation of every inclusion proof', () => {
    let checked = 0;
    for (let size = 1n; size <= 64n; size++) {
      const root = tree.root(size);
      for (let index = 0n; index < size; index++) {
        const proof = tree.inclusionProof(index, size);
        const leaf = tree.leafHash(index);
        verifyInclusion(leaf, index, size, proof, root);
        for (const [description, i, s, p, r, l] of inclusionMutations(index, size, proof, root, leaf)) {
          expectProofInvalid(() => verifyInclusion(l, i, s, p, r), `${description} (index ${index}, size ${size})`);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(30_000);
  });

  it('rejects every mutation of every consistency proof', () => {
    for (let size2 = 2n; size2 <= 64n; size2++) {
      const root2 = tree.root(size2);
      for (let size1 = 1n; size1 < size2; size1++) {
        const proof = tree.consistencyProof(size1, size2);
        const root1 = tree.root(size1);
        verifyConsistency(size1, size2, proof, root1, root2);
        for (const [description, s1, s2, p, r1, r2] of consistencyMutations(size1, size2, proof, root1, root2)) {
          expectProofInvalid(() => verifyConsistency(s1, s2, p, r1, r2), `${description} (${size1} -> ${size2})`);
        }
      }
    }
  });
});

describe('proof shape for sizes above 2^32', () => {
  it('computes inner + border with bigint arithmetic', () => {
    const size = (1n << 40n) + 5n;
    // The last leaf: its path runs along the right border of 2^40 + 4 + 1.
    expect(inclusionProofShape(size - 1n, size)).toEqual({ inner: 0, border: 2 });
    expect(inclusionProofShape(0n, size)).toEqual({ inner: 41, border: 0 });
    expect(inclusionProofShape(1n << 33n, size)).toEqual({ inner: 41, border: 0 });
    expect(inclusionProofShape((1n << 40n) + 1n, size)).toEqual({ inner: 3, border: 1 });
    expect(consistencyProofLength(1n << 40n, size)).toBe(1);
    expect(consistencyProofLength((1n << 40n) - 1n, size)).toBe(42);
  });
});
