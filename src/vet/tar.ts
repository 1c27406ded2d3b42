// A strict, bounded tar reader for release tarballs (`git archive`, sdist): POSIX ustar with pax
// extended headers (POSIX.1-2008 "pax Interchange Format") and GNU long names, optionally gzip.
// Written here rather than shelling out to tar/bsdtar so the refusals are ours and the same on
// every system: GNU tar's safety depends on options (--no-same-owner, and it follows symlinks
// already extracted unless told otherwise), bsdtar's on its build. What is refused:
// - a path that is absolute, has a `..` component, an empty or `.git` component, a NUL, or is not UTF-8;
// - a symbolic link whose target is absolute or climbs out of the tree from where it stands;
// - a path that goes through a symbolic link extracted before it (writing through a link);
// - hard links, devices, FIFOs, sockets, and any type other than file, directory, symlink;
// - the same path twice; more than MAX_ENTRIES entries, more than maxBytes of content,
//   a header that does not checksum, and a gzip stream that inflates past the bound.
// The reader fills a plain map; the vetting step writes it out itself (extract below), creating
// every file with O_EXCL | O_NOFOLLOW so nothing it writes can land outside the directory.
import { constants, mkdirSync, openSync, closeSync, writeSync, symlinkSync, lstatSync } from 'node:fs';
import { join, posix } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { SignetError } from '../errors.js';

export interface TarEntry {
  /** '/'-separated, relative, normalised (no `.` components, no trailing slash). */
  readonly path: string;
  readonly type: 'file' | 'dir' | 'symlink';
  /** Permission bits from the header. */
  readonly mode: number;
  readonly data?: Buffer;
  readonly target?: string;
}

export interface TarLimits {
  /** Most bytes of file content, and of the gzip stream inflated. */
  readonly maxBytes: number;
  readonly maxEntries: number;
}

export const DEFAULT_TAR_LIMITS: TarLimits = { maxBytes: 2 * 1024 * 1024 * 1024, maxEntries: 200_000 };

function unsafe(message: string): never {
  throw new SignetError('ARCHIVE_UNSAFE', message);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function field(block: Buffer, offset: number, length: number): string {
  const raw = block.subarray(offset, offset + length);
  const nul = raw.indexOf(0);
  const bytes = nul === -1 ? raw : raw.subarray(0, nul);
  try {
    return utf8.decode(bytes);
  } catch {
    return unsafe('a tar header field is not UTF-8');
  }
}

function octal(block: Buffer, offset: number, length: number): number {
  const raw = block.subarray(offset, offset + length);
  if ((raw[0]! & 0x80) !== 0) unsafe('base-256 numbers in tar headers are not accepted');
  const text = raw.toString('latin1').replace(/[\0 ]+$/, '').replace(/^ +/, '');
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) unsafe('a tar header number is not octal');
  return parseInt(text, 8);
}

function checksumOk(block: Buffer): boolean {
  const stored = octal(block, 148, 8);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
  return sum === stored;
}

/** pax records: "LEN key=value\n" (POSIX.1-2008, pax "Extended Header"). */
function paxRecords(data: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    if (space === -1) unsafe('a pax header is malformed');
    const len = Number(data.subarray(at, space).toString('latin1'));
    if (!Number.isSafeInteger(len) || len <= 0 || at + len > data.length) unsafe('a pax header is malformed');
    let record: string;
    try {
      record = utf8.decode(data.subarray(space + 1, at + len - 1));
    } catch {
      return unsafe('a pax header is not UTF-8');
    }
    const eq = record.indexOf('=');
    if (eq === -1 || data[at + len - 1] !== 0x0a) unsafe('a pax header is malformed');
    out.set(record.slice(0, eq), record.slice(eq + 1));
    at += len;
  }
  return out;
}

