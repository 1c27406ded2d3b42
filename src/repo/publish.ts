// Atomic publish: STAGING is signed where needed, copied into a new release directory beside
// LIVE, gated there (what is checked is exactly what goes live), and LIVE, a symbolic link, is
// switched to it with one rename(2) of a new link over the old one. A reader that resolves LIVE
// once sees either the whole previous tree or the whole new one, never a mix and never an
// unsigned state; the previous releases stay for `--rollback`.
//
//   LIVE                     -> LIVE.releases/20261130T193000123Z-1a2b3c  (symlink, relative)
//   LIVE.releases/<id>/      one complete, gated tree per publish
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants as fsConstants,
  fchmodSync,
  fstatSync,
  fsyncSync,
  futimesSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { SignetError } from '../errors.js';
import { syncDirectory } from '../fsutil.js';
import type { PublicKeyInfo } from '../openpgp/index.js';
import { signAptDist } from './apt.js';
import { gateDirectory, type GateFinding, type GateReport } from './gate.js';
import { pacmanDbName, signPacmanRepo } from './pacman.js';
import type { RepoSignClient } from './signer.js';
import { signYumRepo } from './yum.js';

export interface PublishOptions {
  /** Sign metadata that is unsigned, wrongly signed or stale with this key (needs `client`). */
  readonly key?: string;
  readonly client?: RepoSignClient;
  /** Keys the gate accepts. */
  readonly keys: PublicKeyInfo[];
  /** apt: rewrite Date/Valid-Until and re-sign every Release. */
  readonly validForSeconds?: number;
  /** Releases to keep, the live one included (default 3, at least 2). */
  readonly keep?: number;
  readonly now?: Date;
  /** Every file must be covered by a signature (default true; see GateOptions.requireSigned). */
  readonly requireSigned?: boolean;
}

export interface SignedUnit {
  readonly kind: 'yum' | 'apt' | 'pacman';
  readonly path: string;
}

export interface PublishResult {
  readonly live: string;
  readonly release: string;
  readonly previous: string | null;
  readonly signed: SignedUnit[];
  readonly gate: GateReport;
  readonly removed: string[];
}

export function releasesDir(live: string): string {
  return `${resolve(live)}.releases`;
}

function releaseId(now: Date): string {
  return `${now.toISOString().replace(/[-:.]/g, '')}-${randomBytes(3).toString('hex')}`;
}

/** The release LIVE points at (its id), or null when LIVE does not exist; refuses a non-link. */
export function currentRelease(live: string): string | null {
  let st;
  try {
    st = lstatSync(live);
  } catch {
    return null;
  }
  if (!st.isSymbolicLink()) {
    throw new SignetError('USAGE', `${live} exists and is not a symbolic link; move it away (publish switches a link atomically)`);
  }
  const target = readlinkSync(live);
  const id = basename(target);
  if (resolve(dirname(live), target) !== join(releasesDir(live), id)) {
    throw new SignetError('USAGE', `${live} does not point into ${releasesDir(live)}`);
  }
  return id;
}

function listReleases(live: string): string[] {
  try {
    return readdirSync(releasesDir(live), { withFileTypes: true })
      .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
      .map((e) => e.name)
      .sort();
  } catch {
    return [];
  }
}

/** Set-user-ID, set-group-ID and sticky: refused, never copied. */
const SPECIAL_BITS = 0o7000;

function unsafe(path: string, what: string): SignetError {
  return new SignetError('GATE_REFUSED', `${path}: ${what}; publish refuses it`);
}

/**
 * Copies STAGING's contents, not its permissions: directories 0755, files 0644 (0755 when the
 * source has any execute bit), owned by the publishing user, every file and directory fsynced.
 * Symbolic links are recreated verbatim (the gate then checks them in the copy). Names that are
 * not UTF-8, set-user-ID/set-group-ID/sticky bits, FIFOs, sockets and devices are refused, and a
 * file is opened without following links and without blocking, then checked to be the regular
 * file that was listed: a staging user swapping an entry mid-copy gets an error, not a copy of
 * what the link points at.
 */
