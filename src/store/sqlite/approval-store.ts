// Approval requests and vetting records on SQLite (src/store/approval-types.ts). A decision is one
// transaction on the single writer connection: read the request and its decisions, check, write.
import type Database from 'better-sqlite3';
import { decisionCheck, requestParams, toRequest, type ApprovalRequestRecord, type ApprovalStore, type DecisionRow, type NewApprovalRequest, type RequestRow } from '../approval-types.js';
import { translate } from './sqlite-store.js';

export class SqliteApprovalStore implements ApprovalStore {
  readonly #db: Database.Database;

  constructor(db: Database.Database) {
    this.#db = db;
  }

  #run<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw translate(err, 'the SQLite store failed');
    }
  }

  #read(id: string): ApprovalRequestRecord | undefined {
    const row = this.#db.prepare('SELECT * FROM approval_requests WHERE id = ?').get(id) as RequestRow | undefined;
    if (!row) return undefined;
    return toRequest(row, this.#db.prepare('SELECT * FROM approval_decisions WHERE request_id = ?').all(id) as DecisionRow[]);
  }

  async createRequest(r: NewApprovalRequest): Promise<void> {
    this.#run(() =>
      this.#db
        .prepare(
          `INSERT INTO approval_requests (id, state, requester_identity, requester_accessor, key_name, kind, name, mode, digest_alg, digest_hex, packages, rule, required, approvers, created_at, expires_at)
           VALUES (?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(...requestParams(r)),
    );
  }

  async setRequestLogIndex(id: string, index: number): Promise<void> {
    this.#run(() => this.#db.prepare('UPDATE approval_requests SET log_index = ? WHERE id = ?').run(index, id));
  }

  async getRequest(id: string): Promise<ApprovalRequestRecord | undefined> {
    return this.#run(() => this.#read(id));
  }

  async listRequests(o: { pending: boolean; now: number; limit: number }): Promise<ApprovalRequestRecord[]> {
    return this.#run(() => {
      const rows = (
        o.pending
          ? this.#db.prepare("SELECT * FROM approval_requests WHERE state = 'pending' AND expires_at > ? ORDER BY created_at DESC, id LIMIT ?").all(o.now, o.limit)
          : this.#db.prepare('SELECT * FROM approval_requests ORDER BY created_at DESC, id LIMIT ?').all(o.limit)
      ) as RequestRow[];
      const decisions = rows.length === 0 ? [] : (this.#db.prepare(`SELECT * FROM approval_decisions WHERE request_id IN (${rows.map(() => '?').join(',')})`).all(...rows.map((r) => r.id)) as DecisionRow[]);
      return rows.map((r) => toRequest(r, decisions));
    });
  }

  async decide(id: string, d: { identity: string; decision: 'approve' | 'reject'; comment: string | null; at: number }): Promise<ApprovalRequestRecord> {
    return this.#run(() =>
      this.#db
        .transaction(() => {
          const row = this.#db.prepare('SELECT * FROM approval_requests WHERE id = ?').get(id) as RequestRow | undefined;
          const decided = this.#db.prepare('SELECT * FROM approval_decisions WHERE request_id = ?').all(id) as DecisionRow[];
          const state = decisionCheck(row, decided, d);
          this.#db.prepare('INSERT INTO approval_decisions (request_id, identity, decision, comment, created_at) VALUES (?, ?, ?, ?, ?)').run(id, d.identity, d.decision, d.comment, d.at);
          if (state !== 'pending') this.#db.prepare("UPDATE approval_requests SET state = ? WHERE id = ? AND state = 'pending'").run(state, id);
          return this.#read(id)!;
        })
        .immediate(),
    );
  }

  async setDecisionLogIndex(id: string, identity: string, index: number): Promise<void> {
    this.#run(() => this.#db.prepare('UPDATE approval_decisions SET log_index = ? WHERE request_id = ? AND identity = ?').run(index, id, identity));
  }

  async consume(id: string): Promise<boolean> {
    return this.#run(() => this.#db.prepare("UPDATE approval_requests SET state = 'signed' WHERE id = ? AND state = 'approved'").run(id).changes === 1);
  }

  async setSignedIndex(id: string, index: number): Promise<void> {
    this.#run(() => this.#db.prepare('UPDATE approval_requests SET signed_index = ? WHERE id = ?').run(index, id));
  }

  async recordVetting(digestHex: string, logIndex: number, verdict: 'pass' | 'fail', at: number): Promise<void> {
    this.#run(() => this.#db.prepare('INSERT INTO vetting_records (log_index, digest_hex, verdict, created_at) VALUES (?, ?, ?, ?)').run(logIndex, digestHex, verdict, at));
  }

  async passingVettings(digestHex: string): Promise<number[]> {
    return this.#run(() =>
      (this.#db.prepare("SELECT log_index FROM vetting_records WHERE digest_hex = ? AND verdict = 'pass' ORDER BY log_index DESC LIMIT 16").all(digestHex) as Array<{ log_index: number }>).map((r) => Number(r.log_index)),
    );
  }
}
