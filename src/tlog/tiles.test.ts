import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { isSignetError } from '../errors.js';
import { hashChildren, hashLeaf } from './rfc6962.js';
import {
  decodeEntryBundle,
  decodeTile,
  encodeEntryBundle,
  encodeTile,
  entriesPath,
  newTiles,
  parseTilePath,
  tileHashIndices,
  tilePath,
  tilesAtSize,
} from './tiles.js';
import { MemoryTree } from './tree.js';

/** Root of a full tile: hash its 256 hashes up 8 levels. */
function tileRoot(hashes: Buffer[]): Buffer {
  let level = hashes;
  while (level.length > 1) {
    const next: Buffer[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(hashChildren(level[i] as Buffer, level[i + 1] as Buffer));
    level = next;
  }
  return level[0] as Buffer;
}

describe('tile paths (c2sp.org/tlog-tiles)', () => {
  it.each([
    [0, 0n, 256, 'tile/0/000'],
    [0, 1234067n, 256, 'tile/0/x001/x234/067'],
    [1, 999n, 256, 'tile/1/999'],
    [2, 1000n, 17, 'tile/2/x001/000.p/17'],
    [63, 18446744073709551615n, 1, 'tile/63/x018/x446/x744/x073/x709/x551/615.p/1'],
  ])('level %i index %s width %i -> %s', (level, index, width, path) => {
    expect(tilePath(level, index, width)).toBe(path);
    expect(parseTilePath(path)).toEqual({ kind: 'hashes', level, index, width });
  });

  it('formats and parses entry bundle paths', () => {
    expect(entriesPath(1234067n)).toBe('tile/entries/x001/x234/067');
    expect(entriesPath(273n, 112)).toBe('tile/entries/273.p/112');
    expect(parseTilePath('tile/entries/273.p/112')).toEqual({ kind: 'entries', index: 273n, width: 112 });
  });

  it('round-trips any tile (fast-check)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 63 }), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.integer({ min: 1, max: 256 }), (level, index, width) => {
        expect(parseTilePath(tilePath(level, index, width))).toEqual({ kind: 'hashes', level, index, width });
        expect(parseTilePath(entriesPath(index, width))).toEqual({ kind: 'entries', index, width });
      }),
    );
  });

  it.each([
    'tile/0/x000/067', // leading zero group
    'tile/0/67',
    'tile/0/0067',
    'tile/0/x001/x234',
    'tile/0/001/234',
    'tile/00/067',
    'tile/64/067',
    'tile/-1/067',
    'tile/0/067.p/256',
    'tile/0/067.p/0',
    'tile/0/067.p/017',
    'tile/0/067.p',
    'tile/0/067.p/',
    'tile/0/067/',
    'tile/0//067',
    '/tile/0/067',
    'tiles/0/067',
    'tile/8/0/067', // sumdb form with height
    'tile/data/067',
    'tile/entries',
    'tile/0/x018/x446/x744/x073/x709/x551/616', // 2^64
    'tile/0/x001/x001/x001/x001/x001/x001/x001/001',
    'tile/0/x0a1/067',
  ])('rejects %s', (path) => {
    let error: unknown;
    try {
      parseTilePath(path);
    } catch (e) {
      error = e;
    }
    expect(isSignetError(error, 'NOT_FOUND')).toBe(true);
  });
});

