// Strict parser for one RPM header structure: magic, index, data store (rpm lib/header.c
// hdrblobInit, hdrblobVerifyRegion, hdrblobVerifyInfo). Stricter than rpm where rpm is lenient
// without need: duplicate tags, entries outside the region and misplaced signature tags are
// refused instead of resolved first-wins or last-wins (docs/formats.md "File layout").
import { Buffer } from 'node:buffer';
import { ByteCursor } from './cursor.js';
import { malformed } from './malformed.js';
import {
  RPM_MAX_TYPE,
  RPM_MIN_TYPE,
  RpmType,
  SIGNATURE_HEADER_TAG_TYPES,
  Tag,
  isSignatureTagInMainHeader,
  typeAlignment,
  typeSize,
} from './tags.js';

/** `8E AD E8 01` then 4 reserved zero bytes (header.c rpm_header_magic). */
export const HEADER_MAGIC = Buffer.from([0x8e, 0xad, 0xe8, 0x01, 0x00, 0x00, 0x00, 0x00]);
/** magic (8) + entry count (4) + data size (4). */
export const HEADER_PREAMBLE_SIZE = 16;
export const INDEX_ENTRY_SIZE = 16;
/** A region entry's data is a copy of an index entry: its trailer. */
const REGION_TRAILER_SIZE = 16;

/** rpm's own caps (hdrblobVerifyLengths, HEADER_ARRAY_MAX) and ours on top. */
export const MAX_SIGNATURE_HEADER_ENTRIES = 32;
export const MAX_HEADER_ENTRIES = 0xffff;
export const MAX_ARRAY_COUNT = 0xfffff;
/** Default cap on one header's size (index + data): 64 MiB, rpm's signature-header limit. */
export const DEFAULT_MAX_HEADER_BYTES = 64 * 1024 * 1024;

export type RegionTag = typeof Tag.HEADERSIGNATURES | typeof Tag.HEADERIMMUTABLE;

export interface RpmHeaderIndexEntry {
  tag: number;
  type: number;
  /** Offset into the data store; the region entry's offset points at its trailer. */
  offset: number;
  count: number;
  /** Bytes of data the entry occupies (strings: through the last NUL). */
  length: number;
}

export interface ParsedHeader {
  /** In file order: the region entry first, then the entries it covers. */
  entries: RpmHeaderIndexEntry[];
  /** The data store (zero-copy view). */
  data: Buffer;
  /** The whole header from its magic through its data, exactly as read (zero-copy view). */
  bytes: Buffer;
  /** 62 for a signature header, 63 for a main header; parsing requires the region. */
  regionTag: RegionTag;
}

export interface ParseHeaderOptions {
  isSignatureHeader: boolean;
  /** Cap on index + data bytes; default DEFAULT_MAX_HEADER_BYTES. */
  maxBytes?: number;
}

export interface HeaderSize {
  entryCount: number;
  dataSize: number;
  /** Preamble + index + data. */
  totalSize: number;
}

/**
 * Read and cap the 16-byte preamble. Needs only those 16 bytes, so a client can learn how much
 * more to read before it reads it.
 */
export function readHeaderSize(bytes: Uint8Array, offset: number, opts: ParseHeaderOptions): HeaderSize {
  const which = opts.isSignatureHeader ? 'signature header' : 'main header';
  const cursor = new ByteCursor(bytes).seek(offset, which);
  const magic = cursor.block(HEADER_MAGIC.length, `${which} magic`);
  if (!magic.equals(HEADER_MAGIC)) throw malformed(`${which}: bad magic ${magic.toString('hex')}`);
  const entryCount = cursor.uint32(`${which} entry count`);
  const dataSize = cursor.uint32(`${which} data size`);
  const maxEntries = opts.isSignatureHeader ? MAX_SIGNATURE_HEADER_ENTRIES : MAX_HEADER_ENTRIES;
  if (entryCount < 1 || entryCount > maxEntries) {
    throw malformed(`${which}: entry count ${entryCount} out of range 1..${maxEntries}`);
  }
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_HEADER_BYTES;
  const indexAndData = entryCount * INDEX_ENTRY_SIZE + dataSize;
  if (indexAndData > maxBytes) {
    throw malformed(`${which}: ${indexAndData} bytes of index and data exceed the limit of ${maxBytes}`);
  }
  if (dataSize < REGION_TRAILER_SIZE) throw malformed(`${which}: data size ${dataSize} cannot hold a region trailer`);
  return { entryCount, dataSize, totalSize: HEADER_PREAMBLE_SIZE + indexAndData };
}

