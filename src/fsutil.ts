// Small file-system helpers shared by the server and the CLI: writes are atomic (temp file,
// fsync, rename, fsync of the directory) so a crash never leaves a half-written file.
import { closeSync, constants, fstatSync, fsyncSync, lstatSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { SignetError } from './errors.js';

export function writeFileAtomic(path: string, data: Uint8Array, mode = 0o644): void {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx', mode);
    let off = 0;
    while (off < data.length) off += writeSync(fd, data, off, data.length - off);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
    syncDirectory(dir);
  } catch (cause) {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // the temp file may not exist
    }
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC' || code === 'EDQUOT') throw new SignetError('DISK_FULL', `no space left to write ${path}`, { cause });
    throw new SignetError('FILE_WRITE_FAILED', `cannot write ${path}: ${code ?? 'error'}`, { cause });
  }
}

export function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Write a command's output to PATH as `gpg -o` does, without ever turning something else into
 * a regular file: /dev/stdout, /dev/stderr and /dev/fd/N are the process's own descriptors; a missing path or a regular file is written atomically (writeFileAtomic); a
 * character device (/dev/null, /dev/stdout, a terminal) or a FIFO is written through, opened
 * without O_CREAT and with O_NOFOLLOW so a path swapped in between cannot redirect the write; a
 * symbolic link is refused, never followed or replaced (a link planted where a signature is
 * written would otherwise aim the write elsewhere, or be silently replaced); a directory,
 * socket or block device is refused.
 */
export function writeOutputFile(path: string, data: Uint8Array, mode = 0o644): void {
  // /dev/stdout, /dev/stderr and /dev/fd/N name this process's own descriptors (through links
  // into /proc): write to the descriptor, as the shell that opened it meant.
  const fdName = /^(?:\/dev\/(stdout|stderr)|\/dev\/fd\/(\d{1,4})|\/proc\/self\/fd\/(\d{1,4}))$/.exec(path);
  if (fdName) {
    const fd = fdName[1] === 'stdout' ? 1 : fdName[1] === 'stderr' ? 2 : Number(fdName[2] ?? fdName[3]);
    try {
      let off = 0;
      while (off < data.length) off += writeSync(fd, data, off, data.length - off);
    } catch (cause) {
      throw new SignetError('FILE_WRITE_FAILED', `cannot write ${path}: ${(cause as NodeJS.ErrnoException).code ?? 'error'}`, { cause });
    }
    return;
  }
  let st;
  try {
    st = lstatSync(path);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      writeFileAtomic(path, data, mode);
      return;
    }
    throw new SignetError('FILE_WRITE_FAILED', `cannot write ${path}: ${code ?? 'error'}`, { cause });
  }
  if (st.isFile()) {
    writeFileAtomic(path, data, mode);
    return;
  }
  if (st.isSymbolicLink()) {
    throw new SignetError('OUTPUT_REFUSED', `${path} is a symbolic link: refusing to follow or replace it (give the link's target, or remove the link)`);
  }
  if (!st.isCharacterDevice() && !st.isFIFO()) {
    throw new SignetError('OUTPUT_REFUSED', `${path} is not a regular file, character device or FIFO: refusing to write to it`);
  }
  let fd: number | undefined;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_NOFOLLOW | constants.O_NOCTTY);
    const opened = fstatSync(fd);
    // The path may have been replaced since lstat: write only to what was checked.
    if (!(opened.isCharacterDevice() || opened.isFIFO()) || opened.dev !== st.dev || opened.ino !== st.ino) {
      throw new SignetError('OUTPUT_REFUSED', `${path} changed while it was opened: refusing to write to it`);
    }
    let off = 0;
    while (off < data.length) off += writeSync(fd, data, off, data.length - off);
  } catch (cause) {
    if (cause instanceof SignetError) throw cause;
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw new SignetError('OUTPUT_REFUSED', `${path} is a symbolic link: refusing to follow or replace it`, { cause });
    throw new SignetError('FILE_WRITE_FAILED', `cannot write ${path}: ${code ?? 'error'}`, { cause });
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