describe('which tiles exist at a tree size', () => {
  it('matches the spec example s = 70000 and s = 256', () => {
    expect(tilesAtSize(70000n)).toEqual([
      { level: 0, fullTiles: 273n, partialWidth: 112 },
      { level: 1, fullTiles: 1n, partialWidth: 17 },
      { level: 2, fullTiles: 0n, partialWidth: 1 },
    ]);
    expect(tilesAtSize(256n)).toEqual([
      { level: 0, fullTiles: 1n, partialWidth: 0 },
      { level: 1, fullTiles: 0n, partialWidth: 1 },
    ]);
    expect(tilesAtSize(0n)).toEqual([]);
    expect(tilesAtSize(1n << 40n).map((l) => l.level)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('lists the tiles to write as a log grows', () => {
    expect(newTiles(0n, 70000n)).toHaveLength(273 + 1 + 1 + 1 + 1);
    expect(newTiles(70000n, 70000n)).toEqual([]);
    // 70000 -> 70100: L0 tile 273 grows from 112 to 212 wide; L1/L2 unchanged (273 -> 273 nodes).
    expect(newTiles(70000n, 70100n)).toEqual([{ level: 0, index: 273n, width: 212 }]);
    // 70100 -> 70200: tile 273 completes (full) and tile 274 starts; L1 tile 1 gains a node.
    expect(newTiles(70100n, 70200n)).toEqual([
      { level: 0, index: 273n, width: 256 },
      { level: 0, index: 274n, width: 56 },
      { level: 1, index: 1n, width: 18 },
    ]);
  });

  it('builds tiles from stored hashes: level-1 hashes are roots of full level-0 tiles', () => {
    const tree = new MemoryTree();
    for (let i = 0; i < 70000; i++) tree.appendLeafHash(hashLeaf(Buffer.from(`e${i}`)));
    const tiles = new Map<string, Buffer[]>();
    for (const tile of newTiles(0n, 70000n)) {
      const bytes = encodeTile(tree.readHashes(tileHashIndices(tile)));
      tiles.set(tilePath(tile.level, tile.index, tile.width), decodeTile(bytes, tile.width));
    }
    expect(tiles.get('tile/0/000')?.[0]?.equals(hashLeaf(Buffer.from('e0')))).toBe(true);
    expect(tiles.get('tile/0/273.p/112')?.[111]?.equals(hashLeaf(Buffer.from('e69999')))).toBe(true);
    const level1 = [...(tiles.get('tile/1/000') as Buffer[]), ...(tiles.get('tile/1/001.p/17') as Buffer[])];
    expect(level1).toHaveLength(273);
    level1.forEach((hash, i) => {
      const index = String(i).padStart(3, '0');
      expect(hash.equals(tileRoot(tiles.get(`tile/0/${index}`) as Buffer[])), `L1 hash ${i}`).toBe(true);
    });
    // The L2 partial tile's only hash is the root of the first 65536 leaves.
    expect(tiles.get('tile/2/000.p/1')?.[0]?.equals(tree.root(65536n))).toBe(true);
  });
});

describe('entry bundles', () => {
  it('round-trips, including empty and 65535-byte entries', () => {
    const entries = [Buffer.alloc(0), Buffer.from('a'), Buffer.alloc(65535, 7)];
    const bundle = encodeEntryBundle(entries);
    expect(bundle.subarray(0, 5)).toEqual(Buffer.from([0, 0, 0, 1, 0x61]));
    expect(decodeEntryBundle(bundle, 3)).toEqual(entries);
    // Views share the bundle's memory; copies do not.
    const views = decodeEntryBundle(bundle, 3, true);
    expect(views).toEqual(entries);
    expect(views[1]?.buffer).toBe(bundle.buffer);
    expect(decodeEntryBundle(bundle, 3)[1]?.buffer).not.toBe(bundle.buffer);
  });

  it('rejects oversized entries, truncation, trailing bytes and wrong counts', () => {
    const code = (f: () => unknown): string | undefined => {
      try {
        f();
      } catch (e) {
        return isSignetError(e) ? e.code : 'other';
      }
      return undefined;
    };
    const bundle = encodeEntryBundle([Buffer.from('one'), Buffer.from('two')]);
    expect(code(() => encodeEntryBundle([Buffer.alloc(65536)]))).toBe('TLOG_ENTRY_MALFORMED');
    expect(code(() => decodeEntryBundle(bundle.subarray(0, -1)))).toBe('TLOG_ENTRY_MALFORMED');
    expect(code(() => decodeEntryBundle(Buffer.concat([bundle, Buffer.of(0)])))).toBe('TLOG_ENTRY_MALFORMED');
    expect(code(() => decodeEntryBundle(bundle, 3))).toBe('TLOG_ENTRY_MALFORMED');
    expect(code(() => decodeEntryBundle(Buffer.alloc(0)))).toBe('TLOG_ENTRY_MALFORMED');
    expect(code(() => decodeEntryBundle(Buffer.alloc(2 * 257)))).toBe('TLOG_ENTRY_MALFORMED');
    expect(decodeEntryBundle(Buffer.alloc(2 * 256))).toHaveLength(256);
    expect(code(() => decodeTile(Buffer.alloc(32 * 255), 256))).toBe('TLOG_PROOF_INVALID');
  });
});
