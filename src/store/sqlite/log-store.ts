// The transparency log on SQLite. One process writes (better-sqlite3 is synchronous, and
// BEGIN IMMEDIATE takes the database's write lock), so sequencing and integration are trivially
// serial; synchronous=FULL makes every commit durable before `append` resolves.
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import { SignetError, type ErrorCode } from '../../errors.js';
import type { LogIntegrationInput, LogIntegrationOutput, LogStore, LogTreeState, StoredCheckpoint } from '../log-types.js';
import { storedHashCount, treeHashIndices } from '../../tlog/tree.js';
import { extendTree } from '../../tlog/integrate.js';
import { HASH_SIZE } from '../../tlog/rfc6962.js';
import { translate } from './sqlite-store.js';
import { denseEntries } from '../rows.js';

interface TreeRow {
  size: number;
  root: Buffer;
  checkpoint: string;
}

/** Log positions are stored as SQLite integers; past 2^53 they would not round-trip a number. */
function position(value: bigint): number {
  if (value < 0n || value > BigInt(Number.MAX_SAFE_INTEGER)) throw new SignetError('BAD_REQUEST', 'log position out of range');
  return Number(value);
}

export class SqliteLogStore implements LogStore {
  readonly #db: Database.Database;
  readonly #path: string | undefined;
  #appender: AppendThread | undefined;

  /** With `path`, appends run on their own connection in a worker thread (compiled builds only). */
  constructor(db: Database.Database, path?: string) {
    this.#db = db;
    // Under a TypeScript test runner the worker's .ts file cannot be loaded: append in-thread.
    this.#path = import.meta.url.endsWith('.js') ? path : undefined;
  }

  async append(entries: readonly Buffer[], at: number): Promise<bigint> {
    if (entries.length === 0) throw new SignetError('INTERNAL', 'empty log append');
    if (this.#path !== undefined) {
      if (this.#appender === undefined) {
        // WAL checkpoints (copying the WAL back into the database, with an fsync) run on a
        // checkpoint thread from now on, never in a commit on the event loop.
        this.#db.pragma('wal_autocheckpoint = 0');
        this.#appender = new AppendThread(this.#path);
      }
      return this.#appender.append(entries, at);
    }
    return this.#run(() => BigInt(appendBatch(this.#db, entries, at)));
  }

  /** Stops the append thread (SqliteStore.close). */
  async close(): Promise<void> {
    await this.#appender?.close();
  }

  async sequencedSize(): Promise<bigint> {
    return this.#run(() => BigInt(this.#nextIndex()));
  }

  #nextIndex(): number {
    return nextIndex(this.#db);
  }