export function parseHeader(bytes: Uint8Array, offset: number, opts: ParseHeaderOptions): ParsedHeader {
  const which = opts.isSignatureHeader ? 'signature header' : 'main header';
  const size = readHeaderSize(bytes, offset, opts);
  const cursor = new ByteCursor(bytes).seek(offset, which);
  // Bounds-checked once: the index and the data below are read inside `whole` only.
  const whole = cursor.block(size.totalSize, which);
  const indexStart = HEADER_PREAMBLE_SIZE;
  const dataStart = indexStart + size.entryCount * INDEX_ENTRY_SIZE;
  const data = whole.subarray(dataStart);
  const regionTag: RegionTag = opts.isSignatureHeader ? Tag.HEADERSIGNATURES : Tag.HEADERIMMUTABLE;

  // The index through a DataView: its big-endian reads are V8 builtins, fast before the JIT has
  // warmed up (a CLI parses each header once), unlike Buffer's readUInt32BE.
  const index = new DataView(whole.buffer, whole.byteOffset, whole.byteLength);
  // Offsets are int32 on disk; only a region trailer may hold a negative one.
  const region = {
    tag: index.getUint32(indexStart),
    type: index.getUint32(indexStart + 4),
    offset: index.getInt32(indexStart + 8),
    count: index.getUint32(indexStart + 12),
  };
  checkRegion(which, regionTag, region, data, size);

  const entries: RpmHeaderIndexEntry[] = [{ tag: region.tag, type: region.type, offset: region.offset, count: region.count, length: REGION_TRAILER_SIZE }];
  const seen = new Set<number>();
  // Data of the covered entries ends where the trailer starts (hdrblobVerifyInfo: entries may
  // not overlap the trailer).
  const dataEnd = size.dataSize - REGION_TRAILER_SIZE;
  let previousEnd = 0;
  // The error text names the entry; it is built only when an entry is refused.
  const bad = (i: number, tag: number, reason: string) => malformed(`${which}: entry ${i} (tag ${tag}): ${reason}`);
  for (let i = 1; i < size.entryCount; i++) {
    const at = indexStart + i * INDEX_ENTRY_SIZE;
    const tag = index.getUint32(at);
    const type = index.getUint32(at + 4);
    const entryOffset = index.getInt32(at + 8);
    const count = index.getUint32(at + 12);
    if (tag === Tag.HEADERIMAGE || tag === Tag.HEADERSIGNATURES || tag === Tag.HEADERIMMUTABLE) {
      throw bad(i, tag, 'region tag is not the first entry');
    }
    if (tag < Tag.HEADERI18NTABLE) throw bad(i, tag, 'reserved tag below 100');
    if (seen.has(tag)) throw bad(i, tag, 'duplicate tag');
    seen.add(tag);
    if (opts.isSignatureHeader) {
      const expected = SIGNATURE_HEADER_TAG_TYPES.get(tag);
      if (expected === undefined) throw bad(i, tag, 'tag not allowed in a signature header');
      if (expected !== type) throw bad(i, tag, `type ${type}, expected ${expected}`);
    } else if (isSignatureTagInMainHeader(tag)) {
      throw bad(i, tag, 'signature tag in the main header');
    }
    if (type < RPM_MIN_TYPE || type > RPM_MAX_TYPE) throw bad(i, tag, `unknown type ${type}`);
    if (count < 1 || count > size.dataSize) throw bad(i, tag, `count ${count} out of range`);
    if (type !== RpmType.BIN && count > MAX_ARRAY_COUNT) throw bad(i, tag, `count ${count} too large`);
    if (entryOffset < 0) throw bad(i, tag, `negative offset ${entryOffset}`);
    if (entryOffset > dataEnd) throw bad(i, tag, `offset ${entryOffset} beyond data size ${dataEnd}`);
    if (entryOffset % typeAlignment(type) !== 0) throw bad(i, tag, `offset ${entryOffset} misaligned for type ${type}`);
    if (entryOffset < previousEnd) throw bad(i, tag, `offset ${entryOffset} overlaps the previous entry`);
    const length = dataLength(which, i, tag, type, count, data, entryOffset, dataEnd);
    previousEnd = entryOffset + length;
    entries.push({ tag, type, offset: entryOffset, count, length });
  }

  return { entries, data, bytes: whole, regionTag };
}

/**
 * The region entry comes first, its 16-byte trailer ends the data store, and the trailer's
 * negative offset covers the whole index: in package files rpm requires ril == il and
 * rdl == dl (hdrblobVerifyRegion with exact_size), so no entry lives outside the region.
 */
