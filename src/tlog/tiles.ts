// C2SP tlog-tiles (c2sp.org/tlog-tiles): the log as static, immutable files.
//   tile/<L>/<N>[.p/<W>]        256 hashes (8 KiB) of level L, tile index N; partial if W < 256
//   tile/entries/<N>[.p/<W>]    entry bundle: the entries behind level-0 tile N
// A level-L tile holds Merkle nodes of height 8L: hash i of tile N at level L is
// MTH(D[(N·256 + i)·256^L : (N·256 + i + 1)·256^L]), i.e. the stored hash
// storedHashIndex(8L, N·256 + i), so a tile is one batched read from the stored-hash store.
import { SignetError } from '../errors.js';
import { decodeUint64, isUint64 } from './encoding.js';
import { HASH_SIZE } from './rfc6962.js';
import { storedHashIndex } from './tree.js';

export const TILE_HEIGHT = 8;
export const TILE_WIDTH = 1 << TILE_HEIGHT;
export const MAX_TILE_LEVEL = 63;
/** Entry bundles use uint16 length prefixes. */
export const MAX_ENTRY_BYTES = 0xffff;

export interface Tile {
  /** 0..63; level L holds Merkle nodes of height 8L. */
  readonly level: number;
  readonly index: bigint;
  /** 1..256; below 256 the tile is partial. */
  readonly width: number;
}

export type TilePath = ({ readonly kind: 'hashes' } & Tile) | { readonly kind: 'entries'; readonly index: bigint; readonly width: number };

function invalidPath(message: string): never {
  throw new SignetError('NOT_FOUND', message);
}

function checkTile(level: number, index: bigint, width: number): void {
  if (!Number.isInteger(level) || level < 0 || level > MAX_TILE_LEVEL) throw new RangeError('tile level must be 0..63');
  if (!isUint64(index)) throw new RangeError('tile index out of range');
  if (!Number.isInteger(width) || width < 1 || width > TILE_WIDTH) throw new RangeError('tile width must be 1..256');
}

/** N as zero-padded 3-digit path elements, all but the last prefixed "x": 1234067 -> x001/x234/067. */
function formatTileIndex(index: bigint): string {
  const digits = index.toString();
  const groups: string[] = [];
  for (let end = digits.length; end > 0; end -= 3) groups.unshift(digits.slice(Math.max(0, end - 3), end).padStart(3, '0'));
  return groups.map((group, i) => (i < groups.length - 1 ? `x${group}` : group)).join('/');
}

const suffix = (width: number): string => (width === TILE_WIDTH ? '' : `.p/${width}`);

export function tilePath(level: number, index: bigint, width: number = TILE_WIDTH): string {
  checkTile(level, index, width);
  return `tile/${level}/${formatTileIndex(index)}${suffix(width)}`;
}

export function entriesPath(index: bigint, width: number = TILE_WIDTH): string {
  checkTile(0, index, width);
  return `tile/entries/${formatTileIndex(index)}${suffix(width)}`;
}

/**
 * Strict inverse of tilePath/entriesPath: exactly one spelling per tile (no leading "x000", no
 * leading zeros in L or W, W in 1..255), so a cache or file system never sees aliases.
 * Anything else is NOT_FOUND, as an HTTP handler would answer.
 */
export function parseTilePath(path: string): TilePath {
  const elements = path.split('/');
  if (elements[0] !== 'tile' || elements.length < 3) invalidPath('not a tile path');
  const levelElement = elements[1] as string;
  let rest = elements.slice(2);
  let width = TILE_WIDTH;
  const last = rest[rest.length - 1] as string;
  if (rest.length >= 2 && (rest[rest.length - 2] as string).endsWith('.p')) {
    if (!/^[1-9][0-9]{0,2}$/.test(last) || Number(last) >= TILE_WIDTH) invalidPath('malformed partial tile width');
    width = Number(last);
    rest = rest.slice(0, -1);
    rest[rest.length - 1] = (rest[rest.length - 1] as string).slice(0, -'.p'.length);
  }
  if (rest.length > 7) invalidPath('tile index too long');
  let digits = '';
  rest.forEach((element, i) => {
    const pattern = i < rest.length - 1 ? /^x[0-9]{3}$/ : /^[0-9]{3}$/;
    if (!pattern.test(element)) invalidPath('malformed tile index');
    digits += element.replace('x', '');
  });
  if (rest.length > 1 && rest[0] === 'x000') invalidPath('tile index has leading zeros');
  const index = decodeUint64(digits.replace(/^0+(?=.)/, ''));
  if (index === undefined) invalidPath('tile index out of range');
  if (levelElement === 'entries') return { kind: 'entries', index, width };
  if (!/^(?:0|[1-9][0-9]?)$/.test(levelElement) || Number(levelElement) > MAX_TILE_LEVEL) invalidPath('malformed tile level');
  return { kind: 'hashes', level: Number(levelElement), index, width };
}

const levelSpan = (level: number): bigint => 1n << BigInt(TILE_HEIGHT * level);

