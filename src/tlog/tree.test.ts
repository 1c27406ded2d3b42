import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { isSignetError } from '../errors.js';
import { ReferenceTree } from '../../test/fixtures/tlog/reference-merkle.js';
import { emptyRoot, hashLeaf } from './rfc6962.js';
import { StreamingRoot, streamRoot } from './stream-root.js';
import {
  MemoryTree,
  consistencyProofFrom,
  consistencyProofIndices,
  inclusionProofFrom,
  inclusionProofIndices,
  proveRecord,
  proveRecordAsync,
  proveTree,
  proveTreeAsync,
  splitStoredHashIndex,
  storedHashCount,
  storedHashIndex,
  storedHashes,
  storedHashesAsync,
  treeHash,
  treeHashAsync,
  treeHashFrom,
  treeHashIndices,
} from './tree.js';
import { verifyConsistency, verifyInclusion } from './verify.js';

const entry = (i: number): Buffer => Buffer.from(`signet test entry ${i}`);
const MAX = 320;
const entries = Array.from({ length: MAX }, (_, i) => entry(i));
const reference = new ReferenceTree(entries);

/** An append-only array of stored hashes, filled only through `storedHashes` (as a SQL store would). */
class ArrayHashStore {
  readonly hashes: Buffer[] = [];
  size = 0n;
  readonly read = (indices: readonly bigint[]): Buffer[] =>
    indices.map((i) => {
      const h = this.hashes[Number(i)];
      if (h === undefined) throw new Error(`no stored hash ${i}`);
      return h;
    });

  append(data: Uint8Array): void {
    const added = storedHashes(this.size, hashLeaf(data), this.read);
    this.hashes.push(...added);
    this.size++;
  }
}

const store = new ArrayHashStore();
const memory = new MemoryTree();
for (const e of entries) {
  store.append(e);
  memory.append(e);
}

const hexAll = (hashes: readonly Buffer[]): string[] => hashes.map((h) => h.toString('hex'));

/** popcount-based closed form of Σ_j ⌊m / 2^j⌋ = 2m - popcount(m), independent of the loop in tree.ts. */
function closedFormIndex(level: number, n: bigint): bigint {
  const m = ((n + 1n) << BigInt(level)) - 1n;
  const popcount = BigInt([...m.toString(2)].filter((d) => d === '1').length);
  return 2n * m - popcount + BigInt(level);
}

describe('stored-hash layout (Go sumdb/tlog StoredHashIndex)', () => {
  it('matches the post-order positions of the first records', () => {
    // record 0: L0#0 ; record 1: L0#1, L1#0 ; record 2: L0#2 ; record 3: L0#3, L1#1, L2#0
    expect([storedHashIndex(0, 0n), storedHashIndex(0, 1n), storedHashIndex(1, 0n), storedHashIndex(0, 2n)]).toEqual([0n, 1n, 2n, 3n]);
    expect([storedHashIndex(0, 3n), storedHashIndex(1, 1n), storedHashIndex(2, 0n), storedHashIndex(0, 4n)]).toEqual([4n, 5n, 6n, 7n]);
    expect([0n, 1n, 2n, 3n, 4n, 5n].map(storedHashCount)).toEqual([0n, 1n, 3n, 4n, 7n, 8n]);
  });

  it('is the dense order in which records append their hashes', () => {
    expect(BigInt(store.hashes.length)).toBe(storedHashCount(BigInt(MAX)));
    for (let n = 0n; n < BigInt(MAX); n++) {
      expect(store.hashes[Number(storedHashIndex(0, n))]?.equals(hashLeaf(entry(Number(n))))).toBe(true);
    }
    // A level-l hash is the root of its 2^l leaves.
    for (let level = 1; level <= 8; level++) {
      const n = BigInt(MAX >> level) - 1n;
      const lo = Number(n << BigInt(level));
      const h = store.hashes[Number(storedHashIndex(level, n))] as Buffer;
      expect(h.equals(reference.mth(lo, lo + (1 << level)))).toBe(true);
    }
  });

  it('agrees with the closed form and inverts, far beyond 2^32 (bigint)', () => {
    expect(storedHashIndex(0, 1n << 40n)).toBe((1n << 41n) - 1n);
    expect(storedHashIndex(10, 1n << 30n)).toBe((1n << 41n) + 2045n);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 40 }), fc.bigInt({ min: 0n, max: (1n << 62n) - 1n }), (level, n) => {
        const index = storedHashIndex(level, n >> BigInt(level));
        expect(index).toBe(closedFormIndex(level, n >> BigInt(level)));
        expect(splitStoredHashIndex(index)).toEqual({ level, n: n >> BigInt(level) });
      }),
      { numRuns: 2000 },
    );
    expect(storedHashCount((1n << 50n) + 1n)).toBe(closedFormIndex(0, 1n << 50n) + 1n);
  });

  it('needs O(log n) hashes for a root or proof of a 2^48 + 12345 tree', () => {
    const size = (1n << 48n) + 12345n;
    expect(treeHashIndices(size)).toHaveLength(1 + [...'11000000111001'].filter((d) => d === '1').length);
    const inclusion = inclusionProofIndices(size, 1n << 47n);
    // 48 siblings inside the left 2^48 subtree, plus the right part's root, itself built from
    // its popcount(12345) = 6 complete subtrees.
    expect(inclusion.length).toBe(48 + 6);
    for (const i of inclusion) expect(i).toBeLessThan(storedHashCount(size));
    expect(consistencyProofIndices(size, (1n << 40n) + 3n).length).toBeLessThanOrEqual(2 * 49);
  });
});

