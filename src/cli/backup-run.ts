// `signet backup` / `signet restore` (backup.ts registers them).
//
// Backup: SQLite's online backup API (better-sqlite3 `db.backup`) on a connection of its own,
// copying every page in one step: under WAL that step reads one snapshot while the server keeps
// committing, so the copy is consistent and signing never waits for it. What the copy holds:
// the whole store (keys sealed under the master key, tokens as hashes, policies, roles, the
// transparency log and its signed checkpoints). What it does not: master.key (without it the
// sealed keys are useless, so it is escrowed apart; docs/operations.md), audit.log (append-only,
// shipped off the host as it grows), the settings file.
//
// Restore: into a data dir without a database, after checking the copy (integrity_check) and
// comparing its log with the last checkpoint already published (DATA/published-checkpoint, or
// --checkpoint from a monitor): a copy with fewer entries would sign a different tree at sizes
// the world has seen, a fork (RFC 9162 §2.1.4), so it is refused unless --force.
import { chmodSync, closeSync, copyFileSync, existsSync, openSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import type { Command } from 'commander';
import { SignetError } from '../errors.js';
import { syncDirectory, writeFileAtomic } from '../fsutil.js';
import { PUBLISHED_CHECKPOINT_FILE } from '../server/published-checkpoint.js';
import { openCheckpoint } from '../tlog/checkpoint.js';
import { parseVerifierKey } from '../tlog/note.js';
import { dataDir, printJson, readInputFile, type GlobalOptions } from './common.js';

function sqlitePath(store: string | undefined, dir: string): string {
  const url = store ?? process.env.SIGNET_STORE ?? '';
  if (url === '') return join(dir, 'signet.db');
  if (url.startsWith('sqlite:') && url.length > 'sqlite:'.length) return resolve(url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, ''));
  if (/^postgres(ql)?:\/\//.test(url)) {
    throw new SignetError('USAGE', 'a PostgreSQL store is backed up with pg_dump and restored with pg_restore (docs/operations.md)');
  }
  throw new SignetError('USAGE', '--store must be sqlite:PATH');
}