  async readEntries(start: bigint, end: bigint): Promise<Buffer[]> {
    if (end <= start) return [];
    return this.#run(() => {
      // idx is the primary key, so as many entries as the range is wide means no gap.
      const bundled = this.#readBundled(start, end);
      if (bundled !== undefined && BigInt(bundled.length) === end - start) return bundled;
      const entries = this.#db
        .prepare('SELECT entry FROM tlog_entries WHERE idx >= ? AND idx < ? ORDER BY idx')
        .pluck(true)
        .all(position(start), position(end)) as Buffer[];
      if (BigInt(entries.length) === end - start) return entries;
      const rows = this.#db.prepare('SELECT idx, entry FROM tlog_entries WHERE idx >= ? AND idx < ? ORDER BY idx').all(position(start), position(end)) as Array<{
        idx: number;
        entry: Buffer;
      }>;
      return denseEntries(start, end, rows);
    });
  }

  /**
   * A range as ONE value: `hex16(idx) || hex8(length) || entry` per row, concatenated in index
   * order by SQLite. better-sqlite3 spends ~3 µs per returned row, which dominated reading a
   * million entries; one value per range is ~4x faster. Byte-exact (blobs pass through TEXT
   * unchanged in a UTF-8 database, NULs included), and each index is checked, so a different
   * concatenation order cannot go unnoticed; anything unexpected (a range above SQLite's 1 GB
   * value limit, a parse mismatch) returns undefined and the caller reads row by row.
   */
  #readBundled(start: bigint, end: bigint): Buffer[] | undefined {
    let bundle: Buffer | null;
    try {
      bundle = this.#db
        .prepare(
          `SELECT CAST(group_concat(framed, '') AS BLOB) FROM (
             SELECT printf('%016x%08x', idx, length(entry)) || CAST(entry AS TEXT) AS framed
             FROM tlog_entries WHERE idx >= ? AND idx < ? ORDER BY idx)`,
        )
        .pluck(true)
        .get(position(start), position(end)) as Buffer | null;
    } catch {
      return undefined;
    }
    if (bundle === null) return [];
    const entries: Buffer[] = [];
    let expected = Number(start);
    for (let at = 0; at < bundle.length; expected++) {
      if (at + 24 > bundle.length || readHex(bundle, at, 16) !== expected) return undefined;
      const length = readHex(bundle, at + 16, 8);
      if (length < 0 || at + 24 + length > bundle.length) return undefined;
      entries.push(bundle.subarray(at + 24, at + 24 + length));
      at += 24 + length;
    }
    return entries;
  }

  async readHashes(indices: readonly bigint[]): Promise<Buffer[]> {
    return this.#run(() => readHashes(this.#db, indices));
  }

  async treeState(): Promise<LogTreeState | undefined> {
    return this.#run(() => treeState(this.#db));
  }

  async integrate(maxEntries: number, step: (input: LogIntegrationInput) => LogIntegrationOutput | undefined): Promise<LogTreeState | undefined> {
    if (this.#appender === undefined) {
      // In-thread (no append thread yet, or under a TypeScript test runner): read, step and commit
      // in one BEGIN IMMEDIATE transaction.
      return this.#run(() =>
        this.#db.transaction(() => {
          const input = readIntegrationInput(this.#db, maxEntries);
          const output = step(input);
          if (output === undefined) return input.tree;
          commitIntegration(this.#db, integrationCommit(input.tree, output));
          return output.tree;
        }).immediate(),
      );
    }
    // With the append thread, the commit (its row inserts and its fsync, tens of ms on a busy
    // disk) runs there, never on the event loop. The input is read here in one read transaction
    // (a WAL snapshot: no lock, no wait for the append thread); sequenced entries never change, so
    // the only thing that could move under the step is the tree itself, and the commit is a
    // compare-and-set on it: it applies only if the tree is still the one the step extended.
    // The read and the hashing of the new entries happen on the checkpoint thread (its own
    // connection, one read transaction); only the checks and the checkpoint signature are left
    // for the step here.
    const input = await this.#appender.extend(maxEntries);
    const output = step(input);
    if (output === undefined) return input.tree;
    await this.#appender.commitIntegration(integrationCommit(input.tree, output));
    return output.tree;
  }

  async listCheckpoints(fromSize: bigint, toSize: bigint, limit: number): Promise<StoredCheckpoint[]> {
    const rows = this.#run(
      () =>
        this.#db
          .prepare('SELECT size, root, checkpoint, created_at FROM tlog_checkpoints WHERE size >= ? AND size <= ? ORDER BY size LIMIT ?')
          .all(position(fromSize), position(toSize), limit) as Array<TreeRow & { created_at: number }>,
    );
    return rows.map((r) => ({ size: BigInt(r.size), root: r.root, checkpoint: r.checkpoint, createdAt: r.created_at }));
  }

  #run<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw translate(err, 'the SQLite log store failed');
    }
  }
}

/** Lower-case hex digits as printf('%x') writes them; -1 on anything else. */
function readHex(bytes: Buffer, at: number, digits: number): number {
  let value = 0;
  for (let i = at; i < at + digits; i++) {
    const c = bytes[i] as number;
    const digit = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : -1;
    if (digit < 0) return -1;
    value = value * 16 + digit;
  }
  return value;
}

/** The tree, its edge and the entries after it (at most `maxEntries`); call inside a transaction. */
export function readIntegrationInput(db: Database.Database, maxEntries: number): LogIntegrationInput {
  const tree = treeState(db);
  const size = tree?.size ?? 0n;
  const edge = readHashes(db, treeHashIndices(size));
  const next = BigInt(nextIndex(db));
  const end = next - size > BigInt(maxEntries) ? size + BigInt(maxEntries) : next;
  const rows = db
    .prepare('SELECT idx, entry FROM tlog_entries WHERE idx >= ? AND idx < ? ORDER BY idx')
    .all(position(size), position(end)) as Array<{ idx: number; entry: Buffer }>;
  return { tree, edge, entries: denseEntries(size, end, rows) };
}

