// The conditions a policy rule sets beyond itself (docs/vetting.md, docs/approvals.md), checked
// by the signing pipeline once it knows the digest and before anything is logged or returned:
// - `requires: [vetted]`: the log must hold a passing vetting record for this exact SHA-256. The
//   store indexes vetting records by digest; the entry itself is read back from the log and
//   decoded, so a row pointing at anything else grants nothing.
// - `approvals: {required, from}`: the first request is held (202, an approval request in the log);
//   once `required` distinct approvers approved it, the same requester sends the same artifact
//   again with `approval=ID` and it is signed exactly once (approved → signed is one statement).
import { randomBytes } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { SignetError } from '../errors.js';
import type { Grant } from '../policy/authorize.js';
import type { ApprovalRule } from '../policy/document.js';
import type { GateOutcome, GateSubject, SignatureLinks } from '../sign/pipeline.js';
import type { ApprovalRequestRecord } from '../store/approval-types.js';
import type { TokenRecord } from '../store/types.js';
import { decodeEntry } from '../tlog/entry.js';
import type { RouteContext } from './context.js';

/**
 * Who a token is, for approvals: the AppRole role, the JWT subject (or role, without one), or the
 * token's display name (named admin tokens). The requester and each approver are this string.
 */
export function identityOf(token: TokenRecord): string {
  if (token.meta.auth === 'jwt' && token.meta.sub) return token.meta.sub;
  return token.meta.role ?? token.displayName;
}

/** The conditions of every rule that allowed this request (an RPM batch authorises per package). */
interface Conditions {
  vetted: boolean;
  approvals?: ApprovalRule;
  rule?: string;
  /** The approved request this signature used. */
  used?: string;
}
const conditions = new WeakMap<FastifyRequest, Conditions>();

/** Called after each authorisation of a signing request. */
export function noteGrant(request: FastifyRequest, grant: Grant | undefined): void {
  if (!grant) return;
  const c = conditions.get(request) ?? { vetted: false };
  if (grant.vetted) c.vetted = true;
  // The strictest approval rule of the batch holds it (more approvals needed).
  if (grant.approvals && (!c.approvals || grant.approvals.required > c.approvals.required)) {
    c.approvals = grant.approvals;
    c.rule = grant.rule;
  }
  conditions.set(request, c);
}

export function requestView(r: ApprovalRequestRecord, now: number): Record<string, unknown> {
  const state = r.state === 'pending' && r.expiresAt <= now ? 'expired' : r.state;
  return {
    id: r.id,
    state,
    requester: r.requesterIdentity,
    key: r.key,
    kind: r.kind,
    name: r.name,
    digest: `${r.digestAlg}:${r.digestHex}`,
    ...(r.packages !== null ? { packages: r.packages } : {}),
    required: r.required,
    approvers: r.approvers,
    approvals: r.decisions.map((d) => ({
      identity: d.identity,
      decision: d.decision,
      ...(d.comment !== null ? { comment: d.comment } : {}),
      time: new Date(d.createdAt).toISOString(),
      ...(d.logIndex !== null ? { log_index: d.logIndex } : {}),
    })),
    created: new Date(r.createdAt).toISOString(),
    expires: new Date(r.expiresAt).toISOString(),
    ...(r.logIndex !== null ? { log_index: r.logIndex } : {}),
    ...(r.signedIndex !== null ? { signed_log_index: r.signedIndex } : {}),
  };
}

/** The log index of a passing vetting record for `sha256`, read back from the log itself. */
export async function passingVetting(ctx: RouteContext, sha256: string): Promise<number | undefined> {
  for (const index of await ctx.store.approvals.passingVettings(sha256)) {
    const [bytes] = await ctx.store.log.readEntries(BigInt(index), BigInt(index + 1));
    if (!bytes) continue;
    let entry;
    try {
      entry = decodeEntry(bytes);
    } catch {
      continue;
    }
    if (entry.kind === 'vet' && entry.verdict === 'pass' && entry.artifact.digest_hex === sha256) return index;
  }
  return undefined;
}

export function createGate(ctx: RouteContext, now: () => number = Date.now): (request: FastifyRequest, subject: GateSubject) => Promise<GateOutcome> {
  return async (request, subject) => {
    const c = conditions.get(request);
    if (!c) return { links: {} };
    const links: { vetting?: SignatureLinks['vetting']; approvals?: SignatureLinks['approvals'] } = {};
    if (c.vetted) {
      if (subject.digestAlg !== 'sha256') {
        throw new SignetError('VETTING_REQUIRED', `the rule requires a vetted artifact, and vetting records name SHA-256 digests: this ${subject.mode} request's digest is ${subject.digestAlg} (send it with --hash sha256)`);
      }
      const entry = await passingVetting(ctx, subject.digestHex);
      if (entry === undefined) throw new SignetError('VETTING_REQUIRED', `the log holds no passing vetting record for sha256:${subject.digestHex} (${subject.name}); run signet vet first`);
      links.vetting = { entry };
    }
    if (c.approvals) {
      const token = request.signetToken!;
      const identity = identityOf(token);
      const id = (request.query as { approval?: string } | undefined)?.approval ?? (request.body as { approval?: string } | undefined)?.approval;
      if (id === undefined) return { pending: await hold(ctx, request, subject, c.approvals, c.rule!, identity, now()) };
      links.approvals = await use(ctx, id, subject, c.rule!, identity, now());
      c.used = id;
    }
    return { links };
  };
}

/** Record on the request which log entry its signature is (GET /v1/requests/:id shows it). */
export async function noteSigned(ctx: RouteContext, request: FastifyRequest, index: bigint): Promise<void> {
  const id = conditions.get(request)?.used;
  if (id !== undefined) await ctx.store.approvals.setSignedIndex(id, Number(index));
}