function checkRegion(
  which: string,
  regionTag: RegionTag,
  region: { tag: number; type: number; offset: number; count: number },
  data: Buffer,
  size: HeaderSize,
): void {
  if (region.tag !== regionTag) {
    throw malformed(`${which}: first entry has tag ${region.tag}, expected region tag ${regionTag}`);
  }
  if (region.type !== RpmType.BIN || region.count !== REGION_TRAILER_SIZE) {
    throw malformed(`${which}: region entry has type ${region.type} count ${region.count}, expected 7 and 16`);
  }
  if (region.offset !== size.dataSize - REGION_TRAILER_SIZE) {
    throw malformed(`${which}: region trailer at ${region.offset}, expected at the end of the data (${size.dataSize - REGION_TRAILER_SIZE})`);
  }
  const trailer = new ByteCursor(data).seek(region.offset, `${which} region trailer`);
  const tag = trailer.uint32(`${which} region trailer`);
  const type = trailer.uint32(`${which} region trailer`);
  const offset = trailer.int32(`${which} region trailer`);
  const count = trailer.uint32(`${which} region trailer`);
  // rpm fixes up old signature headers whose trailer says HEADERIMAGE (hdrblobVerifyRegion).
  const tagOk = tag === regionTag || (regionTag === Tag.HEADERSIGNATURES && tag === Tag.HEADERIMAGE);
  if (!tagOk || type !== RpmType.BIN || count !== REGION_TRAILER_SIZE) {
    throw malformed(`${which}: region trailer is (${tag}, ${type}, ${offset}, ${count}), expected (${regionTag}, 7, …, 16)`);
  }
  const expected = -(size.entryCount * INDEX_ENTRY_SIZE);
  if (offset !== expected) {
    throw malformed(`${which}: region trailer offset ${offset} does not match the index of ${size.entryCount} entries (${expected})`);
  }
}

const typedIndexOf = Uint8Array.prototype.indexOf;

/** header.c dataLength/strtaglen, bounded by `end`: strings need their NULs inside the data. */
function dataLength(which: string, i: number, tag: number, type: number, count: number, data: Buffer, offset: number, end: number): number {
  const where = () => `${which}: entry ${i} (tag ${tag})`;
  if (type === RpmType.STRING && count !== 1) throw malformed(`${where()}: STRING with count ${count}`);
  const size = typeSize(type);
  if (size > 0) {
    const length = size * count;
    if (offset + length > end) throw malformed(`${where()}: ${length} bytes at ${offset} run past the data (${end})`);
    return length;
  }
  let position = offset;
  for (let found = 0; found < count; found++) {
    // Uint8Array's indexOf is a V8 builtin; Buffer's goes through a native binding per call.
    const nul = typedIndexOf.call(data, 0, position);
    if (nul < 0 || nul >= end) {
      throw malformed(
        type === RpmType.STRING
          ? `${where()}: STRING without NUL inside the data`
          : `${where()}: count ${count} exceeds the ${found} NUL-terminated strings inside the data`,
      );
    }
    position = nul + 1;
  }
  return position - offset;
}

export function findEntry(header: ParsedHeader, tag: number): RpmHeaderIndexEntry | undefined {
  // Index 0 is the region entry; tags are unique (parseHeader refuses duplicates).
  for (let i = 1; i < header.entries.length; i++) {
    const e = header.entries[i]!;
    if (e.tag === tag) return e;
  }
  return undefined;
}

export function entryBytes(header: ParsedHeader, entry: RpmHeaderIndexEntry): Buffer {
  return header.data.subarray(entry.offset, entry.offset + entry.length);
}

function expectType(header: ParsedHeader, entry: RpmHeaderIndexEntry, type: number): void {
  if (entry.type !== type) throw malformed(`tag ${entry.tag} has type ${entry.type}, expected ${type}`);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeString(tag: number, bytes: Buffer): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw malformed(`tag ${tag}: string is not valid UTF-8`);
  }
}

export function readString(header: ParsedHeader, tag: number): string | null {
  const entry = findEntry(header, tag);
  if (entry === undefined) return null;
  expectType(header, entry, RpmType.STRING);
  return decodeString(tag, entryBytes(header, entry).subarray(0, entry.length - 1));
}

export function readStringArray(header: ParsedHeader, tag: number): string[] | null {
  const entry = findEntry(header, tag);
  if (entry === undefined) return null;
  expectType(header, entry, RpmType.STRING_ARRAY);
  const bytes = entryBytes(header, entry);
  const strings: string[] = [];
  let start = 0;
  for (let i = 0; i < entry.count; i++) {
    const nul = bytes.indexOf(0, start);
    strings.push(decodeString(tag, bytes.subarray(start, nul)));
    start = nul + 1;
  }
  return strings;
}

export function readInt32(header: ParsedHeader, tag: number): number[] | null {
  const entry = findEntry(header, tag);
  if (entry === undefined) return null;
  expectType(header, entry, RpmType.INT32);
  const bytes = entryBytes(header, entry);
  const values: number[] = [];
  for (let i = 0; i < entry.count; i++) values.push(bytes.readUInt32BE(i * 4));
  return values;
}
