// Writing a set of files that belong together (a metadata file and its signatures): every
// content is written and fsynced to a temp file first, then the renames follow one another and
// the directory is synced once. A failure before the renames changes nothing. Readers that need
// the whole set switched at once read through `signet publish` (a symlink swap).
import { closeSync, constants, fstatSync, fsyncSync, openSync, readFileSync, readSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { SignetError } from '../errors.js';
import { syncDirectory } from '../fsutil.js';

export interface FileContent {
  readonly path: string;
  readonly data: Uint8Array;
}

function writeError(path: string, cause: unknown): SignetError {
  if (cause instanceof SignetError) return cause;
  const code = (cause as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return new SignetError('DISK_FULL', `no space left to write ${path}`, { cause });
  return new SignetError('FILE_WRITE_FAILED', `cannot write ${path}: ${code ?? 'error'}`, { cause });
}

export function writeFilesAtomic(files: readonly FileContent[], mode = 0o644): void {
  const temps: { tmp: string; path: string }[] = [];
  try {
    for (const f of files) {
      const tmp = join(dirname(f.path), `.${basename(f.path)}.${randomBytes(6).toString('hex')}.tmp`);
      const fd = openSync(tmp, 'wx', mode);
      temps.push({ tmp, path: f.path });
      try {
        let off = 0;
        while (off < f.data.length) off += writeSync(fd, f.data, off, f.data.length - off);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
    for (const t of temps) renameSync(t.tmp, t.path);
    for (const dir of new Set(temps.map((t) => dirname(t.path)))) syncDirectory(dir);
  } catch (cause) {
    for (const t of temps) {
      try {
        unlinkSync(t.tmp);
      } catch {
        // renamed already, or never created
      }
    }
    throw writeError(temps.at(-1)?.path ?? files[0]?.path ?? '', cause);
  }
}

/** Reads a regular file of at most `maxBytes`, with FILE_UNREADABLE / BODY_TOO_LARGE errors. */
export function readFileLimited(path: string, maxBytes: number): Buffer {
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new SignetError('FILE_UNREADABLE', `${path} is not a regular file`);
    if (st.size > maxBytes) throw new SignetError('BODY_TOO_LARGE', `${path} is larger than ${maxBytes} bytes`);
    return readFileSync(path);
  } catch (err) {
    if (err instanceof SignetError) throw err;
    throw new SignetError('FILE_UNREADABLE', `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

/**
 * Reads a file that is about to be signed and published: a regular file, never through a
 * symbolic link (a Release linked to a private 0600 file would otherwise be sent to the server
 * and written back 0644 beside its signatures), opened without blocking (a FIFO is refused, not
 * waited on), at most `maxBytes`.
 */
export function readSigningInput(path: string, maxBytes: number): Buffer {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw new SignetError('FILE_UNREADABLE', `${path} is a symbolic link; sign the file itself`);
    throw new SignetError('FILE_UNREADABLE', `cannot read ${path}: ${code ?? 'error'}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new SignetError('FILE_UNREADABLE', `${path} is not a regular file`);
    if (st.size > maxBytes) throw new SignetError('BODY_TOO_LARGE', `${path} is larger than ${maxBytes} bytes`);
    const out = Buffer.alloc(st.size);
    let off = 0;
    while (off < out.length) {
      const n = readSync(fd, out, off, out.length - off, off);
      if (n === 0) break;
      off += n;
    }
    return out.subarray(0, off);
  } finally {
    closeSync(fd);
  }
}

