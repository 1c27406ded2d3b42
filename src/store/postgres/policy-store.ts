// Policies and rate-limit counters on PostgreSQL, shared by every node. A counter increment is
// one INSERT … ON CONFLICT DO UPDATE … WHERE: PostgreSQL takes the row lock and re-evaluates the
// WHERE on the latest committed row, so two nodes can never both take the last use of a window.
import type { PolicyRecord, PolicyStore, RateDecision } from '../policy-types.js';
import { toSafeNumber, type PgDatabase } from './database.js';

interface PolicyRow {
  name: string;
  text: string;
  created_at: string;
  updated_at: string;
}

const toRecord = (r: PolicyRow): PolicyRecord => ({ name: r.name, text: r.text, createdAt: toSafeNumber(r.created_at), updatedAt: toSafeNumber(r.updated_at) });

const CONSUME_RATE_SQL = `
  INSERT INTO rate_limits (bucket, window_start, count) VALUES ($1, $2, 1)
  ON CONFLICT (bucket) DO UPDATE SET
    window_start = CASE WHEN rate_limits.window_start + $3 <= $2 THEN $2 ELSE rate_limits.window_start END,
    count = CASE WHEN rate_limits.window_start + $3 <= $2 THEN 1 ELSE rate_limits.count + 1 END
  WHERE rate_limits.window_start + $3 <= $2 OR rate_limits.count < $4
  RETURNING window_start, count`;

export class PostgresPolicyStore implements PolicyStore {
  readonly #db: PgDatabase;

  constructor(db: PgDatabase) {
    this.#db = db;
  }

  async put(name: string, text: string, at: number): Promise<void> {
    await this.#db.query(
      `INSERT INTO policies (name, text, created_at, updated_at) VALUES ($1, $2, $3, $3)
       ON CONFLICT (name) DO UPDATE SET text = excluded.text, updated_at = excluded.updated_at`,
      [name, text, at],
    );
  }

  async get(name: string): Promise<PolicyRecord | undefined> {
    const rows = await this.#db.query<PolicyRow>('SELECT * FROM policies WHERE name = $1', [name]);
    return rows[0] ? toRecord(rows[0]) : undefined;
  }

  async list(): Promise<PolicyRecord[]> {
    return (await this.#db.query<PolicyRow>('SELECT * FROM policies ORDER BY name COLLATE "C"')).map(toRecord);
  }

  async delete(name: string): Promise<boolean> {
    return (await this.#db.query('DELETE FROM policies WHERE name = $1 RETURNING name', [name])).length > 0;
  }

  async consumeRate(bucket: string, limit: number, windowMs: number, now: number): Promise<RateDecision> {
    const rows = await this.#db.query<{ window_start: string; count: string }>(CONSUME_RATE_SQL, [bucket, now, windowMs, limit]);
    if (rows[0]) return { allowed: true, count: toSafeNumber(rows[0].count), windowStart: toSafeNumber(rows[0].window_start) };
    const current = await this.#db.query<{ window_start: string; count: string }>('SELECT window_start, count FROM rate_limits WHERE bucket = $1', [bucket]);
    return { allowed: false, count: toSafeNumber(current[0]?.count ?? '0'), windowStart: toSafeNumber(current[0]?.window_start ?? String(now)) };
  }
}