function treeState(db: Database.Database): LogTreeState | undefined {
  const row = db.prepare('SELECT size, root, checkpoint FROM tlog_tree WHERE id = 1').get() as TreeRow | undefined;
  return row && { size: BigInt(row.size), root: row.root, checkpoint: row.checkpoint };
}

function readHashes(db: Database.Database, indices: readonly bigint[]): Buffer[] {
  const select = db.prepare('SELECT hash FROM tlog_hashes WHERE idx = ?');
  return indices.map((index) => {
    const row = select.get(position(index)) as { hash: Buffer } | undefined;
    if (!row) throw new SignetError('INTERNAL', `stored hash ${index} is missing`);
    return row.hash;
  });
}

/**
 * The checkpoint thread's part of an integration: read the input in one read transaction (a WAL
 * snapshot) and extend the tree by its entries. Plain data for the trip to the main thread.
 */
export function extendFromStore(db: Database.Database, maxEntries: number): ExtensionReply {
  const input = db.transaction(() => readIntegrationInput(db, maxEntries)).deferred();
  const size = input.tree?.size ?? 0n;
  const extended = input.tree !== undefined && input.entries.length === 0 ? undefined : extendTree(size, input.edge, input.entries);
  return {
    tree: input.tree && { size: input.tree.size, root: new Uint8Array(input.tree.root), checkpoint: input.tree.checkpoint },
    edge: input.edge.map((h) => new Uint8Array(h)),
    extended: extended && {
      size: extended.size,
      root: new Uint8Array(extended.root),
      // One fresh buffer for all new hashes (transferred, not cloned).
      hashes: new Uint8Array(Buffer.concat(extended.hashes)),
      consistencyProof: extended.consistencyProof.map((h) => new Uint8Array(h)),
    },
  };
}

/** What extendFromStore sends back. */
export interface ExtensionReply {
  readonly tree: { readonly size: bigint; readonly root: Uint8Array; readonly checkpoint: string } | undefined;
  readonly edge: readonly Uint8Array[];
  readonly extended: { readonly size: bigint; readonly root: Uint8Array; readonly hashes: Uint8Array; readonly consistencyProof: readonly Uint8Array[] } | undefined;
}

/** The main thread's view of an ExtensionReply (Buffers again). */
export function integrationInputFrom(reply: ExtensionReply): LogIntegrationInput {
  const buf = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);
  const tree = reply.tree && { size: reply.tree.size, root: buf(reply.tree.root), checkpoint: reply.tree.checkpoint };
  const edge = reply.edge.map(buf);
  if (reply.extended === undefined) return { tree, edge, entries: [] };
  const all = buf(reply.extended.hashes);
  if (all.length % HASH_SIZE !== 0) throw new SignetError('INTERNAL', 'the checkpoint thread sent a partial hash');
  const hashes: Buffer[] = [];
  for (let at = 0; at < all.length; at += HASH_SIZE) hashes.push(all.subarray(at, at + HASH_SIZE));
  return {
    tree,
    edge,
    entries: [],
    extended: { size: reply.extended.size, root: buf(reply.extended.root), hashes, consistencyProof: reply.extended.consistencyProof.map(buf) },
  };
}

function nextIndex(db: Database.Database): number {
  const row = db.prepare('SELECT next_index FROM tlog_sequence WHERE id = 1').get() as { next_index: number } | undefined;
  return row?.next_index ?? 0;
}

/** The sequencing transaction: dense indices from the coordinator row, then advance it. */
export function appendBatch(db: Database.Database, entries: readonly Buffer[], at: number): number {
  return db.transaction(() => {
    const first = nextIndex(db);
    const insert = db.prepare('INSERT INTO tlog_entries (idx, entry, created_at) VALUES (?, ?, ?)');
    entries.forEach((entry, i) => insert.run(first + i, entry, at));
    db.prepare('INSERT INTO tlog_sequence (id, next_index) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET next_index = excluded.next_index').run(
      first + entries.length,
    );
    return first;
  }).immediate();
}