function copyTree(src: string, dest: string, rel = '.'): void {
  const st = lstatSync(src);
  if (!st.isDirectory()) throw unsafe(rel, 'not a directory');
  if ((st.mode & SPECIAL_BITS) !== 0) throw unsafe(rel, `mode ${(st.mode & 0o7777).toString(8)} has set-user-ID, set-group-ID or sticky bits`);
  mkdirSync(dest, { mode: 0o755 });
  const fd = openSync(dest, 'r');
  try {
    fchmodSync(fd, 0o755); // the umask may have taken bits; the mode is ours, not the umask's
  } finally {
    closeSync(fd);
  }
  for (const raw of readdirSync(src, { encoding: 'buffer' })) {
    const name = raw.toString('utf8');
    const childRel = rel === '.' ? name : `${rel}/${name}`;
    if (!Buffer.from(name, 'utf8').equals(raw)) throw unsafe(`${rel}/${raw.toString('hex')}`, 'a name that is not UTF-8');
    const from = join(src, name);
    const to = join(dest, name);
    const entry = lstatSync(from);
    if (entry.isSymbolicLink()) symlinkSync(readlinkSync(from), to);
    else if (entry.isDirectory()) copyTree(from, to, childRel);
    else if (entry.isFile()) copyFile(from, to, childRel, entry.ino);
    else throw unsafe(childRel, 'not a regular file, directory or symbolic link');
  }
  syncDirectory(dest);
}

function copyFile(from: string, to: string, rel: string, ino: number): void {
  let input: number;
  try {
    input = openSync(from, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw unsafe(rel, 'replaced by a symbolic link while publishing');
    throw err;
  }
  try {
    const st = fstatSync(input);
    if (!st.isFile() || st.ino !== ino) throw unsafe(rel, 'replaced while publishing');
    if ((st.mode & SPECIAL_BITS) !== 0) throw unsafe(rel, `mode ${(st.mode & 0o7777).toString(8)} has set-user-ID, set-group-ID or sticky bits`);
    const mode = (st.mode & 0o111) !== 0 ? 0o755 : 0o644;
    const output = openSync(to, 'wx', mode);
    try {
      fchmodSync(output, mode);
      const buf = Buffer.allocUnsafe(1 << 20);
      for (;;) {
        const n = readSync(input, buf, 0, buf.length, null);
        if (n === 0) break;
        let off = 0;
        while (off < n) off += writeSync(output, buf, off, n - off);
      }
      futimesSync(output, st.atime, st.mtime);
      fsyncSync(output);
    } finally {
      closeSync(output);
    }
  } finally {
    closeSync(input);
  }
}

/** Point LIVE at releases/<id> with rename(2): readers see the old link or the new one. */
export function switchLive(live: string, id: string): void {
  const link = resolve(live);
  const target = join(`${basename(link)}.releases`, id);
  const tmp = join(dirname(link), `.${basename(link)}.${randomBytes(6).toString('hex')}.lnk`);
  try {
    symlinkSync(target, tmp);
    renameSync(tmp, link);
    syncDirectory(dirname(link));
  } catch (cause) {
    try {
      unlinkSync(tmp);
    } catch {
      // renamed or never created
    }
    throw new SignetError('FILE_WRITE_FAILED', `cannot switch ${live}: ${(cause as NodeJS.ErrnoException).code ?? 'error'}`, { cause });
  }
}

function metadataFindings(findings: GateFinding[], kind: 'yum' | 'apt' | 'pacman'): GateFinding[] {
  // A Release that differs from what InRelease signs was regenerated: re-signing fixes it. Other
  // mismatches (an index whose checksum is wrong) are not the signature's to fix.
  return findings.filter((f) => f.kind === kind && (f.problem !== 'MISMATCH' || basename(f.path) === 'Release'));
}

/** Signs, in STAGING, the repository metadata the gate would refuse (or every Release with a
 *  validity period). Packages are never signed here: signing changes their checksums, which the
 *  metadata records, so they must be signed before the metadata is generated. */
async function signWhatNeedsSigning(staging: string, options: PublishOptions): Promise<SignedUnit[]> {
  const { client, key } = options;
  if (!client || !key) return [];
  const before = await gateDirectory(staging, options.keys, options.now ? { now: options.now } : {});
  const signed: SignedUnit[] = [];
  const yumRoots = new Set(
    metadataFindings(before.findings, 'yum')
      .filter((f) => f.path.endsWith('repodata/repomd.xml') || f.path.endsWith('repodata/repomd.xml.asc'))
      .map((f) => dirname(dirname(join(staging, f.path)))),
  );
  for (const root of yumRoots) {
    await signYumRepo(client, key, root);
    signed.push({ kind: 'yum', path: root });
  }
  const aptDists = new Set(
    options.validForSeconds !== undefined
      ? walkNames(staging, (n) => n === 'Release').map((p) => dirname(p))
      : metadataFindings(before.findings, 'apt').map((f) => {
          const p = join(staging, f.path);
          return ['Release', 'InRelease', 'Release.gpg'].includes(basename(p)) ? dirname(p) : p;
        }),
  );
  for (const dist of aptDists) {
    await signAptDist(client, key, dist, {
      ...(options.validForSeconds !== undefined ? { validForSeconds: options.validForSeconds } : {}),
      ...(options.now ? { now: options.now } : {}),
    });
    signed.push({ kind: 'apt', path: dist });
  }
  const pacmanDbs = new Set(
    metadataFindings(before.findings, 'pacman')
      .map((f) => join(staging, f.path.replace(/\.sig$/, '')))
      .filter((p) => pacmanDbName(basename(p))?.suffix !== undefined && /\.db\.tar/.test(basename(p))),
  );
  for (const db of pacmanDbs) {
    await signPacmanRepo(client, key, db);
    signed.push({ kind: 'pacman', path: db });
  }
  return signed;
}

function walkNames(dir: string, match: (name: string) => boolean): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...walkNames(p, match));
    else if (e.isFile() && match(e.name)) out.push(p);
  }
  return out;
}

