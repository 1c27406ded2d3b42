// SQLite engine of src/store/request-types.ts.
import type Database from 'better-sqlite3';
import type { RequestClaim, RequestStore } from '../request-types.js';

interface Row {
  fingerprint: Buffer;
  state: string;
  status: number | null;
  answer: Buffer | null;
}

export class SqliteRequestStore implements RequestStore {
  readonly #db: Database.Database;
  readonly #claim: (id: Buffer, fingerprint: Buffer, now: number, expiresAt: number) => RequestClaim;

  constructor(db: Database.Database) {
    this.#db = db;
    const drop = db.prepare('DELETE FROM request_answers WHERE id = ? AND expires_at <= ?');
    const insert = db.prepare("INSERT OR IGNORE INTO request_answers (id, fingerprint, state, expires_at) VALUES (?, ?, 'pending', ?)");
    const read = db.prepare('SELECT fingerprint, state, status, answer FROM request_answers WHERE id = ?');
    this.#claim = db.transaction((id: Buffer, fingerprint: Buffer, now: number, expiresAt: number): RequestClaim => {
      drop.run(id, now);
      if (insert.run(id, fingerprint, expiresAt).changes === 1) return { state: 'claimed' };
      const row = read.get(id) as Row;
      if (row.state === 'done' && row.status !== null && row.answer !== null) return { state: 'done', fingerprint: row.fingerprint, status: row.status, answer: row.answer };
      return { state: 'pending', fingerprint: row.fingerprint };
    });
  }

  async claim(id: Buffer, fingerprint: Buffer, now: number, expiresAt: number): Promise<RequestClaim> {
    return this.#claim(id, fingerprint, now, expiresAt);
  }

  async complete(id: Buffer, status: number, answer: Buffer, expiresAt: number): Promise<void> {
    this.#db.prepare("UPDATE request_answers SET state = 'done', status = ?, answer = ?, expires_at = ? WHERE id = ?").run(status, answer, expiresAt, id);
  }

  async release(id: Buffer): Promise<void> {
    this.#db.prepare("DELETE FROM request_answers WHERE id = ? AND state = 'pending'").run(id);
  }

  async purge(now: number): Promise<number> {
    return this.#db.prepare('DELETE FROM request_answers WHERE expires_at <= ?').run(now).changes;
  }
}
