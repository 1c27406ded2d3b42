import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { extendTree } from './integrate.js';
import { MemoryTree, storedHashCount, treeHashIndices } from './tree.js';
import { verifyConsistency } from './verify.js';

describe('extendTree', () => {
  it('matches a MemoryTree for every split of the first 70 sizes, proofs included', () => {
    const entries = Array.from({ length: 70 }, (_, i) => randomBytes(1 + (i % 9)));
    const full = new MemoryTree();
    for (const e of entries) full.append(e);
    for (let old = 0; old <= 70; old += 1) {
      for (const added of [0, 1, 2, 3, 5, 8, 13, 70 - old]) {
        const end = old + added;
        if (end > 70) continue;
        const oldSize = BigInt(old);
        const edge = full.readHashes(treeHashIndices(oldSize));
        const ext = extendTree(oldSize, edge, entries.slice(old, end));
        expect(ext.size).toBe(BigInt(end));
        expect(ext.root.equals(full.root(BigInt(end)))).toBe(true);
        const positions = Array.from({ length: ext.hashes.length }, (_, i) => storedHashCount(oldSize) + BigInt(i));
        expect(Buffer.concat(full.readHashes(positions)).equals(Buffer.concat(ext.hashes))).toBe(true);
        expect(storedHashCount(BigInt(end)) - storedHashCount(oldSize)).toBe(BigInt(ext.hashes.length));
        if (old > 0 && end > old) verifyConsistency(oldSize, BigInt(end), ext.consistencyProof, full.root(oldSize), ext.root);
      }
    }
  });

  it('matches a MemoryTree across larger steps (past 2^10, ragged edges)', () => {
    const entries = Array.from({ length: 2600 }, (_, i) => Buffer.from(`entry ${i}`));
    const full = new MemoryTree();
    for (const e of entries) full.append(e);
    for (const [old, end] of [[1023, 1024], [1000, 2600], [1024, 2049], [2047, 2599], [0, 2600]] as const) {
      const oldSize = BigInt(old);
      const ext = extendTree(oldSize, full.readHashes(treeHashIndices(oldSize)), entries.slice(old, end));
      expect(ext.root.equals(full.root(BigInt(end)))).toBe(true);
      const positions = Array.from({ length: ext.hashes.length }, (_, i) => storedHashCount(oldSize) + BigInt(i));
      expect(Buffer.concat(full.readHashes(positions)).equals(Buffer.concat(ext.hashes))).toBe(true);
      if (old > 0) {
        expect(Buffer.concat(ext.consistencyProof).equals(Buffer.concat(full.consistencyProof(oldSize, BigInt(end))))).toBe(true);
      }
    }
  });

  it('refuses an edge of the wrong length', () => {
    expect(() => extendTree(3n, [], [Buffer.from('x')])).toThrow(expect.objectContaining({ code: 'INTERNAL' }));
  });
});
