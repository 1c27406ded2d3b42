// Approval requests, approvers' decisions and the index of vetting records (docs/approvals.md,
// docs/vetting.md). The transparency log is the record; these tables are the state machine the
// server decides on (who may still approve, whether a request was used), and an index from a
// digest to the log entry of its vetting record. Both engines: the same tables (migration 30).
import { SignetError } from '../errors.js';

export type RequestState = 'pending' | 'approved' | 'rejected' | 'signed';

export interface ApprovalDecision {
  readonly identity: string;
  readonly decision: 'approve' | 'reject';
  readonly comment: string | null;
  readonly createdAt: number;
  /** The decision's log entry, once appended. */
  readonly logIndex: number | null;
}

export interface ApprovalRequestRecord {
  /** 32 lower-case hex. */
  readonly id: string;
  readonly state: RequestState;
  /** Who asked: role, JWT subject or token name; it may not approve. */
  readonly requesterIdentity: string;
  /** The asking token's accessor: only it may use the approved request. */
  readonly requesterAccessor: string;
  readonly key: string;
  readonly kind: string;
  readonly name: string;
  readonly mode: 'content' | 'midstate' | 'rpm';
  readonly digestAlg: string;
  readonly digestHex: string;
  /** RPM batches: how many packages the manifest lists. */
  readonly packages: number | null;
  readonly rule: string;
  readonly required: number;
  readonly approvers: readonly string[];
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly logIndex: number | null;
  readonly signedIndex: number | null;
  readonly decisions: readonly ApprovalDecision[];
}

export type NewApprovalRequest = Omit<ApprovalRequestRecord, 'state' | 'logIndex' | 'signedIndex' | 'decisions'>;

export interface ApprovalStore {
  createRequest(request: NewApprovalRequest): Promise<void>;
  setRequestLogIndex(id: string, index: number): Promise<void>;
  getRequest(id: string): Promise<ApprovalRequestRecord | undefined>;
  /** Newest first; `pending`: only pending and unexpired at `now`. */
  listRequests(options: { pending: boolean; now: number; limit: number }): Promise<ApprovalRequestRecord[]>;
  /**
   * One decision, atomically: the request must exist (REQUEST_NOT_FOUND), be pending
   * (REQUEST_CLOSED) and unexpired at `at` (REQUEST_EXPIRED); the identity must not have decided
   * before (APPROVAL_DUPLICATE). An approval that reaches `required` makes it approved; a
   * rejection makes it rejected. Returns the request after the decision.
   */
  decide(id: string, decision: { identity: string; decision: 'approve' | 'reject'; comment: string | null; at: number }): Promise<ApprovalRequestRecord>;
  setDecisionLogIndex(id: string, identity: string, index: number): Promise<void>;
  /** approved → signed, exactly once across connections and nodes; false when not approved. */
  consume(id: string): Promise<boolean>;
  setSignedIndex(id: string, index: number): Promise<void>;
  /** Index a vetting record's log entry by the tarball's SHA-256. */
  recordVetting(digestHex: string, logIndex: number, verdict: 'pass' | 'fail', at: number): Promise<void>;
  /** Log indices of passing vetting records for this digest, newest first. */
  passingVettings(digestHex: string): Promise<number[]>;
}

// ---- rows, shared by both engines ----

type Int = number | string;

export interface RequestRow {
  id: string;
  state: string;
  requester_identity: string;
  requester_accessor: string;
  key_name: string;
  kind: string;
  name: string;
  mode: string;
  digest_alg: string;
  digest_hex: string;
  packages: Int | null;
  rule: string;
  required: Int;
  approvers: string;
  created_at: Int;
  expires_at: Int;
  log_index: Int | null;
  signed_index: Int | null;
}

export interface DecisionRow {
  request_id: string;
  identity: string;
  decision: string;
  comment: string | null;
  created_at: Int;
  log_index: Int | null;
}

const num = (v: Int): number => {
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new SignetError('INTERNAL', 'a stored number is out of range');
  return n;
};
const numOrNull = (v: Int | null): number | null => (v === null ? null : num(v));

