// The transparency log over HTTP. Reads are public and unauthenticated (anyone may audit):
//   GET /v1/log/checkpoint                 latest signed checkpoint (C2SP tlog-checkpoint note)
//   GET /v1/log/key                        the log's verifier key (C2SP signed-note vkey)
//   GET /v1/log/entries?start&end          JSON, base64 entries, at most 1000 per request
//   GET /v1/log/proof/inclusion?index[&size]   RFC 9162 inclusion proof (size: default latest)
//   GET /v1/log/proof/consistency?first&second RFC 9162 consistency proof
//   GET /v1/log/receipt?index              C2SP tlog-proof receipt (what `signet log proof` prints)
//   GET /v1/log/tile/…                     C2SP tlog-tiles (with /v1/log/checkpoint: a static mirror)
// and the recorder routes use to log what they sign before they answer (invariant 4).
import { createHmac, hash, hkdfSync, randomBytes } from 'node:crypto';
import type { PipelineLogRecord } from '../../sign/pipeline.js';
import type { FastifyRequest } from 'fastify';
import { SignetError } from '../../errors.js';
import type { Secret } from '../../secret.js';
import type { KEY_EVENTS, LogEntry, REVOCATION_REASONS } from '../../tlog/entry.js';
import type { KeyAlgorithm } from '../../openpgp/index.js';
import type { LogService } from '../../tlog/service.js';
import type { RouteModule } from '../context.js';
import { consistencyQuery, entriesQuery, inclusionQuery, receiptQuery } from '../../api/schemas.js';
import { hasControlCharacters, parse } from '../validation.js';

const CORRELATION_HEADER = 'x-signet-correlation-id';

/** What a signing route knows about one signature it is about to return: the pipeline's record
 *  (src/sign/pipeline.ts), one type for both ends. */
export type SignatureRecord = PipelineLogRecord;

export interface KeyEventRecord {
  readonly event: (typeof KEY_EVENTS)[number];
  readonly keyName: string;
  readonly keyFingerprint: string;
  readonly algorithm: KeyAlgorithm;
  /** The key's purposes after the event. */
  readonly purposes?: readonly string[];
  /** Lifecycle details (docs/log-format.md "Key entry"). */
  readonly previousFingerprint?: string;
  readonly subkeyFingerprint?: string;
  readonly reason?: (typeof REVOCATION_REASONS)[number];
  readonly expires?: string;
}

/** A vetting record (docs/vetting.md), as the vet routes log it. */
export interface VetRecord {
  readonly name: string;
  readonly sha256: string;
  readonly repository: string;
  readonly tag: string;
  readonly tagObject: string;
  readonly tagSigner?: string;
  readonly allowed: readonly string[];
  readonly verdict: 'pass' | 'fail';
  readonly reason?: string;
  readonly mode: 'client' | 'server';
}

/** A signing request held for approvals (docs/approvals.md). */
export interface ApprovalRequestRecord {
  readonly requestId: string;
  readonly kind: SignatureRecord['kind'];
  readonly keyFingerprint: string;
  readonly name: string;
  readonly digestAlg: 'sha256' | 'sha384' | 'sha512';
  readonly digestHex: string;
  readonly packages?: number;
  readonly required: number;
  readonly approvers: readonly string[];
  readonly identity: string;
  readonly rule: string;
  readonly expires: number;
}

export interface ApprovalRecord {
  readonly requestId: string;
  readonly requestEntry: number;
  readonly decision: 'approve' | 'reject';
  readonly identity: string;
  readonly comment?: string;
}

/** What goes in a sign response: the entry's index, and a receipt when the client waited. */
export interface LogReference {
  readonly index: number;
  readonly origin: string;
  readonly receipt?: string;
}

export interface LogRecorder {
  readonly service: LogService;
  /** Durably log a signature; resolve only after the commit. Throws (fail closed) otherwise. */
  recordSignature(request: FastifyRequest, record: SignatureRecord): Promise<bigint>;
  recordKeyEvent(request: FastifyRequest, record: KeyEventRecord): Promise<bigint>;
  recordVet(request: FastifyRequest, record: VetRecord): Promise<bigint>;
  recordApprovalRequest(request: FastifyRequest, record: ApprovalRequestRecord): Promise<bigint>;
  recordApproval(request: FastifyRequest, record: ApprovalRecord): Promise<bigint>;
  /** `{index, origin}`, plus a receipt if `wait` (waits for the next checkpoint, ~0.5 s). */
  reference(index: bigint, wait: boolean): Promise<LogReference>;
  /** The `token_hmac` that entries made with this accessor carry (log search joins on it). */
  requesterHash(accessor: string): string;
}