/** LIVE.releases must be a real directory of the publishing user that nobody else can write:
 *  a link would put the releases (and the lock) wherever its owner chose, and a directory others
 *  can write lets them change a release after the gate. */
function checkReleasesDir(releases: string): void {
  const st = lstatSync(releases);
  const uid = process.getuid?.();
  if (st.isSymbolicLink() || !st.isDirectory()) throw new SignetError('USAGE', `${releases} must be a directory, not a symbolic link or a file`);
  if (uid !== undefined && st.uid !== uid) throw new SignetError('USAGE', `${releases} must be owned by the publishing user (uid ${uid}), not uid ${st.uid}`);
  if ((st.mode & 0o022) !== 0) throw new SignetError('USAGE', `${releases} must not be writable by group or others (mode ${(st.mode & 0o7777).toString(8)})`);
}

/** One publish or rollback at a time per LIVE: LIVE.releases/.lock holds the owner's pid and a
 *  nonce. A lock whose process is gone (a crash) is taken over by renaming it aside and checking
 *  that what was renamed is the very lock found dead (same content): of two publishes that find the same dead owner,
 *  one takes it over and the other sees the new owner alive (or puts back the live lock it
 *  renamed by mistake) and refuses. */
async function withLock<T>(live: string, fn: () => Promise<T>): Promise<T> {
  const releases = releasesDir(live);
  mkdirSync(releases, { recursive: true, mode: 0o755 });
  checkReleasesDir(releases);
  const release = acquireLock(join(releases, '.lock'), live);
  try {
    return await fn();
  } finally {
    release();
  }
}

/** Takes LOCK (see withLock) or throws PUBLISH_FAILED; returns its release. `hooks` lets a test
 *  run a second contender at the moment the first has found the owner dead. */
export function acquireLock(lock: string, live: string, hooks: { afterDeadOwner?: () => void } = {}): () => void {
  const busy = (detail: string) => new SignetError('PUBLISH_FAILED', `another publish of ${live} is in progress (${detail})`);
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(lock, 'wx', 0o644);
      // The pid (is the owner alive?) and a nonce: a lock file is told from a later one by its
      // content, as a freed inode number is soon reused.
      writeSync(fd, `${process.pid} ${randomBytes(8).toString('hex')}\n`);
      closeSync(fd);
      return () => rmSync(lock, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 2) throw busy(lock);
    }
    let found: string;
    let owner;
    try {
      found = readFileSync(lock, 'utf8');
      owner = Number.parseInt(found, 10);
    } catch {
      continue; // released meanwhile: try again
    }
    if (Number.isInteger(owner) && owner > 0 && processAlive(owner)) throw busy(`pid ${owner}`);
    hooks.afterDeadOwner?.();
    const aside = join(dirname(lock), `.lock.dead.${process.pid}.${randomBytes(4).toString('hex')}`);
    try {
      renameSync(lock, aside);
    } catch {
      continue; // someone else took it over first
    }
    let moved = '';
    try {
      moved = readFileSync(aside, 'utf8');
    } catch {
      // unreadable: treated as not the one found dead
    }
    if (moved !== found) {
      // Not the dead owner's lock any more: a live contender's, renamed by mistake. Put it back
      // (link fails rather than replace a lock taken meanwhile) and refuse.
      try {
        linkSync(aside, lock);
      } finally {
        rmSync(aside, { force: true });
      }
      throw busy('taken over by another publish');
    }
    rmSync(aside, { force: true });
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function refuse(report: GateReport, where: string): SignetError {
  const first = report.findings[0];
  return new SignetError(
    'GATE_REFUSED',
    `${where}: ${report.findings.length} problem(s)${first ? `, first ${first.path}: ${first.problem} (${first.detail})` : ''}`,
  );
}

