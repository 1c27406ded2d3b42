import { describe, expect, it } from 'vitest';
import { MemoryTree, storedHashIndex } from '../tlog/tree.js';
import { verifyEntries, type EntrySource } from './log-verify.js';

const ORIGIN = 'test.example/log';

function source(entries: Buffer[], tree: MemoryTree): EntrySource {
  return {
    pageSize: 5000,
    async readEntries(start, end) {
      return entries.slice(Number(start), Number(end));
    },
    async readLeafHashes(start, end) {
      const out: Buffer[] = [];
      for (let i = start; i < end; i++) out.push(tree.readHashes([storedHashIndex(0, i)])[0] as Buffer);
      return out;
    },
  };
}

describe('verifyEntries (chunked roots)', () => {
  const size = 2 * 65536 + 37;
  const entries = Array.from({ length: size }, (_, i) => Buffer.from(`entry ${i}`));
  const tree = new MemoryTree();
  for (const e of entries) tree.append(e);

  it('recomputes the root across chunk boundaries and checks saved checkpoints of any size', async () => {
    for (const savedSize of [0n, 1n, 65535n, 65536n, 65537n, 131072n, BigInt(size)]) {
      const result = await verifyEntries(source(entries, tree), { origin: ORIGIN, size: BigInt(size), root: tree.root() }, { origin: ORIGIN, size: savedSize, root: tree.root(savedSize) });
      expect(result.root.equals(tree.root())).toBe(true);
    }
    const smaller = 70000n;
    expect((await verifyEntries(source(entries.slice(0, 70000), tree), { origin: ORIGIN, size: smaller, root: tree.root(smaller) })).root.equals(tree.root(smaller))).toBe(true);
  });

  it('names the first edited entry and refuses a saved checkpoint from a fork', async () => {
    const edited = [...entries];
    edited[70001] = Buffer.from('forged');
    edited[90000] = Buffer.from('forged too');
    await expect(verifyEntries(source(edited, tree), { origin: ORIGIN, size: BigInt(size), root: tree.root() })).rejects.toMatchObject({
      code: 'TLOG_VERIFY_FAILED',
      message: expect.stringMatching(/entry 70001\b/),
    });
    const fork = new MemoryTree();
    fork.append(Buffer.from('other'));
    await expect(
      verifyEntries(source(entries, tree), { origin: ORIGIN, size: BigInt(size), root: tree.root() }, { origin: ORIGIN, size: 1n, root: fork.root() }),
    ).rejects.toMatchObject({ code: 'TLOG_INCONSISTENT' });
    await expect(
      verifyEntries(source(entries, tree), { origin: ORIGIN, size: 10n, root: tree.root(10n) }, { origin: ORIGIN, size: 11n, root: tree.root(11n) }),
    ).rejects.toMatchObject({ code: 'TLOG_INCONSISTENT' });
  });

  it('refuses a source that returns more entries than the checkpoint covers', async () => {
    const padded: EntrySource = { ...source(entries, tree), readEntries: async (start, end) => entries.slice(Number(start), Number(end) + 1) };
    await expect(verifyEntries(padded, { origin: ORIGIN, size: 10n, root: tree.root(10n) })).rejects.toMatchObject({ code: 'TLOG_VERIFY_FAILED' });
  });
});