/**
 * The public log names the role and a keyed hash of the token's accessor, never the accessor or
 * the client's address (those stay in the audit log, which only operators read). The key comes
 * from the master key (requesterKey), so only the server can link a hash to an accessor.
 */
function requester(request: FastifyRequest, key: Buffer): LogEntry['requester'] {
  const token = request.signetToken;
  if (!token) throw new SignetError('INTERNAL', 'a logged request must be authenticated first');
  const role = token.meta.role;
  return { ...(role ? { role } : {}), token_hmac: accessorHash(key, token.accessor) };
}

function accessorHash(key: Buffer, accessor: string): string {
  return createHmac('sha256', key).update(accessor, 'utf8').digest('hex').slice(0, 32);
}

/** The key of the log's requester hashes: HKDF-SHA256 of the master key (never the master key itself). */
export function requesterKey(master: Secret): Buffer {
  return Buffer.from(hkdfSync('sha256', master.reveal(), Buffer.alloc(0), Buffer.from('signet log requester v1', 'utf8'), 32));
}

/** Optional client correlation ID (X-Signet-Correlation-Id), logged verbatim: bounded and printable. */
function correlationId(request: FastifyRequest): string | undefined {
  const raw = request.headers[CORRELATION_HEADER];
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (value === undefined) return undefined;
  if (value.length === 0 || value.length > 128 || hasControlCharacters(value)) {
    throw new SignetError('BAD_REQUEST', 'X-Signet-Correlation-Id must be 1-128 printable characters');
  }
  return value;
}

const sha256Hex = (bytes: Buffer): string => hash('sha256', bytes, 'hex');

export function createLogRecorder(service: LogService, key: Buffer = randomBytes(32)): LogRecorder {
  return {
    service,
    requesterHash: (accessor) => accessorHash(key, accessor),
    recordSignature(request, record) {
      const correlation = correlationId(request);
      return service.append({
        v: 1,
        kind: 'signature',
        sig_kind: record.kind,
        key_fingerprint: record.keyFingerprint,
        artifact: {
          name: record.artifact.name,
          ...('sha256Hex' in record.artifact
            ? { digest_alg: 'sha256' as const, digest_hex: record.artifact.sha256Hex }
            : { digest_alg: record.artifact.digestAlg, digest_hex: record.artifact.digestHex }),
          ...(record.artifact.nevra !== undefined ? { nevra: record.artifact.nevra } : {}),
          ...(record.artifact.headerSha256Hex !== undefined ? { header_digest: record.artifact.headerSha256Hex } : {}),
        },
        signature_sha256: sha256Hex(record.signaturePacket),
        requester: requester(request, key),
        ...(record.rule !== undefined ? { rule: record.rule } : {}),
        time: new Date().toISOString(),
        ...(correlation !== undefined ? { correlation_id: correlation } : {}),
        ...(record.links?.vetting ? { vetting: { entry: record.links.vetting.entry } } : {}),
        ...(record.links?.approvals ? { approvals: { ...record.links.approvals, entries: [...record.links.approvals.entries] } } : {}),
      });
    },
    recordVet(request, r) {
      const correlation = correlationId(request);
      return service.append({
        v: 1,
        kind: 'vet',
        artifact: { name: r.name, digest_alg: 'sha256', digest_hex: r.sha256 },
        repository: r.repository,
        tag: r.tag,
        tag_object: r.tagObject,
        ...(r.tagSigner !== undefined ? { tag_signer: r.tagSigner } : {}),
        allowed: [...r.allowed],
        verdict: r.verdict,
        ...(r.reason !== undefined ? { reason: r.reason.slice(0, 1024) } : {}),
        mode: r.mode,
        requester: requester(request, key),
        time: new Date().toISOString(),
        ...(correlation !== undefined ? { correlation_id: correlation } : {}),
      });
    },
    recordApprovalRequest(request, r) {
      const correlation = correlationId(request);
      return service.append({
        v: 1,
        kind: 'approval_request',
        request_id: r.requestId,
        sig_kind: r.kind,
        key_fingerprint: r.keyFingerprint,
        artifact: { name: r.name, digest_alg: r.digestAlg, digest_hex: r.digestHex, ...(r.packages !== undefined ? { packages: r.packages } : {}) },
        required: r.required,
        approvers: [...r.approvers],
        requester: requester(request, key),
        identity: r.identity,
        rule: r.rule,
        expires: new Date(r.expires).toISOString(),
        time: new Date().toISOString(),
        ...(correlation !== undefined ? { correlation_id: correlation } : {}),
      });
    },
    recordApproval(request, r) {
      return service.append({
        v: 1,
        kind: 'approval',
        request_id: r.requestId,
        request_entry: r.requestEntry,
        decision: r.decision,
        identity: r.identity,
        ...(r.comment !== undefined ? { comment: r.comment } : {}),
        requester: requester(request, key),
        time: new Date().toISOString(),
      });
    },
    recordKeyEvent(request, record) {
      return service.append({
        v: 1,
        kind: 'key',
        event: record.event,
        key_fingerprint: record.keyFingerprint,
        key_name: record.keyName,
        algorithm: record.algorithm,
        ...(record.purposes ? { purposes: record.purposes.join(',') } : {}),
        ...(record.previousFingerprint !== undefined ? { previous_fingerprint: record.previousFingerprint } : {}),
        ...(record.subkeyFingerprint !== undefined ? { subkey_fingerprint: record.subkeyFingerprint } : {}),
        ...(record.reason !== undefined ? { reason: record.reason } : {}),
        ...(record.expires !== undefined ? { expires: record.expires } : {}),
        time: new Date().toISOString(),
        requester: requester(request, key),
      });
    },
    async reference(index, wait) {
      const base = { index: Number(index), origin: service.origin };
      if (!wait) return base;
      const tree = await service.awaitIntegration(index);
      return { ...base, receipt: (await service.receipt(index, tree)).receipt };
    },
  };
}

