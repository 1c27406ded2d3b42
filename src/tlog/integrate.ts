// Integration: extend a tree of `size` records by new leaves, in memory, from the tree's right
// edge alone. The stored hashes a new record needs (the left siblings of the subtrees it
// completes) are either new or one of the perfect subtrees that make up the old tree — exactly
// the hashes at treeHashIndices(size) — so a store reads at most 64 hashes per step, however many
// entries it integrates. Pure: the store runs it inside its integration transaction.
import { SignetError } from '../errors.js';
import { hashLeaf } from './rfc6962.js';
import { proveTree, storedHashCount, storedHashIndex, storedHashes, treeHash, treeHashIndices, type HashReader } from './tree.js';

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
  const known = new Map<bigint, Buffer>();
  edgeIndices.forEach((index, i) => known.set(index, edge[i] as Buffer));
  const read: HashReader = (indices) =>
    indices.map((index) => {
      const hash = known.get(index);
      if (hash === undefined) throw new SignetError('INTERNAL', `stored hash ${index} is not on the tree's edge`);
      return hash;
    });

  const first = storedHashCount(size);
  const hashes: Buffer[] = [];
  for (let i = 0; i < entries.length; i++) {
    const n = size + BigInt(i);
    const position = storedHashIndex(0, n);
    if (position !== first + BigInt(hashes.length)) throw new SignetError('INTERNAL', 'stored hashes out of order');
    const added = storedHashes(n, hashLeaf(entries[i] as Uint8Array), read);
    added.forEach((hash, j) => known.set(position + BigInt(j), hash));
    hashes.push(...added);
  }
  const newSize = size + BigInt(entries.length);
  return {
    size: newSize,
    root: treeHash(newSize, read),
    hashes,
    consistencyProof: size === 0n || size === newSize ? [] : proveTree(newSize, size, read),
  };
}