export async function backupAction(opts: { out: string; store?: string }, cmd: Command): Promise<void> {
  const g = cmd.optsWithGlobals() as GlobalOptions;
  const source = sqlitePath(opts.store, dataDir(g));
  const out = resolve(opts.out);
  if (!existsSync(source)) throw new SignetError('FILE_UNREADABLE', `no SQLite store at ${source}`);
  if (existsSync(out)) throw new SignetError('FILE_WRITE_FAILED', `${out} exists; backups never overwrite`);
  const tmp = `${out}.partial`;
  rmSync(tmp, { force: true });
  // The copy holds what the store holds (sealed keys, token hashes): for this user only.
  closeSync(openSync(tmp, 'wx', 0o600));
  const db = new Database(source, { fileMustExist: true });
  let summary: LogSummary;
  try {
    db.pragma('busy_timeout = 5000');
    // The first step copies nothing; the callback then asks for every page in the next one.
    await db.backup(tmp, { progress: () => 0x7fffffff });
  } catch (err) {
    rmSync(tmp, { force: true });
    if (err instanceof SignetError) throw err;
    throw new SignetError('FILE_WRITE_FAILED', `backup of ${source} failed: ${(err as Error).message}`, { cause: err });
  } finally {
    db.close();
  }
  try {
    const copy = new Database(tmp, { fileMustExist: true });
    try {
      // One self-contained file: no -wal beside it.
      copy.pragma('journal_mode = DELETE');
      summary = logSummary(copy);
    } finally {
      copy.close();
    }
    writeFileAtomicFrom(tmp, out);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  const result = { backup: out, bytes: statSync(out).size, log_entries: Number(summary.entries), log_size: Number(summary.treeSize), origin: summary.origin ?? null };
  if (g.json) printJson(result);
  else {
    process.stderr.write(
      `signet: backed up ${source} to ${out} (${result.bytes} bytes, ${result.log_entries} log entries); master.key is not in it: keep it apart\n`,
    );
  }
}

/** Renames tmp to out, 0600, and syncs the file and its directory. */
function writeFileAtomicFrom(tmp: string, out: string): void {
  try {
    renameSync(tmp, out);
    syncDirectory(dirname(out));
  } catch (cause) {
    throw new SignetError('FILE_WRITE_FAILED', `cannot write ${out}: ${(cause as NodeJS.ErrnoException).code ?? 'error'}`, { cause });
  }
}

interface LogSummary {
  /** Entries sequenced (a server on this store integrates them all at start). */
  readonly entries: bigint;
  /** Size of the last signed tree. */
  readonly treeSize: bigint;
  readonly verifierKey: string | undefined;
  readonly origin: string | undefined;
  rootAt(size: bigint): Buffer | undefined;
}

function logSummary(db: Database.Database): LogSummary {
  const has = (table: string): boolean => db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(table) !== undefined;
  if (!has('meta') || !has('tlog_entries')) throw new SignetError('BACKUP_INVALID', 'not a signet store (no meta or log tables)');
  const seq = db.prepare('SELECT next_index AS n FROM tlog_sequence WHERE id = 1').get() as { n: number | bigint } | undefined;
  const tree = db.prepare('SELECT size FROM tlog_tree WHERE id = 1').get() as { size: number | bigint } | undefined;
  const key = db.prepare("SELECT value FROM meta WHERE key = 'tlog_key'").get() as { value: string } | undefined;
  let verifierKey: string | undefined;
  let origin: string | undefined;
  if (key !== undefined) {
    try {
      const parsed = JSON.parse(key.value) as { verifier_key: string; origin: string };
      verifierKey = parsed.verifier_key;
      origin = parsed.origin;
    } catch {
      throw new SignetError('BACKUP_INVALID', 'the backup\'s log key record is malformed');
    }
  }
  const root = db.prepare('SELECT root FROM tlog_checkpoints WHERE size = ?');
  return {
    entries: BigInt(seq?.n ?? 0),
    treeSize: BigInt(tree?.size ?? 0),
    verifierKey,
    origin,
    rootAt: (size) => (root.get(size) as { root: Buffer } | undefined)?.root,
  };
}

export async function restoreAction(file: string, opts: { store?: string; checkpoint?: string; force?: boolean }, cmd: Command): Promise<void> {
  const g = cmd.optsWithGlobals() as GlobalOptions;
  const dir = dataDir(g);
  const target = sqlitePath(opts.store, dir);
  for (const f of [target, `${target}-wal`]) {
    if (existsSync(f)) throw new SignetError('STORE_NOT_EMPTY', `${f} exists: restore into a data dir without a store (move it away first)`);
  }
  const backup = resolve(file);
  if (!existsSync(backup)) throw new SignetError('FILE_UNREADABLE', `cannot read ${backup}: ENOENT`);
  const publishedPath = opts.checkpoint ?? join(dir, PUBLISHED_CHECKPOINT_FILE);
  const publishedNote = opts.checkpoint !== undefined || existsSync(publishedPath) ? readInputFile(publishedPath).toString('utf8') : undefined;

  mkdirSync(dir, { recursive: true, mode: 0o700 });
  mkdirSync(dirname(target), { recursive: true, mode: 0o700 });
  const tmp = `${target}.restoring`;
  rmSync(tmp, { force: true });
  let published: { size: bigint; root: Buffer } | undefined;
  let summary: LogSummary;
  try {
    closeSync(openSync(tmp, 'wx', 0o600));
    copyFileSync(backup, tmp);
    chmodSync(tmp, 0o600);
    const db = new Database(tmp, { fileMustExist: true });
    try {
      let check: string;
      try {
        check = String(db.pragma('integrity_check', { simple: true }));
      } catch (cause) {
        throw new SignetError('BACKUP_INVALID', `${backup} is not an SQLite database`, { cause });
      }
      if (check !== 'ok') throw new SignetError('BACKUP_INVALID', `${backup} fails SQLite's integrity check: ${check}`);
      summary = logSummary(db);
      if (publishedNote !== undefined) {
        if (summary.verifierKey === undefined) {
          throw new SignetError('BACKUP_BEHIND', `the backup has no log, but ${publishedPath} records a published checkpoint`);
        }
        // The checkpoint must be this log's: signed by the backup's log key, for its origin.
        const { checkpoint } = openCheckpoint(publishedNote, parseVerifierKey(summary.verifierKey));
        published = checkpoint;
      }
      if (published !== undefined) {
        const root = summary.rootAt(published.size);
        if (root !== undefined && !root.equals(published.root)) {
          // Never forced: the backup holds a different tree at a published size.
          throw new SignetError('TLOG_INCONSISTENT', `the backup's log has another root at size ${published.size} than the published checkpoint`);
        }
        if (summary.entries < published.size && !opts.force) {
          throw new SignetError(
            'BACKUP_BEHIND',
            `the backup's log has ${summary.entries} entries, but a checkpoint of size ${published.size} was published: restoring it forks the log (--force to do it anyway)`,
          );
        }
      } else if (!opts.force) {
        throw new SignetError(
          'BACKUP_BEHIND',
          `no record of the last published checkpoint (${publishedPath}): give --checkpoint FILE (the old DATA/published-checkpoint or a log monitor's checkpoint file), or --force`,
        );
      }
    } finally {
      db.close();
    }
    renameSync(tmp, target);
    syncDirectory(dirname(target));
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  // A checkpoint given on the command line becomes this data dir's record, for the next restore.
  if (opts.checkpoint !== undefined && publishedNote !== undefined && published !== undefined && summary.entries >= published.size) {
    writeFileAtomic(join(dir, PUBLISHED_CHECKPOINT_FILE), Buffer.from(publishedNote), 0o600);
  }
  const behind = published !== undefined && summary.entries < published.size;
  const result = {
    restored: target,
    log_entries: Number(summary.entries),
    origin: summary.origin ?? null,
    published_size: published === undefined ? null : Number(published.size),
    forced: Boolean(opts.force) && (behind || published === undefined),
  };
  if (g.json) printJson(result);
  else {
    process.stderr.write(
      `signet: restored ${backup} to ${target} (${result.log_entries} log entries${published ? `; published checkpoint size ${published.size}` : ''}${result.forced ? '; FORCED' : ''}); start the server with the same master.key\n`,
    );
  }
}