export const logRoutes: RouteModule = (app, ctx) => {
  const log = ctx.log.service;

  app.get('/v1/log/checkpoint', async (_request, reply) => {
    const tree = await log.tree();
    // Mutable: cache for a moment at most (tlog-tiles).
    return reply.type('text/plain; charset=utf-8').header('cache-control', 'no-cache').send(tree.checkpoint);
  });

  app.get('/v1/log/key', async (_request, reply) => {
    return reply.type('text/plain; charset=utf-8').send(`${log.verifierKey}\n`);
  });

  app.get('/v1/log/entries', async (request) => {
    const q = parse(entriesQuery, request.query, 'QUERY_INVALID');
    const { start, entries } = await log.entries(q.start, q.end);
    return { start: Number(start), entries: entries.map((e) => e.toString('base64')) };
  });

  app.get('/v1/log/proof/inclusion', async (request) => {
    const q = parse(inclusionQuery, request.query, 'QUERY_INVALID');
    const tree = await log.tree();
    const size = q.size ?? tree.size;
    const proof = await log.inclusionProof(q.index, size);
    return {
      index: Number(q.index),
      size: Number(size),
      proof: proof.map((h) => h.toString('base64')),
      ...(size === tree.size ? { checkpoint: tree.checkpoint } : {}),
    };
  });

  app.get('/v1/log/proof/consistency', async (request) => {
    const q = parse(consistencyQuery, request.query, 'QUERY_INVALID');
    const proof = await log.consistencyProof(q.first, q.second);
    return { first: Number(q.first), second: Number(q.second), proof: proof.map((h) => h.toString('base64')) };
  });

  app.get('/v1/log/receipt', async (request, reply) => {
    const q = parse(receiptQuery, request.query, 'QUERY_INVALID');
    const { receipt } = await log.receipt(q.index);
    return reply.type('text/plain; charset=utf-8').send(receipt);
  });

  app.get('/v1/log/tile/*', async (request, reply) => {
    const path = `tile/${(request.params as { '*': string })['*']}`;
    const body = await log.tile(path);
    // Tiles and bundles never change once the tree covers them (a partial tile is a prefix).
    return reply.type('application/octet-stream').header('cache-control', 'public, max-age=31536000, immutable').send(body);
  });
};