/** An integration step's writes, as plain data (it crosses to the append thread). */
export interface IntegrationCommit {
  /** The tree the step extended (undefined: none yet); the commit applies only over exactly it. */
  readonly before: { readonly size: number; readonly root: Uint8Array } | undefined;
  /** Stored-hash position of the first new hash. */
  readonly first: number;
  /** The new stored hashes, 32 bytes each, concatenated. */
  readonly hashes: Uint8Array;
  readonly size: number;
  readonly root: Uint8Array;
  readonly checkpoint: string;
  readonly now: number;
}

function integrationCommit(tree: LogTreeState | undefined, output: LogIntegrationOutput): IntegrationCommit {
  const size = tree?.size ?? 0n;
  return {
    before: tree && { size: position(tree.size), root: tree.root },
    first: position(storedHashCount(size)),
    // Fresh copies: a view would be cloned with its whole underlying ArrayBuffer.
    hashes: new Uint8Array(Buffer.concat(output.hashes as Buffer[])),
    size: position(output.tree.size),
    root: new Uint8Array(output.tree.root),
    checkpoint: output.tree.checkpoint,
    now: Date.now(),
  };
}

/**
 * The integration's write transaction: new stored hashes, tree state and checkpoint together, if
 * (compare-and-set) the tree is still the one the step extended; else TLOG_INCONSISTENT and
 * nothing is written. Runs on the append thread, or inside the in-thread transaction.
 */
export function commitIntegration(db: Database.Database, c: IntegrationCommit): void {
  db.transaction(() => {
    const row = db.prepare('SELECT size, root FROM tlog_tree WHERE id = 1').get() as { size: number; root: Buffer } | undefined;
    const same =
      c.before === undefined ? row === undefined : row !== undefined && row.size === c.before.size && Buffer.from(c.before.root).equals(row.root);
    if (!same) throw new SignetError('TLOG_INCONSISTENT', 'the log tree changed during integration; nothing was written');
    const hashes = Buffer.from(c.hashes.buffer, c.hashes.byteOffset, c.hashes.byteLength);
    if (hashes.length % 32 !== 0) throw new SignetError('INTERNAL', 'integration hashes are not 32 bytes each');
    // One statement cuts the blob into rows inside SQLite: 2-3x faster than a run() per hash
    // (this transaction holds up the append thread's next commit).
    if (hashes.length > 0) {
      db.prepare(
        `WITH RECURSIVE i(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM i WHERE n + 1 < ?)
         INSERT INTO tlog_hashes (idx, hash) SELECT ? + n, substr(?, n * 32 + 1, 32) FROM i`,
      ).run(hashes.length / 32, c.first, hashes);
    }
    const root = Buffer.from(c.root.buffer, c.root.byteOffset, c.root.byteLength);
    db.prepare(
      `INSERT INTO tlog_tree (id, size, root, checkpoint, updated_at) VALUES (1, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET size = excluded.size, root = excluded.root, checkpoint = excluded.checkpoint, updated_at = excluded.updated_at`,
    ).run(c.size, root, c.checkpoint, c.now);
    db.prepare('INSERT INTO tlog_checkpoints (size, root, checkpoint, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (size) DO NOTHING').run(
      c.size,
      root,
      c.checkpoint,
      c.now,
    );
  }).immediate();
}

/** The main thread's end of log-append-worker.ts: one request per batch, answered after COMMIT. */
class AppendThread {
  readonly #worker: Worker;
  readonly #checkpointer: Worker;
  readonly #pending = new Map<number, { resolve(first: number): void; reject(err: unknown): void }>();
  readonly #extending = new Map<number, { resolve(reply: ExtensionReply): void; reject(err: unknown): void }>();
  #nextId = 0;