/** A member path made relative and normalised, or refused. */
export function safePath(raw: string): string {
  if (raw.includes('\0')) unsafe('a path holds a NUL byte');
  if (raw.startsWith('/')) unsafe(`absolute path ${JSON.stringify(raw.slice(0, 200))}`);
  const parts = raw.split('/').filter((p, i, all) => !(p === '' && i === all.length - 1) && p !== '.');
  if (parts.length === 0) return '';
  for (const p of parts) {
    if (p === '') unsafe(`empty path component in ${JSON.stringify(raw.slice(0, 200))}`);
    if (p === '..') unsafe(`path ${JSON.stringify(raw.slice(0, 200))} climbs out of the tree`);
    // git never lists a `.git` entry in status: one in the tarball would be invisible to the check.
    if (p.toLowerCase() === '.git') unsafe(`path ${JSON.stringify(raw.slice(0, 200))} holds a .git component`);
  }
  return parts.join('/');
}

/** Whether a symlink at `path` pointing at `target` stays inside the tree. */
function linkStaysInside(path: string, target: string): boolean {
  if (target === '' || target.startsWith('/') || target.includes('\0')) return false;
  const resolved = posix.normalize(posix.join(posix.dirname(path), target));
  return resolved !== '..' && !resolved.startsWith('../') && !posix.isAbsolute(resolved);
}

