// pacman repositories: `foo.db.tar.gz` -> `foo.db.tar.gz.sig` (binary detached; pacman and
// repo-add refuse armored signatures) plus the link `foo.db.sig` -> `foo.db.tar.gz.sig`, and the
// same for `foo.files.tar.gz` when it exists: exactly what `repo-add -s` leaves (its rotate_db:
// relative symlinks `foo.db` -> `foo.db.tar.gz` and `foo.db.sig` -> `foo.db.tar.gz.sig`).
// pacman downloads `foo.db` and `foo.db.sig` from the mirror.
import { lstatSync, readlinkSync, renameSync, symlinkSync, unlinkSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { SignetError } from '../errors.js';
import { syncDirectory } from '../fsutil.js';
import { CheckedSigner, type RepoSignClient } from './signer.js';
import { readSigningInput, writeFilesAtomic } from './files.js';

/** pacman databases of real distributions are a few MiB; refuse anything absurd. */
export const PACMAN_DB_MAX_BYTES = 512 * 1024 * 1024;
/** repo-add refuses package signatures above 16384 bytes; ours are < 1 KiB. */
export const PACMAN_SIG_MAX_BYTES = 16384;

/** foo.db.tar.gz -> {prefix: foo, suffix: tar.gz}; also foo.db.tar.zst, foo.db.tar, … */
export function pacmanDbName(file: string): { prefix: string; suffix: string } | null {
  const m = /^(.+)\.(db|files)\.(tar(?:\.(?:gz|bz2|xz|zst|lz4|lrz|lzo|Z|lz))?)$/.exec(file);
  return m ? { prefix: m[1]!, suffix: m[3]! } : null;
}

function isSymlink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Points `link` at `target` (relative, same directory) with a rename, never a missing moment. */
export function replaceSymlink(link: string, target: string): void {
  const tmp = join(dirname(link), `.${basename(link)}.${randomBytes(6).toString('hex')}.lnk`);
  try {
    symlinkSync(target, tmp);
    renameSync(tmp, link);
  } catch (cause) {
    try {
      unlinkSync(tmp);
    } catch {
      // never created
    }
    throw new SignetError('FILE_WRITE_FAILED', `cannot link ${link}: ${(cause as NodeJS.ErrnoException).code ?? 'error'}`, { cause });
  }
}

/** The database archive a DB argument names: foo.db.tar.gz itself, or the foo.db link to it. */
export function resolvePacmanDb(path: string): { dir: string; prefix: string; suffix: string } {
  let file = basename(path);
  const dir = dirname(path);
  if (!pacmanDbName(file) && isSymlink(path)) file = basename(readlinkSync(path));
  const name = pacmanDbName(file);
  if (!name) throw new SignetError('USAGE', `not a pacman database: ${path} (expected NAME.db.tar.gz or its NAME.db link)`);
  if (file.includes('.files.')) throw new SignetError('USAGE', `give the .db archive; ${file} is signed along with it`);
  return { dir, prefix: name.prefix, suffix: name.suffix };
}

export interface PacmanSignedFile {
  readonly archive: string;
  readonly signature: string;
  readonly link: string;
}

export interface PacmanSignResult {
  readonly files: PacmanSignedFile[];
  readonly fingerprint: string;
  readonly logIndex: number[];
}

/** `signet repo sign pacman DB`: sign foo.db.tar.gz and foo.files.tar.gz (when present). */
export async function signPacmanRepo(client: RepoSignClient, key: string, dbPath: string): Promise<PacmanSignResult> {
  const { dir, prefix, suffix } = resolvePacmanDb(dbPath);
  const signer = new CheckedSigner(client, key);
  const signed: { archive: string; link: string; dbLink: string; file: string; packet: Buffer; fingerprint: string; logIndex?: number }[] = [];
  for (const kind of ['db', 'files'] as const) {
    const file = `${prefix}.${kind}.${suffix}`;
    const archive = join(dir, file);
    if (kind === 'files' && !exists(archive)) continue;
    const bytes = readSigningInput(archive, PACMAN_DB_MAX_BYTES);
    if (bytes.length === 0) throw new SignetError('BODY_EMPTY', `${archive} is empty`);
    const sig = await signer.detached(bytes, 'pacman', file, { armor: false });
    if (sig.packet.length > PACMAN_SIG_MAX_BYTES) throw new SignetError('INTERNAL', 'the signature is larger than pacman accepts');
    signed.push({ archive, file, link: join(dir, `${prefix}.${kind}.sig`), dbLink: join(dir, `${prefix}.${kind}`), packet: sig.packet, fingerprint: sig.fingerprint, ...(sig.logIndex !== undefined ? { logIndex: sig.logIndex } : {}) });
  }
  // Every signature is on disk before any link moves; each link then switches with a rename.
  writeFilesAtomic(signed.map((s) => ({ path: `${s.archive}.sig`, data: s.packet })));
  for (const s of signed) {
    if (!isSymlink(s.dbLink) || readlinkSync(s.dbLink) !== s.file) replaceSymlink(s.dbLink, s.file);
    replaceSymlink(s.link, `${s.file}.sig`);
  }
  syncDirectory(dir);
  return {
    files: signed.map((s) => ({ archive: s.archive, signature: `${s.archive}.sig`, link: s.link })),
    fingerprint: signed[0]!.fingerprint,
    logIndex: signed.flatMap((s) => (s.logIndex !== undefined ? [s.logIndex] : [])),
  };
}