/**
 * Which tiles a tree of `size` has, per level: `fullTiles` full tiles (indices 0..fullTiles-1) and,
 * if `partialWidth` > 0, one partial tile of that width at index `fullTiles`. For 70000:
 * L0 273 full + 112 wide, L1 1 full + 17 wide, L2 a 1-wide partial.
 */
export function tilesAtSize(size: bigint): { level: number; fullTiles: bigint; partialWidth: number }[] {
  if (!isUint64(size)) throw new RangeError('tree size out of range');
  const levels = [];
  for (let level = 0; size / levelSpan(level) > 0n; level++) {
    const nodes = size / levelSpan(level);
    levels.push({ level, fullTiles: nodes / BigInt(TILE_WIDTH), partialWidth: Number(nodes % BigInt(TILE_WIDTH)) });
  }
  return levels;
}

/** Tiles to (re)write when the tree grows from oldSize to newSize (Go tlog.NewTiles). */
export function newTiles(oldSize: bigint, newSize: bigint): Tile[] {
  if (!isUint64(oldSize) || !isUint64(newSize) || oldSize > newSize) throw new RangeError('tree sizes out of order');
  const tiles: Tile[] = [];
  const width = BigInt(TILE_WIDTH);
  for (let level = 0; newSize / levelSpan(level) > 0n; level++) {
    const oldNodes = oldSize / levelSpan(level);
    const newNodes = newSize / levelSpan(level);
    if (oldNodes === newNodes) continue;
    for (let index = oldNodes / width; index < newNodes / width; index++) tiles.push({ level, index, width: TILE_WIDTH });
    const partialWidth = Number(newNodes % width);
    if (partialWidth > 0) tiles.push({ level, index: newNodes / width, width: partialWidth });
  }
  return tiles;
}

/** Stored-hash indices of a tile's hashes, in tile order. */
export function tileHashIndices(tile: Tile): bigint[] {
  checkTile(tile.level, tile.index, tile.width);
  const first = tile.index * BigInt(TILE_WIDTH);
  return Array.from({ length: tile.width }, (_, i) => storedHashIndex(TILE_HEIGHT * tile.level, first + BigInt(i)));
}

export function encodeTile(hashes: readonly Buffer[]): Buffer {
  if (hashes.length < 1 || hashes.length > TILE_WIDTH) throw new RangeError('a tile holds 1..256 hashes');
  if (hashes.some((h) => h.length !== HASH_SIZE)) throw new RangeError('tile hashes must be 32 bytes');
  return Buffer.concat(hashes);
}

export function decodeTile(tile: Buffer, width: number = TILE_WIDTH): Buffer[] {
  if (!Number.isInteger(width) || width < 1 || width > TILE_WIDTH || tile.length !== width * HASH_SIZE) {
    throw new SignetError('TLOG_PROOF_INVALID', 'tile has the wrong size');
  }
  return Array.from({ length: width }, (_, i) => Buffer.from(tile.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE)));
}

/** Concatenated uint16-BE-length-prefixed entries (tlog-tiles "entry bundles"). */
export function encodeEntryBundle(entries: readonly Uint8Array[]): Buffer {
  if (entries.length < 1 || entries.length > TILE_WIDTH) throw new RangeError('a bundle holds 1..256 entries');
  let total = 0;
  for (const entry of entries) {
    if (entry.length > MAX_ENTRY_BYTES) throw new SignetError('TLOG_ENTRY_MALFORMED', 'entry exceeds 65535 bytes');
    total += 2 + entry.length;
  }
  // One allocation (a bundle is served per request: no Buffer per length prefix).
  const bundle = Buffer.allocUnsafe(total);
  let offset = 0;
  for (const entry of entries) {
    offset = bundle.writeUInt16BE(entry.length, offset);
    bundle.set(entry, offset);
    offset += entry.length;
  }
  return bundle;
}

/**
 * Strict: every byte belongs to an entry, at most 256 entries, and exactly `width` if given.
 * Entries are copies unless `views` (then they share the bundle's memory: no copy per entry).
 */
export function decodeEntryBundle(bundle: Buffer, width?: number, views = false): Buffer[] {
  const entries: Buffer[] = [];
  let offset = 0;
  while (offset < bundle.length) {
    if (entries.length === TILE_WIDTH) throw new SignetError('TLOG_ENTRY_MALFORMED', 'entry bundle has more than 256 entries');
    if (offset + 2 > bundle.length) throw new SignetError('TLOG_ENTRY_MALFORMED', 'entry bundle truncated in a length');
    const length = bundle.readUInt16BE(offset);
    offset += 2;
    if (offset + length > bundle.length) throw new SignetError('TLOG_ENTRY_MALFORMED', 'entry bundle truncated in an entry');
    const entry = bundle.subarray(offset, offset + length);
    entries.push(views ? entry : Buffer.from(entry));
    offset += length;
  }
  if (entries.length === 0 || (width !== undefined && entries.length !== width)) {
    throw new SignetError('TLOG_ENTRY_MALFORMED', 'entry bundle has the wrong number of entries');
  }
  return entries;
}