describe('differential test against a naive recursive RFC 9162 reference (every size, index and pair up to a bound)', () => {
  it('roots of every size 0..320 (MemoryTree, stored-hash store, streaming root)', () => {
    const stream = new StreamingRoot();
    expect(memory.root(0n).equals(emptyRoot())).toBe(true);
    expect(treeHash(0n, store.read).equals(emptyRoot())).toBe(true);
    expect(stream.root().equals(emptyRoot())).toBe(true);
    for (let size = 1; size <= MAX; size++) {
      stream.push(entries[size - 1] as Buffer);
      const want = reference.mth(0, size).toString('hex');
      expect(memory.root(BigInt(size)).toString('hex')).toBe(want);
      expect(treeHash(BigInt(size), store.read).toString('hex')).toBe(want);
      expect(stream.root().toString('hex')).toBe(want);
    }
    expect(streamRoot(entries).root.equals(reference.mth())).toBe(true);
  });

  it('inclusion proofs for every size 1..320 and every index, and they verify', () => {
    for (let size = 1; size <= MAX; size++) {
      const root = reference.mth(0, size);
      for (let index = 0; index < size; index++) {
        const want = hexAll(reference.path(index, 0, size));
        const fromMemory = memory.inclusionProof(BigInt(index), BigInt(size));
        expect(hexAll(fromMemory)).toEqual(want);
        // 2-phase API, as a SQL store calls it.
        const indices = inclusionProofIndices(BigInt(size), BigInt(index));
        expect(hexAll(inclusionProofFrom(BigInt(size), BigInt(index), store.read(indices)))).toEqual(want);
        verifyInclusion(hashLeaf(entries[index] as Buffer), BigInt(index), BigInt(size), fromMemory, root);
      }
    }
  });

  it('consistency proofs for every pair 1 <= size1 < size2 <= 160, and they verify', () => {
    for (let size2 = 2; size2 <= 160; size2++) {
      const root2 = reference.mth(0, size2);
      for (let size1 = 1; size1 < size2; size1++) {
        const want = hexAll(reference.proof(size1, size2));
        const fromMemory = memory.consistencyProof(BigInt(size1), BigInt(size2));
        expect(hexAll(fromMemory)).toEqual(want);
        const indices = consistencyProofIndices(BigInt(size2), BigInt(size1));
        expect(hexAll(consistencyProofFrom(BigInt(size2), BigInt(size1), store.read(indices)))).toEqual(want);
        verifyConsistency(BigInt(size1), BigInt(size2), fromMemory, reference.mth(0, size1), root2);
      }
    }
  });

  it('random sizes up to 320 (fast-check): generate -> verify round trips, both APIs', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: MAX }).chain((size2) =>
          fc.tuple(fc.constant(size2), fc.integer({ min: 0, max: size2 - 1 }), fc.integer({ min: 0, max: size2 })),
        ),
        ([size2, index, size1]) => {
          const s2 = BigInt(size2);
          const s1 = BigInt(size1);
          expect(hexAll(proveRecord(s2, BigInt(index), store.read))).toEqual(hexAll(reference.path(index, 0, size2)));
          const proof = proveTree(s2, s1, store.read);
          expect(hexAll(proof)).toEqual(size1 === 0 || size1 === size2 ? [] : hexAll(reference.proof(size1, size2)));
          verifyConsistency(s1, s2, proof, reference.mth(0, size1), reference.mth(0, size2));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('async readers give the same results', async () => {
    const read = async (indices: readonly bigint[]): Promise<Buffer[]> => store.read(indices);
    expect((await treeHashAsync(300n, read)).equals(reference.mth(0, 300))).toBe(true);
    expect(hexAll(await proveRecordAsync(300n, 17n, read))).toEqual(hexAll(reference.path(17, 0, 300)));
    expect(hexAll(await proveTreeAsync(300n, 17n, read))).toEqual(hexAll(reference.proof(17, 300)));
    // Record 255 completes subtrees of 2, 4, …, 256 leaves: 1 + 8 hashes, as stored.
    const appended = await storedHashesAsync(255n, hashLeaf(entries[255] as Buffer), read);
    expect(appended).toHaveLength(9);
    expect(hexAll(appended)).toEqual(hexAll(store.hashes.slice(Number(storedHashIndex(0, 255n)), Number(storedHashCount(256n)))));
  });
});

describe('misuse of the tree API', () => {
  const codeOf = (f: () => unknown): string | undefined => {
    try {
      f();
    } catch (e) {
      return isSignetError(e) ? e.code : 'not a SignetError';
    }
    return undefined;
  };

  it('rejects ranges outside the tree', () => {
    expect(codeOf(() => inclusionProofIndices(5n, 5n))).toBe('BAD_REQUEST');
    expect(codeOf(() => inclusionProofIndices(5n, -1n))).toBe('BAD_REQUEST');
    expect(codeOf(() => consistencyProofIndices(5n, 6n))).toBe('BAD_REQUEST');
    expect(codeOf(() => memory.root(BigInt(MAX) + 1n))).toBe('BAD_REQUEST');
    expect(codeOf(() => memory.inclusionProof(0n, BigInt(MAX) + 1n))).toBe('BAD_REQUEST');
  });

  it('refuses to compute from a store that returns the wrong hashes', () => {
    const hashes = store.read(treeHashIndices(300n));
    expect(codeOf(() => treeHashFrom(300n, hashes.slice(1)))).toBe('INTERNAL');
    expect(codeOf(() => treeHashFrom(300n, [...hashes, hashes[0] as Buffer]))).toBe('INTERNAL');
    expect(codeOf(() => treeHashFrom(300n, [Buffer.alloc(31), ...hashes.slice(1)]))).toBe('INTERNAL');
    expect(codeOf(() => treeHash(300n, () => []))).toBe('INTERNAL');
  });
});
