// `signet sums DIR`: SHA256SUMS in sha256sum's format plus an armored detached signature.
// Every file is opened without following a link and without blocking, and must be the regular
// file (same inode) that was listed: a file swapped for a link to a private file, or for a FIFO,
// between listing and hashing is an error, never a digest of something else in the signed list,
// never a hang. The signature is verified against the key before anything is written, and the
// two files are written as one set (both reach the disk before either is renamed into place).
import { createHash } from 'node:crypto';
import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, readdirSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { Readable } from 'node:stream';
import { SignetError } from '../errors.js';
import { writeFilesAtomic } from '../repo/files.js';
import { wantProgress, withClient, type GlobalOptions } from './common.js';

const SUMS = 'SHA256SUMS';
const OWN_FILES = new Set([SUMS, `${SUMS}.asc`, `${SUMS}.sig`, `${SUMS}.gpg`]);

export interface SumsResult {
  sums: string;
  signature: string;
  files: number;
  bytes: number;
  key: string;
  fingerprint: string;
}

export interface ListedFile {
  /** '/'-separated, relative to the directory. */
  readonly path: string;
  readonly ino: number;
  readonly size: number;
}

export function listReleaseFiles(dir: string, recursive: boolean): ListedFile[] {
  const out: ListedFile[] = [];
  const walk = (d: string): void => {
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch (err) {
      throw new SignetError('FILE_UNREADABLE', `cannot read directory ${d}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.name.startsWith('.')) continue;
      if (e.isDirectory()) {
        if (recursive) walk(p);
      } else if (e.isFile() && !(d === dir && OWN_FILES.has(e.name))) {
        const st = lstatSync(p);
        if (st.isFile()) out.push({ path: relative(dir, p).split(sep).join('/'), ino: st.ino, size: st.size });
      }
    }
  };
  walk(dir);
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** SHA-256 of the regular file that was listed as `file`, read through one descriptor. */
export function hashListed(dir: string, file: ListedFile, progress: (n: number) => void): string {
  const path = join(dir, ...file.path.split('/'));
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw new SignetError('FILE_UNREADABLE', `${path} was replaced by a symbolic link while listing`);
    throw new SignetError('FILE_UNREADABLE', `cannot read ${path}: ${code ?? 'error'}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.ino !== file.ino) throw new SignetError('FILE_UNREADABLE', `${path} was replaced while listing`);
    const hash = createHash('sha256');
    const buf = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      hash.update(buf.subarray(0, n));
      progress(n);
    }
    return hash.digest('hex');
  } finally {
    closeSync(fd);
  }
}

export async function writeChecksums(g: GlobalOptions, dir: string, key: string, recursive: boolean): Promise<SumsResult> {
  const files = listReleaseFiles(dir, recursive);
  if (files.length === 0) throw new SignetError('FILE_UNREADABLE', `no files to list in ${dir}`);
  const total = files.reduce((a, f) => a + f.size, 0);
  // cli-progress is loaded only when a bar is drawn (stderr is a terminal).
  const cliProgress = wantProgress(g) ? (await import('cli-progress')).default : undefined;
  const bar = cliProgress ? new cliProgress.SingleBar({ format: 'hashing [{bar}] {percentage}% {value}/{total} bytes', hideCursor: true }, cliProgress.Presets.legacy) : undefined;
  bar?.start(total, 0);
  const lines: string[] = [];
  try {
    for (const f of files) {
      // sha256sum escapes names with a backslash or newline; refuse them instead of guessing.
      if (/[\\\n\r]/.test(f.path)) throw new SignetError('FILE_UNREADABLE', `file name not representable in ${SUMS}: ${JSON.stringify(f.path)}`);
      lines.push(`${hashListed(dir, f, (n) => bar?.increment(n))}  ${f.path}`);
    }
  } finally {
    bar?.stop();
  }
  const content = Buffer.from(`${lines.join('\n')}\n`);
  const { PublicKeyCache, checkDetached } = await import('./signature-check.js');
  const response = await withClient(g, async (c) => {
    const keys = await new PublicKeyCache(c).get(key);
    const r = await c.sign(key, Readable.from([content]), { armor: true, kind: 'sums', name: SUMS }, content.length);
    if (r.armored === undefined) throw new SignetError('INTERNAL', 'the server returned no armored signature');
    checkDetached(content, Buffer.from(r.armored, 'utf8'), keys, SUMS, key);
    return r;
  });
  const sumsPath = join(dir, SUMS);
  const sigPath = join(dir, `${SUMS}.asc`);
  writeFilesAtomic([
    { path: sumsPath, data: content },
    { path: sigPath, data: Buffer.from(response.armored ?? '', 'utf8') },
  ]);
  return { sums: sumsPath, signature: sigPath, files: files.length, bytes: total, key: response.key, fingerprint: response.fingerprint };
}
