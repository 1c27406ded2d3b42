// PostgreSQL engine of src/store/request-types.ts: one statement per step, so two nodes given the
// same id (a retry that reached another node) agree on which one answers.
import type { RequestClaim, RequestStore } from '../request-types.js';
import type { PgDatabase } from './database.js';

interface Row {
  fingerprint: Buffer;
  state: string;
  status: number | null;
  answer: Buffer | null;
}

export class PostgresRequestStore implements RequestStore {
  readonly #db: PgDatabase;

  constructor(db: PgDatabase) {
    this.#db = db;
  }

  async claim(id: Buffer, fingerprint: Buffer, now: number, expiresAt: number): Promise<RequestClaim> {
    await this.#db.query('DELETE FROM request_answers WHERE id = $1 AND expires_at <= $2', [id, now]);
    const inserted = await this.#db.query(
      "INSERT INTO request_answers (id, fingerprint, state, expires_at) VALUES ($1, $2, 'pending', $3) ON CONFLICT (id) DO NOTHING RETURNING state",
      [id, fingerprint, expiresAt],
    );
    if (inserted.length === 1) return { state: 'claimed' };
    const [row] = await this.#db.query<Row>('SELECT fingerprint, state, status, answer FROM request_answers WHERE id = $1', [id]);
    // Gone between the two statements (released by the other node): the caller retries the claim.
    if (row === undefined) return { state: 'pending', fingerprint };
    if (row.state === 'done' && row.status !== null && row.answer !== null) return { state: 'done', fingerprint: row.fingerprint, status: row.status, answer: row.answer };
    return { state: 'pending', fingerprint: row.fingerprint };
  }

  async complete(id: Buffer, status: number, answer: Buffer, expiresAt: number): Promise<void> {
    await this.#db.query("UPDATE request_answers SET state = 'done', status = $1, answer = $2, expires_at = $3 WHERE id = $4", [status, answer, expiresAt, id]);
  }

  async release(id: Buffer): Promise<void> {
    await this.#db.query("DELETE FROM request_answers WHERE id = $1 AND state = 'pending'", [id]);
  }

  async purge(now: number): Promise<number> {
    const rows = await this.#db.query('DELETE FROM request_answers WHERE expires_at <= $1 RETURNING id', [now]);
    return rows.length;
  }
}