export function toRequest(row: RequestRow, decisions: readonly DecisionRow[]): ApprovalRequestRecord {
  return {
    id: row.id,
    state: row.state as RequestState,
    requesterIdentity: row.requester_identity,
    requesterAccessor: row.requester_accessor,
    key: row.key_name,
    kind: row.kind,
    name: row.name,
    mode: row.mode as ApprovalRequestRecord['mode'],
    digestAlg: row.digest_alg,
    digestHex: row.digest_hex,
    packages: numOrNull(row.packages),
    rule: row.rule,
    required: num(row.required),
    approvers: JSON.parse(row.approvers) as string[],
    createdAt: num(row.created_at),
    expiresAt: num(row.expires_at),
    logIndex: numOrNull(row.log_index),
    signedIndex: numOrNull(row.signed_index),
    decisions: decisions
      .filter((d) => d.request_id === row.id)
      .map((d) => ({ identity: d.identity, decision: d.decision as 'approve' | 'reject', comment: d.comment, createdAt: num(d.created_at), logIndex: numOrNull(d.log_index) }))
      .sort((a, b) => a.createdAt - b.createdAt || (a.identity < b.identity ? -1 : 1)),
  };
}

export function requestParams(r: NewApprovalRequest): unknown[] {
  return [r.id, r.requesterIdentity, r.requesterAccessor, r.key, r.kind, r.name, r.mode, r.digestAlg, r.digestHex, r.packages, r.rule, r.required, JSON.stringify(r.approvers), r.createdAt, r.expiresAt];
}

/** The decision's effect given the request as read inside the transaction; throws when refused. */
export function decisionCheck(row: RequestRow | undefined, decided: readonly DecisionRow[], d: { identity: string; decision: 'approve' | 'reject'; at: number }): RequestState {
  if (!row) throw new SignetError('REQUEST_NOT_FOUND', 'no such approval request');
  if (row.state !== 'pending') throw new SignetError('REQUEST_CLOSED', `request ${row.id} is ${row.state}, not pending`);
  if (num(row.expires_at) <= d.at) throw new SignetError('REQUEST_EXPIRED', `request ${row.id} expired at ${new Date(num(row.expires_at)).toISOString()}`);
  if (decided.some((x) => x.identity === d.identity)) throw new SignetError('APPROVAL_DUPLICATE', `${d.identity} has already decided on request ${row.id}`);
  if (d.decision === 'reject') return 'rejected';
  const approvals = decided.filter((x) => x.decision === 'approve').length + 1;
  return approvals >= num(row.required) ? 'approved' : 'pending';
}

/** Migration 30 for both engines (`BIGINT` on PostgreSQL, `INTEGER` on SQLite). */
export function approvalSchema(int: 'INTEGER' | 'BIGINT'): string {
  return `
    CREATE TABLE approval_requests (
      id TEXT PRIMARY KEY,
      state TEXT NOT NULL,
      requester_identity TEXT NOT NULL,
      requester_accessor TEXT NOT NULL,
      key_name TEXT NOT NULL,
      kind TEXT NOT NULL,
      name TEXT NOT NULL,
      mode TEXT NOT NULL,
      digest_alg TEXT NOT NULL,
      digest_hex TEXT NOT NULL,
      packages ${int},
      rule TEXT NOT NULL,
      required ${int} NOT NULL,
      approvers TEXT NOT NULL,
      created_at ${int} NOT NULL,
      expires_at ${int} NOT NULL,
      log_index ${int},
      signed_index ${int}
    );
    CREATE INDEX approval_requests_created ON approval_requests (created_at);
    CREATE TABLE approval_decisions (
      request_id TEXT NOT NULL REFERENCES approval_requests (id),
      identity TEXT NOT NULL,
      decision TEXT NOT NULL,
      comment TEXT,
      created_at ${int} NOT NULL,
      log_index ${int},
      PRIMARY KEY (request_id, identity)
    );
    CREATE TABLE vetting_records (
      log_index ${int} PRIMARY KEY,
      digest_hex TEXT NOT NULL,
      verdict TEXT NOT NULL,
      created_at ${int} NOT NULL
    );
    CREATE INDEX vetting_records_digest ON vetting_records (digest_hex);
  `;
}
