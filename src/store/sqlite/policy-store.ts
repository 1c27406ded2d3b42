// Policies and rate-limit counters on SQLite. Every method is one statement, so a counter
// increment is atomic even with several processes on the file.
// Counters are written on a connection of their own with synchronous=NORMAL: a commit writes the
// WAL without an fsync on the event loop (FULL would block the whole server for one fsync per
// signature). They still survive a process crash or restart (the WAL is written before the
// statement returns), and the count of every signature actually returned is on disk: the
// signature's log entry is committed with an fsync of the same WAL after the count was written.
// Only uses that were counted but never signed can be lost in a power failure.
// In a compiled build the counter connection lives in a thread of its own (rate-worker.ts), so
// waiting for SQLite's write lock (held by the log's append thread during its fsync) never
// stalls the event loop.
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { preparedStatements } from './statements.js';
import type { PolicyRecord, PolicyStore, RateDecision } from '../policy-types.js';
import { translate } from './sqlite-store.js';

interface PolicyRow {
  name: string;
  text: string;
  created_at: number;
  updated_at: number;
}

const toRecord = (r: PolicyRow): PolicyRecord => ({ name: r.name, text: r.text, createdAt: Number(r.created_at), updatedAt: Number(r.updated_at) });

// DO UPDATE … WHERE: when the window is open and full, nothing is updated and no row returned.
export const CONSUME_RATE_SQL = `
  INSERT INTO rate_limits (bucket, window_start, count) VALUES ($bucket, $now, 1)
  ON CONFLICT (bucket) DO UPDATE SET
    window_start = CASE WHEN rate_limits.window_start + $window <= $now THEN $now ELSE rate_limits.window_start END,
    count = CASE WHEN rate_limits.window_start + $window <= $now THEN 1 ELSE rate_limits.count + 1 END
  WHERE rate_limits.window_start + $window <= $now OR rate_limits.count < $limit
  RETURNING window_start, count`;

/** The counters' connection: same file, WAL, no fsync per commit, no checkpoints of its own. */
export function openCounterConnection(path: string): Database.Database {
  const db = new Database(path, { fileMustExist: true });
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  // Checkpoints stay with the main connection or the log's checkpoint thread, never here.
  db.pragma('wal_autocheckpoint = 0');
  return db;
}

class RateThread {
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve(d: RateDecision): void; reject(err: unknown): void }>();
  #nextId = 0;

  constructor(path: string) {
    this.#worker = new Worker(new URL('./rate-worker.js', import.meta.url), { workerData: { path } });
    this.#worker.unref();
    this.#worker.on('message', (m: { id: number; allowed?: boolean; count?: number; windowStart?: number; error?: { code: string; message: string } }) => {
      const pending = this.#pending.get(m.id);
      this.#pending.delete(m.id);
      if (this.#pending.size === 0) this.#worker.unref();
      if (m.error) pending?.reject(translate(Object.assign(new Error(m.error.message), { code: m.error.code }), 'the SQLite store failed'));
      else pending?.resolve({ allowed: m.allowed!, count: m.count!, windowStart: m.windowStart! });
    });
    this.#worker.on('error', (err) => this.#failAll(err));
    this.#worker.on('exit', () => this.#failAll(new Error('the rate-limit thread exited')));
  }

  consume(bucket: string, limit: number, windowMs: number, now: number): Promise<RateDecision> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.ref();
      this.#worker.postMessage({ id, bucket, limit, windowMs, now });
    });
  }

  #failAll(err: unknown): void {
    for (const p of this.#pending.values()) p.reject(translate(err, 'the SQLite rate-limit thread failed'));
    this.#pending.clear();
  }

  async close(): Promise<void> {
    await this.#worker.terminate();
  }
}

export class SqlitePolicyStore implements PolicyStore {
  readonly #db: Database.Database;
  readonly #counters: Database.Database;
  readonly #stmt: (sql: string) => Database.Statement;
  readonly #counterStmt: (sql: string) => Database.Statement;
  readonly #path: string | undefined;
  #thread: RateThread | undefined;

  /**
   * `counters`: a second connection to the same file for rate-limit counters (default: `db`).
   * With `path`, in a compiled build, counters are updated in a thread of their own instead.
   */
  constructor(db: Database.Database, counters: Database.Database = db, path?: string) {
    this.#db = db;
    this.#counters = counters;
    this.#stmt = preparedStatements(db);
    this.#counterStmt = preparedStatements(counters);
    // Under a TypeScript test runner the worker's .ts file cannot be loaded: count in-thread.
    this.#path = import.meta.url.endsWith('.js') ? path : undefined;
  }

  async close(): Promise<void> {
    await this.#thread?.close();
    this.#thread = undefined;
    if (this.#counters !== this.#db && this.#counters.open) this.#counters.close();
  }

  #run<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw translate(err, 'the SQLite store failed');
    }
  }

  async put(name: string, text: string, at: number): Promise<void> {
    this.#run(() =>
      this.#stmt(
        `INSERT INTO policies (name, text, created_at, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET text = excluded.text, updated_at = excluded.updated_at`,
      ).run(name, text, at, at),
    );
  }

  async get(name: string): Promise<PolicyRecord | undefined> {
    const row = this.#run(() => this.#stmt('SELECT * FROM policies WHERE name = ?').get(name) as PolicyRow | undefined);
    return row ? toRecord(row) : undefined;
  }

  async list(): Promise<PolicyRecord[]> {
    return this.#run(() => (this.#stmt('SELECT * FROM policies ORDER BY name').all() as PolicyRow[]).map(toRecord));
  }

  async delete(name: string): Promise<boolean> {
    return this.#run(() => this.#stmt('DELETE FROM policies WHERE name = ?').run(name).changes > 0);
  }

  async consumeRate(bucket: string, limit: number, windowMs: number, now: number): Promise<RateDecision> {
    if (this.#path !== undefined) {
      this.#thread ??= new RateThread(this.#path);
      return this.#thread.consume(bucket, limit, windowMs, now);
    }
    return this.#run(() => {
      const row = this.#counterStmt(CONSUME_RATE_SQL).get({ bucket, now, window: windowMs, limit }) as { window_start: number; count: number } | undefined;
      if (row) return { allowed: true, count: Number(row.count), windowStart: Number(row.window_start) };
      const current = this.#counterStmt('SELECT window_start, count FROM rate_limits WHERE bucket = ?').get(bucket) as { window_start: number; count: number };
      return { allowed: false, count: Number(current.count), windowStart: Number(current.window_start) };
    });
  }
}
