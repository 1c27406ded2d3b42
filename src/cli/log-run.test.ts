import { describe, expect, it } from 'vitest';
import type { SignetClient } from '../client/client.js';
import { SignetError } from '../errors.js';
import { encodeEntryBundle, encodeTile, parseTilePath, tileHashIndices } from '../tlog/tiles.js';
import { MemoryTree } from '../tlog/tree.js';
import { onlineSource } from './log-run.js';
import { verifyEntries } from './log-verify.js';

const ORIGIN = 'test.example/log';

/** A server's tile endpoints over `served` entries, whose stored tree is `tree`. */
function tileClient(served: Buffer[], tree: MemoryTree, requested: string[] = []): SignetClient {
  return {
    async request(method: string, path: string) {
      requested.push(path);
      const tile = parseTilePath(path.replace('/v1/log/', ''));
      const first = Number(tile.index) * 256;
      if (tile.kind === 'entries') {
        if (first + tile.width > served.length) throw new SignetError('NOT_FOUND', 'no such entry bundle');
        return { status: 200, headers: {}, body: encodeEntryBundle(served.slice(first, first + tile.width)) };
      }
      return { status: 200, headers: {}, body: encodeTile(tree.readHashes(tileHashIndices(tile))) };
    },
  } as unknown as SignetClient;
}

describe('online verify reads entry bundles (tlog-tiles)', () => {
  const size = 600; // bundles 0 and 1 full, bundle 2 partial (88)
  const entries = Array.from({ length: size }, (_, i) => Buffer.from(`entry ${i}`));
  const tree = new MemoryTree();
  for (const e of entries) tree.append(e);
  const checkpoint = { origin: ORIGIN, size: BigInt(size), root: tree.root() };

  it('recomputes the root from full and partial bundles, fetching only what the checkpoint implies', async () => {
    const requested: string[] = [];
    const result = await verifyEntries(onlineSource(tileClient(entries, tree, requested), BigInt(size)), checkpoint, { origin: ORIGIN, size: 257n, root: tree.root(257n) });
    expect(result.root.equals(tree.root())).toBe(true);
    expect(requested.sort()).toEqual(['/v1/log/tile/entries/000', '/v1/log/tile/entries/001', '/v1/log/tile/entries/002.p/88']);
  });

  it('names the first edited entry in a full bundle, and a missing bundle', async () => {
    const edited = [...entries];
    edited[300] = Buffer.from('forged');
    edited[599] = Buffer.from('forged too');
    await expect(verifyEntries(onlineSource(tileClient(edited, tree), BigInt(size)), checkpoint)).rejects.toMatchObject({
      code: 'TLOG_VERIFY_FAILED',
      message: expect.stringMatching(/entry 300\b/),
    });
    await expect(verifyEntries(onlineSource(tileClient(entries.slice(0, 512), tree), BigInt(size)), checkpoint)).rejects.toMatchObject({
      code: 'TLOG_VERIFY_FAILED',
      message: expect.stringMatching(/entry 512\b/),
    });
  });
});