/** Read a tar (or gzip-compressed tar) completely into memory, refusing anything unsafe. */
export function readTar(input: Buffer, limits: TarLimits = DEFAULT_TAR_LIMITS): TarEntry[] {
  let tar = input;
  if (input.length >= 2 && input[0] === 0x1f && input[1] === 0x8b) {
    try {
      tar = gunzipSync(input, { maxOutputLength: limits.maxBytes + 64 * 1024 * 1024 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') unsafe(`the tarball inflates past ${limits.maxBytes} bytes`);
      unsafe('the gzip stream is corrupt');
    }
  }
  const entries: TarEntry[] = [];
  const seen = new Set<string>();
  const links = new Set<string>();
  let total = 0;
  let at = 0;
  let pax: Map<string, string> | undefined;
  let longName: string | undefined;
  let longLink: string | undefined;
  for (;;) {
    if (at + 512 > tar.length) unsafe('the tar stream ends without its end-of-archive blocks');
    const block = tar.subarray(at, at + 512);
    at += 512;
    if (block.every((b) => b === 0)) break;
    if (!checksumOk(block)) unsafe(`tar header at byte ${at - 512} does not checksum`);
    const magic = block.subarray(257, 263).toString('latin1');
    if (magic !== 'ustar\0' && magic !== 'ustar ') unsafe('not a ustar/pax tar stream');
    const type = String.fromCharCode(block[156]!);
    let size = octal(block, 124, 12);
    if (pax?.has('size')) size = Number(pax.get('size'));
    if (!Number.isSafeInteger(size) || size < 0) unsafe('a tar member size is invalid');
    const dataEnd = at + size;
    if (dataEnd > tar.length) unsafe('a tar member runs past the end of the stream');
    const data = tar.subarray(at, dataEnd);
    at += Math.ceil(size / 512) * 512;
    if (type === 'g') continue; // pax global header (git archive: the commit id)
    if (type === 'x') {
      pax = paxRecords(data);
      continue;
    }
    if (type === 'L' || type === 'K') {
      const value = field(data, 0, data.length);
      if (type === 'L') longName = value;
      else longLink = value;
      continue;
    }
    const prefix = magic === 'ustar\0' ? field(block, 345, 155) : '';
    const name = pax?.get('path') ?? longName ?? (prefix ? `${prefix}/${field(block, 0, 100)}` : field(block, 0, 100));
    const linkName = pax?.get('linkpath') ?? longLink ?? field(block, 157, 100);
    pax = undefined;
    longName = undefined;
    longLink = undefined;
    const path = safePath(name);
    if (entries.length >= limits.maxEntries) unsafe(`more than ${limits.maxEntries} entries`);
    const mode = octal(block, 100, 8) & 0o7777;
    // Nothing may go through a symlink extracted before it.
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      if (links.has(parts.slice(0, i).join('/'))) unsafe(`path ${JSON.stringify(path)} goes through the symbolic link ${parts.slice(0, i).join('/')}`);
    }
    if (path === '') {
      if (type !== '5') unsafe('a member with an empty path');
      continue;
    }
    if (seen.has(path) && type !== '5') unsafe(`path ${JSON.stringify(path)} appears twice`);
    if (type === '0' || type === '\0' || type === '7') {
      seen.add(path);
      total += size;
      if (total > limits.maxBytes) unsafe(`more than ${limits.maxBytes} bytes of content`);
      entries.push({ path, type: 'file', mode, data: Buffer.from(data) });
    } else if (type === '5') {
      if (seen.has(path) && entries.find((e) => e.path === path)?.type !== 'dir') unsafe(`path ${JSON.stringify(path)} appears twice`);
      if (!seen.has(path)) entries.push({ path, type: 'dir', mode });
      seen.add(path);
    } else if (type === '2') {
      if (!linkStaysInside(path, linkName)) unsafe(`symbolic link ${JSON.stringify(path)} points outside the tree (${JSON.stringify(linkName.slice(0, 200))})`);
      seen.add(path);
      links.add(path);
      entries.push({ path, type: 'symlink', mode, target: linkName });
    } else if (type === '1') {
      unsafe(`hard link ${JSON.stringify(path)}: hard links are not accepted`);
    } else {
      unsafe(`member ${JSON.stringify(path)} is of tar type ${JSON.stringify(type)}: only files, directories and symbolic links are accepted`);
    }
  }
  return entries;
}

/** Strip the one top-level directory every entry is under (`git archive --prefix=name-1.0/`). */
export function stripTopDirectory(entries: readonly TarEntry[]): { prefix: string; entries: TarEntry[] } {
  const tops = new Set(entries.map((e) => e.path.split('/')[0]!));
  if (tops.size !== 1) return { prefix: '', entries: [...entries] };
  const top = [...tops][0]!;
  const topEntry = entries.find((e) => e.path === top);
  if (topEntry !== undefined && topEntry.type !== 'dir') return { prefix: '', entries: [...entries] };
  const rest = entries.filter((e) => e.path !== top).map((e) => ({ ...e, path: e.path.slice(top.length + 1) }));
  return { prefix: top, entries: rest };
}

/** Write entries under `dir` (which must exist and be empty). Files are created with O_EXCL and
 *  O_NOFOLLOW; directories are made before their files; symlinks last, so none is written through. */
export function extract(dir: string, entries: readonly TarEntry[]): void {
  const ensureDir = (rel: string): void => {
    if (rel === '' || rel === '.') return;
    const abs = join(dir, ...rel.split('/'));
    try {
      const st = lstatSync(abs);
      if (!st.isDirectory()) unsafe(`${JSON.stringify(rel)} is both a file and a directory`);
      return;
    } catch (err) {
      if (err instanceof SignetError) throw err;
    }
    ensureDir(posix.dirname(rel));
    mkdirSync(abs, { mode: 0o755 });
  };
  for (const e of entries) if (e.type === 'dir') ensureDir(e.path);
  for (const e of entries) {
    if (e.type !== 'file') continue;
    ensureDir(posix.dirname(e.path));
    const abs = join(dir, ...e.path.split('/'));
    // Only the executable bit matters to git; keep files private to the vetting user.
    const fd = openSync(abs, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, e.mode & 0o111 ? 0o755 : 0o644);
    try {
      writeSync(fd, e.data!);
    } finally {
      closeSync(fd);
    }
  }
  for (const e of entries) {
    if (e.type !== 'symlink') continue;
    ensureDir(posix.dirname(e.path));
    symlinkSync(e.target!, join(dir, ...e.path.split('/')));
  }
}
