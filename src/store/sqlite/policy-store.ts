// Policies and rate-limit counters on SQLite. Every method is one statement, so a counter
// increment is atomic even with several processes on the file.
// Counters are written on a connection of their own with synchronous=NORMAL: a commit writes the
// WAL without an fsync on the event loop (FULL would block the whole server for one fsync per
// signature). They still survive a process crash or restart (the WAL is written before the
// statement returns), and the count of every signature actually returned is on disk: the
// signature's log entry is committed with an fsync of the same WAL after the count was written.
// Only uses that were counted but never signed can be lost in a power failure.
import type Database from 'better-sqlite3';
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

export class SqlitePolicyStore implements PolicyStore {
  readonly #db: Database.Database;
  readonly #counters: Database.Database;
  readonly #statements = new Map<string, Database.Statement>();
  readonly #counterStatements = new Map<string, Database.Statement>();

  /** `counters`: a second connection to the same file for rate-limit counters (default: `db`). */
  constructor(db: Database.Database, counters: Database.Database = db) {
    this.#db = db;
    this.#counters = counters;
  }

  #stmt(sql: string): Database.Statement {
    let s = this.#statements.get(sql);
    if (!s) {
      s = this.#db.prepare(sql);
      this.#statements.set(sql, s);
    }
    return s;
  }

  #counterStmt(sql: string): Database.Statement {
    let s = this.#counterStatements.get(sql);
    if (!s) {
      s = this.#counters.prepare(sql);
      this.#counterStatements.set(sql, s);
    }
    return s;
  }

  close(): void {
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
    return this.#run(() => {
      const row = this.#counterStmt(CONSUME_RATE_SQL).get({ bucket, now, window: windowMs, limit }) as { window_start: number; count: number } | undefined;
      if (row) return { allowed: true, count: Number(row.count), windowStart: Number(row.window_start) };
      const current = this.#counterStmt('SELECT window_start, count FROM rate_limits WHERE bucket = ?').get(bucket) as { window_start: number; count: number };
      return { allowed: false, count: Number(current.count), windowStart: Number(current.window_start) };
    });
  }
}