  constructor(path: string) {
    this.#worker = new Worker(new URL('./log-append-worker.js', import.meta.url), { workerData: { path, role: 'append' } });
    this.#worker.unref();
    this.#checkpointer = new Worker(new URL('./log-append-worker.js', import.meta.url), { workerData: { path, role: 'checkpoint' } });
    this.#checkpointer.unref();
    this.#worker.on('message', (m: WorkerReply) => {
      const pending = this.#pending.get(m.id);
      this.#pending.delete(m.id);
      if (this.#pending.size === 0) this.#worker.unref();
      if (m.error === undefined) pending?.resolve(m.first ?? 0);
      else pending?.reject(workerError(m.error));
    });
    this.#worker.on('error', (err) => this.#failAll(err));
    this.#worker.on('exit', () => this.#failAll(new Error('the log append thread exited')));
    this.#checkpointer.on('message', (m: WorkerReply) => {
      const pending = this.#extending.get(m.id);
      this.#extending.delete(m.id);
      if (this.#extending.size === 0) this.#checkpointer.unref();
      if (m.error === undefined && m.extension !== undefined) pending?.resolve(m.extension);
      else pending?.reject(workerError(m.error ?? { code: '', message: 'no extension in the reply', signet: false }));
    });
    const failExtending = (err: unknown): void => {
      for (const p of this.#extending.values()) p.reject(translate(err, 'the SQLite log checkpoint thread failed'));
      this.#extending.clear();
    };
    this.#checkpointer.on('error', failExtending);
    this.#checkpointer.on('exit', () => failExtending(new Error('the log checkpoint thread exited')));
  }

  /** Read and hash the next integration step on the checkpoint thread. */
  async extend(maxEntries: number): Promise<LogIntegrationInput> {
    const id = this.#nextId++;
    const reply = await new Promise<ExtensionReply>((resolve, reject) => {
      this.#extending.set(id, { resolve, reject });
      this.#checkpointer.ref();
      this.#checkpointer.postMessage({ id, kind: 'extend', maxEntries } satisfies AppendThreadRequest & { id: number });
    });
    return integrationInputFrom(reply);
  }

  async append(entries: readonly Buffer[], at: number): Promise<bigint> {
    // One fresh buffer, transferred: posting the entries themselves would structured-clone each
    // one's WHOLE ArrayBuffer, and small Buffers are views of Node's shared 8 KB pool.
    const packed = new Uint8Array(entries.reduce((sum, e) => sum + e.length, 0));
    let at0 = 0;
    for (const entry of entries) {
      packed.set(entry, at0);
      at0 += entry.length;
    }
    const lengths = entries.map((e) => e.length);
    return BigInt(await this.#request({ kind: 'append', packed, lengths, at }, [packed.buffer]));
  }

  async commitIntegration(commit: IntegrationCommit): Promise<void> {
    await this.#request({ kind: 'integrate', commit });
  }

  #request(body: AppendThreadRequest, transfer: ArrayBuffer[] = []): Promise<number> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.ref();
      this.#worker.postMessage({ id, ...body }, transfer);
    });
  }

  #failAll(err: unknown): void {
    for (const p of this.#pending.values()) p.reject(translate(err, 'the SQLite log append thread failed'));
    this.#pending.clear();
  }

  async close(): Promise<void> {
    await Promise.all([this.#worker.terminate(), this.#checkpointer.terminate()]);
  }
}

/** A request to log-append-worker.ts (plus its `id`): append and integrate go to the append
 *  thread, extend to the checkpoint thread. */
export type AppendThreadRequest =
  | { readonly kind: 'append'; readonly packed: Uint8Array; readonly lengths: readonly number[]; readonly at: number }
  | { readonly kind: 'integrate'; readonly commit: IntegrationCommit }
  | { readonly kind: 'extend'; readonly maxEntries: number };

/** Its reply: `first` for an append, `extension` for extend; `signet` errors keep their code. */
export interface WorkerReply {
  readonly id: number;
  readonly first?: number;
  readonly extension?: ExtensionReply;
  readonly error?: { readonly code: string; readonly message: string; readonly signet: boolean };
}

function workerError(error: NonNullable<WorkerReply['error']>): Error {
  if (error.signet) return new SignetError(error.code as ErrorCode, error.message);
  return translate(Object.assign(new Error(error.message), { code: error.code }), 'the SQLite log store failed');
}
