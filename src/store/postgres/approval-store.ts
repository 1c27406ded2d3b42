// Approval requests and vetting records on PostgreSQL (src/store/approval-types.ts). A decision
// runs in one transaction holding the request's row lock (SELECT … FOR UPDATE), so concurrent
// approvers on any node are serialised on it: exactly one of them makes the request approved.
import { decisionCheck, requestParams, toRequest, type ApprovalRequestRecord, type ApprovalStore, type DecisionRow, type NewApprovalRequest, type RequestRow } from '../approval-types.js';
import type { PgDatabase, PgQueryable } from './database.js';

async function read(db: PgQueryable, id: string): Promise<ApprovalRequestRecord | undefined> {
  const [row] = await db.query<RequestRow>('SELECT * FROM approval_requests WHERE id = $1', [id]);
  if (!row) return undefined;
  return toRequest(row, await db.query<DecisionRow>('SELECT * FROM approval_decisions WHERE request_id = $1', [id]));
}

export class PostgresApprovalStore implements ApprovalStore {
  readonly #db: PgDatabase;

  constructor(db: PgDatabase) {
    this.#db = db;
  }

  async createRequest(r: NewApprovalRequest): Promise<void> {
    await this.#db.query(
      `INSERT INTO approval_requests (id, state, requester_identity, requester_accessor, key_name, kind, name, mode, digest_alg, digest_hex, packages, rule, required, approvers, created_at, expires_at)
       VALUES ($1, 'pending', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
      requestParams(r),
    );
  }

  async setRequestLogIndex(id: string, index: number): Promise<void> {
    await this.#db.query('UPDATE approval_requests SET log_index = $1 WHERE id = $2', [index, id]);
  }

  getRequest(id: string): Promise<ApprovalRequestRecord | undefined> {
    return read(this.#db, id);
  }

  async listRequests(o: { pending: boolean; now: number; limit: number }): Promise<ApprovalRequestRecord[]> {
    const rows = o.pending
      ? await this.#db.query<RequestRow>("SELECT * FROM approval_requests WHERE state = 'pending' AND expires_at > $1 ORDER BY created_at DESC, id LIMIT $2", [o.now, o.limit])
      : await this.#db.query<RequestRow>('SELECT * FROM approval_requests ORDER BY created_at DESC, id LIMIT $1', [o.limit]);
    const decisions = rows.length === 0 ? [] : await this.#db.query<DecisionRow>('SELECT * FROM approval_decisions WHERE request_id = ANY($1)', [rows.map((r) => r.id)]);
    return rows.map((r) => toRequest(r, decisions));
  }

  decide(id: string, d: { identity: string; decision: 'approve' | 'reject'; comment: string | null; at: number }): Promise<ApprovalRequestRecord> {
    return this.#db.transaction(async (tx) => {
      const [row] = await tx.query<RequestRow>('SELECT * FROM approval_requests WHERE id = $1 FOR UPDATE', [id]);
      const decided = await tx.query<DecisionRow>('SELECT * FROM approval_decisions WHERE request_id = $1', [id]);
      const state = decisionCheck(row, decided, d);
      await tx.query('INSERT INTO approval_decisions (request_id, identity, decision, comment, created_at) VALUES ($1, $2, $3, $4, $5)', [id, d.identity, d.decision, d.comment, d.at]);
      if (state !== 'pending') await tx.query("UPDATE approval_requests SET state = $1 WHERE id = $2 AND state = 'pending'", [state, id]);
      return (await read(tx, id))!;
    });
  }

  async setDecisionLogIndex(id: string, identity: string, index: number): Promise<void> {
    await this.#db.query('UPDATE approval_decisions SET log_index = $1 WHERE request_id = $2 AND identity = $3', [index, id, identity]);
  }

  async consume(id: string): Promise<boolean> {
    return (await this.#db.query("UPDATE approval_requests SET state = 'signed' WHERE id = $1 AND state = 'approved' RETURNING id", [id])).length === 1;
  }

  async setSignedIndex(id: string, index: number): Promise<void> {
    await this.#db.query('UPDATE approval_requests SET signed_index = $1 WHERE id = $2', [index, id]);
  }

  async recordVetting(digestHex: string, logIndex: number, verdict: 'pass' | 'fail', at: number): Promise<void> {
    await this.#db.query('INSERT INTO vetting_records (log_index, digest_hex, verdict, created_at) VALUES ($1, $2, $3, $4)', [logIndex, digestHex, verdict, at]);
  }

  async passingVettings(digestHex: string): Promise<number[]> {
    return (await this.#db.query<{ log_index: string }>("SELECT log_index FROM vetting_records WHERE digest_hex = $1 AND verdict = 'pass' ORDER BY log_index DESC LIMIT 16", [digestHex])).map((r) => Number(r.log_index));
  }
}