async function hold(ctx: RouteContext, request: FastifyRequest, s: GateSubject, rule: ApprovalRule, ruleId: string, identity: string, at: number): Promise<Record<string, unknown>> {
  const id = randomBytes(16).toString('hex');
  const expiresAt = at + rule.ttlMs;
  await ctx.store.approvals.createRequest({
    id,
    requesterIdentity: identity,
    requesterAccessor: request.signetToken!.accessor,
    key: s.key,
    kind: s.kind,
    name: s.name,
    mode: s.mode,
    digestAlg: s.digestAlg,
    digestHex: s.digestHex,
    packages: s.packages ?? null,
    rule: ruleId,
    required: rule.required,
    approvers: rule.from,
    createdAt: at,
    expiresAt,
  });
  const index = await ctx.log.recordApprovalRequest(request, {
    requestId: id,
    kind: s.kind,
    keyFingerprint: s.keyFingerprint,
    name: s.name,
    digestAlg: s.digestAlg as 'sha256' | 'sha512',
    digestHex: s.digestHex,
    ...(s.packages !== undefined ? { packages: s.packages } : {}),
    required: rule.required,
    approvers: rule.from,
    identity,
    rule: ruleId,
    expires: expiresAt,
  });
  await ctx.store.approvals.setRequestLogIndex(id, Number(index));
  request.signetAudit = { ...request.signetAudit, event: 'approval.request', request_id: id, key: s.key, kind: s.kind, artifact: s.name, digest: `${s.digestAlg}:${s.digestHex}`, log_index: Number(index) };
  return {
    status: 'pending_approval',
    request: {
      id,
      digest: `${s.digestAlg}:${s.digestHex}`,
      ...(s.packages !== undefined ? { packages: s.packages } : {}),
      required: rule.required,
      approvers: rule.from,
      expires: new Date(expiresAt).toISOString(),
      log: { index: Number(index), origin: ctx.log.service.origin },
    },
  };
}

async function use(ctx: RouteContext, id: string, s: GateSubject, ruleId: string, identity: string, at: number): Promise<NonNullable<SignatureLinks['approvals']>> {
  const r = await ctx.store.approvals.getRequest(id);
  if (!r) throw new SignetError('REQUEST_NOT_FOUND', `no approval request ${id}`);
  if (r.requesterIdentity !== identity) throw new SignetError('APPROVAL_DENIED', `request ${id} was made by ${r.requesterIdentity}: only it may use the approval`);
  if (r.key !== s.key || r.kind !== s.kind || r.mode !== s.mode || r.digestAlg !== s.digestAlg || r.digestHex !== s.digestHex || r.rule !== ruleId) {
    throw new SignetError('APPROVAL_MISMATCH', `request ${id} approved ${r.digestAlg}:${r.digestHex} with key ${r.key} for ${r.kind}; this is ${s.digestAlg}:${s.digestHex} with key ${s.key} for ${s.kind}`);
  }
  if (r.state === 'rejected') throw new SignetError('REQUEST_REJECTED', `request ${id} was rejected by ${r.decisions.find((d) => d.decision === 'reject')?.identity ?? 'an approver'}`);
  if (r.state === 'signed') throw new SignetError('REQUEST_CLOSED', `request ${id} has already been signed`);
  if (r.expiresAt <= at) throw new SignetError('REQUEST_EXPIRED', `request ${id} expired at ${new Date(r.expiresAt).toISOString()}`);
  const approvals = r.decisions.filter((d) => d.decision === 'approve');
  if (r.state !== 'approved') throw new SignetError('REQUEST_PENDING', `request ${id} has ${approvals.length} of ${r.required} approvals`);
  // Every approval counted must be in the log before the signature that cites it.
  if (r.logIndex === null || approvals.some((d) => d.logIndex === null)) throw new SignetError('REQUEST_PENDING', `request ${id}: an approval is not in the log yet`);
  if (!(await ctx.store.approvals.consume(id))) throw new SignetError('REQUEST_CLOSED', `request ${id} has already been signed`);
  return { request_id: id, request_entry: r.logIndex, entries: approvals.map((d) => d.logIndex!) };
}

/** POST /v1/requests/:id/approve|reject: one approver's decision, in the store, then in the log. */
export async function decide(ctx: RouteContext, request: FastifyRequest, id: string, decision: 'approve' | 'reject', comment: string | undefined, now: number): Promise<ApprovalRequestRecord> {
  const token = await ctx.authenticate(request);
  const identity = identityOf(token);
  const r = await ctx.store.approvals.getRequest(id);
  if (!r) throw new SignetError('REQUEST_NOT_FOUND', `no approval request ${id}`);
  const requester = identity === r.requesterIdentity || token.accessor === r.requesterAccessor;
  // The requester may withdraw its own request (a rejection), never approve it.
  if (requester && decision === 'approve') throw new SignetError('APPROVAL_DENIED', `${identity} made request ${id} and cannot approve it`);
  if (!requester && !r.approvers.includes(identity)) throw new SignetError('APPROVAL_DENIED', `${identity} is not an approver of request ${id}`);
  if (r.logIndex === null) throw new SignetError('REQUEST_PENDING', `request ${id} is not in the log yet`);
  await ctx.store.approvals.decide(id, { identity, decision, comment: comment ?? null, at: now });
  const index = await ctx.log.recordApproval(request, {
    requestId: id,
    requestEntry: r.logIndex,
    decision,
    identity,
    ...(comment !== undefined ? { comment } : {}),
  });
  await ctx.store.approvals.setDecisionLogIndex(id, identity, Number(index));
  request.signetAudit = { ...request.signetAudit, event: `approval.${decision}`, request_id: id, identity, log_index: Number(index) };
  return (await ctx.store.approvals.getRequest(id))!;
}