function removePartials(releases: string): string[] {
  const partials = readdirSync(releases).filter((n) => n.startsWith('.') && n.endsWith('.partial'));
  for (const p of partials) rmSync(join(releases, p), { recursive: true, force: true });
  return partials;
}

function prune(live: string, keep: number, protect: (string | null)[]): string[] {
  const releases = listReleases(live);
  const removed: string[] = [];
  for (const id of releases.slice(0, Math.max(0, releases.length - keep))) {
    if (protect.includes(id)) continue;
    rmSync(join(releasesDir(live), id), { recursive: true, force: true });
    removed.push(id);
  }
  return removed;
}

export async function publish(staging: string, live: string, options: PublishOptions): Promise<PublishResult> {
  currentRelease(live); // refuses a LIVE that is not our link before anything is created
  return withLock(live, () => publishLocked(staging, live, options));
}

async function publishLocked(staging: string, live: string, options: PublishOptions): Promise<PublishResult> {
  const keep = options.keep ?? 3;
  if (!Number.isInteger(keep) || keep < 2) throw new SignetError('USAGE', '--keep must be 2 or more (the live release and one to roll back to)');
  try {
    if (!lstatSync(staging).isDirectory()) throw new Error('not a directory');
  } catch {
    throw new SignetError('FILE_UNREADABLE', `${staging} is not a directory`);
  }
  const previous = currentRelease(live);
  const signed = await signWhatNeedsSigning(staging, options);

  const releases = releasesDir(live);
  // Under the lock, a .partial directory is what a killed publish left: remove it.
  const stale = removePartials(releases);
  const id = releaseId(options.now ?? new Date());
  const building = join(releases, `.${id}.partial`);
  const target = join(releases, id);
  try {
    // Links are copied verbatim, so relative ones (foo.db.sig -> foo.db.tar.gz.sig) stay relative.
    copyTree(staging, building);
    syncDirectory(releases);
    const report = await gateDirectory(building, options.keys, { requireSigned: options.requireSigned ?? true, ...(options.now ? { now: options.now } : {}) });
    if (!report.ok) throw Object.assign(refuse(report, 'the gate refused the release'), { report });
    renameSync(building, target);
    syncDirectory(releases);
    switchLive(live, id);
    const removed = [...stale, ...prune(live, keep, [id, previous])];
    return { live: resolve(live), release: target, previous: previous !== null ? join(releases, previous) : null, signed, gate: report, removed };
  } catch (err) {
    rmSync(building, { recursive: true, force: true });
    if (err instanceof SignetError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC' || code === 'EDQUOT') throw new SignetError('DISK_FULL', `no space left to publish into ${releases}`, { cause: err });
    throw new SignetError('PUBLISH_FAILED', `cannot publish ${staging}: ${code ?? (err as Error).message}`, { cause: err });
  }
}

export interface RollbackResult {
  readonly live: string;
  readonly release: string;
  readonly from: string;
  readonly gate: GateReport | null;
}

/** Switch LIVE back to the release before the current one; gated again when keys are given
 *  (an old release may have gone stale: apt clients would refuse it anyway). */
export async function rollback(live: string, options: { keys?: PublicKeyInfo[]; now?: Date }): Promise<RollbackResult> {
  if (currentRelease(live) === null) throw new SignetError('NOT_FOUND', `${live} does not exist; nothing to roll back`);
  return withLock(live, () => rollbackLocked(live, options));
}

async function rollbackLocked(live: string, options: { keys?: PublicKeyInfo[]; now?: Date }): Promise<RollbackResult> {
  const current = currentRelease(live);
  if (current === null) throw new SignetError('NOT_FOUND', `${live} does not exist; nothing to roll back`);
  const older = listReleases(live).filter((id) => id < current);
  const target = older.at(-1);
  if (target === undefined) throw new SignetError('NOT_FOUND', `no release older than ${current} in ${releasesDir(live)}`);
  let report: GateReport | null = null;
  if (options.keys && options.keys.length > 0) {
    report = await gateDirectory(join(releasesDir(live), target), options.keys, options.now ? { now: options.now } : {});
    if (!report.ok) throw refuse(report, `the gate refused release ${target}`);
  }
  switchLive(live, target);
  return { live: resolve(live), release: join(releasesDir(live), target), from: join(releasesDir(live), current), gate: report };
}
