// Integration: extend a tree of `size` records by new leaves, in memory, from the tree's right
// edge alone. The stored hashes a new record needs (the left siblings of the subtrees it
// completes) are either new or one of the perfect subtrees that make up the old tree — exactly
// the hashes at treeHashIndices(size) — so a store reads at most 64 hashes per step, however many
// entries it integrates. Pure (the store runs it between reading the edge and the compare-and-set
// commit); the new hashes are written into one buffer, no allocation per hash.
import { SignetError } from '../errors.js';
import { HASH_SIZE, hashChildrenInto, hashLeafInto } from './rfc6962.js';
import { consistencyProofFrom, consistencyProofIndices, storedHashCount, treeHashFrom, treeHashIndices } from './tree.js';

export interface ExtendedTree {
  readonly size: bigint;
  readonly root: Buffer;
  /** Stored hashes to append, at positions storedHashCount(old size) onwards. */
  readonly hashes: Buffer[];
  /** RFC 9162 consistency proof from the old size to the new one. */
  readonly consistencyProof: Buffer[];
}

export function extendTree(size: bigint, edge: readonly Buffer[], entries: readonly Uint8Array[]): ExtendedTree {
  const edgeIndices = treeHashIndices(size);
  if (edge.length !== edgeIndices.length) throw new SignetError('INTERNAL', 'wrong number of edge hashes');
  const newSize = size + BigInt(entries.length);
  // Stored positions fit a number (a store refuses positions past 2^53); bigint stays at the edges.
  const first = Number(storedHashCount(size));
  const count = Number(storedHashCount(newSize)) - first;
  // The hashes the new root and the consistency proof are made of, by position: old edge hashes
  // or new ones (recorded as they are computed; nothing else is kept in a map).
  const rootIndices = treeHashIndices(newSize);
  const proofIndices = size === 0n || size === newSize ? [] : consistencyProofIndices(newSize, size);
  const wanted = new Map<number, Buffer | undefined>();
  for (const index of [...rootIndices, ...proofIndices]) wanted.set(Number(index), undefined);
  edgeIndices.forEach((index, i) => {
    if (wanted.has(Number(index))) wanted.set(Number(index), edge[i] as Buffer);
  });

  // RFC 9162 §2.1.2 stack: the old tree's perfect subtrees are its edge, left to right (largest
  // first). Appending record n pushes its leaf hash and merges once per trailing one bit of n,
  // and those are exactly the hashes sumdb/tlog stores for n, in order: leaf, level 1, 2, ….
  const stack: Buffer[] = [...edge];
  const out = Buffer.allocUnsafe(count * HASH_SIZE);
  const hashes: Buffer[] = [];
  const emit = (): Buffer => {
    const hash = out.subarray(hashes.length * HASH_SIZE, (hashes.length + 1) * HASH_SIZE);
    const at = first + hashes.length;
    if (wanted.has(at)) wanted.set(at, hash);
    hashes.push(hash);
    return hash;
  };
  let n = size;
  for (const entry of entries) {
    if (hashes.length >= count) throw new SignetError('INTERNAL', 'stored hashes out of order');
    hashLeafInto(entry, out, hashes.length * HASH_SIZE);
    let hash = emit();
    for (let m = n; (m & 1n) === 1n; m >>= 1n) {
      const left = stack.pop();
      if (left === undefined) throw new SignetError('INTERNAL', 'the edge does not match the tree size');
      hashChildrenInto(left, hash, out, hashes.length * HASH_SIZE);
      hash = emit();
    }
    stack.push(hash);
    n++;
  }
  if (hashes.length !== count) throw new SignetError('INTERNAL', 'stored hashes out of order');
  const pick = (indices: readonly bigint[]): Buffer[] =>
    indices.map((index) => {
      const hash = wanted.get(Number(index));
      if (hash === undefined) throw new SignetError('INTERNAL', `stored hash ${index} is not on the tree's edge`);
      return hash;
    });
  return {
    size: newSize,
    root: treeHashFrom(newSize, pick(rootIndices)),
    hashes,
    consistencyProof: proofIndices.length === 0 ? [] : consistencyProofFrom(newSize, size, pick(proofIndices)),
  };
}
