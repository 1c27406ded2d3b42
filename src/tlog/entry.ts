// signet's log entry: one per signature made and one per key lifecycle event. The leaf is the
// entry's canonical JSON (Rekor v2 does the same with its protobuf-JSON entries): keys sorted,
// no white space, UTF-8, integers only, no absent-vs-undefined ambiguity, at most 65535 bytes so
// it fits a tlog-tiles entry bundle. Decoding accepts only the exact canonical bytes of a valid
// entry, so an entry has one encoding and therefore one leaf hash.
// There is deliberately no field that could hold a secret (token, secret_id, key material).
import { z } from 'zod';

import { SignetError } from '../errors.js';
import { decodeUtf8, hasControlCharacter } from './encoding.js';
import { hashLeaf } from './rfc6962.js';
import { MAX_ENTRY_BYTES } from './tiles.js';

/** Signature kinds the log knows (policy `kinds`); adding one is a schema change, not a version. */
// The artifact kinds of policies (src/policy/authorize.ts ARTIFACT_KINDS), listed here because
// the core does not import the server side.
export const SIGNATURE_KINDS = ['detached', 'clearsign', 'rpm', 'yum', 'apt', 'pacman', 'sums', 'git'] as const;
export const KEY_EVENTS = ['create', 'import', 'rotate', 'revoke', 'purpose', 'expire', 'disable', 'enable', 'delete', 'subkey'] as const;
/** Reasons a revoke entry names (RFC 9580 §5.2.3.31). */
export const REVOCATION_REASONS = ['compromised', 'superseded', 'retired', 'unspecified'] as const;
export const KEY_ALGORITHMS = ['rsa4096', 'ed25519', 'ecdsa-p256', 'ed448', 'mldsa65-ed25519', 'mldsa87-ed448'] as const;
const DIGEST_HEX_LENGTH = { sha256: 64, sha384: 96, sha512: 128 } as const;

const text = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .refine((s) => !hasControlCharacter(s), 'control characters are not allowed');
const lowerHex = (length: number) => z.string().regex(new RegExp(`^[0-9a-f]{${length}}$`));
/** OpenPGP v4 (40) or v6 (64) fingerprint, upper-case hex as the key store writes it. */
const fingerprint = z.string().regex(/^(?:[0-9A-F]{40}|[0-9A-F]{64})$/);
/** RFC 3339, UTC, millisecond precision: exactly what Date.prototype.toISOString prints. */
const time = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/)
  .refine((s) => {
    const parsed = new Date(s);
    return !Number.isNaN(parsed.getTime()) && parsed.toISOString() === s;
  }, 'not a real UTC time');

// Who asked. Entries written since the public log stopped naming requesters carry the role (when
// the token has one) and `token_hmac`, a keyed hash of the token's accessor (128 bits, hex) that
// links one token's entries without naming the token or the client's address; the audit log keeps
// both. Older entries carry `token_accessor` and `source` and keep verifying as they were written.
const requester = z
  .strictObject({
    role: text(256).optional(),
    token_accessor: text(128).optional(),
    /** Where the request came from, e.g. the client address (older entries). */
    source: text(256).optional(),
    token_hmac: lowerHex(32).optional(),
  })
  .refine((r) => r.token_hmac !== undefined || (r.token_accessor !== undefined && r.source !== undefined), 'token_hmac, or token_accessor and source');

const artifact = z
  .strictObject({
    name: text(4096),
    digest_alg: z.enum(['sha256', 'sha384', 'sha512']),
    digest_hex: z.string().regex(/^[0-9a-f]+$/),
    nevra: text(1024).optional(),
    header_digest: lowerHex(64).optional(),
  })
  .refine((a) => a.digest_hex.length === DIGEST_HEX_LENGTH[a.digest_alg], 'digest length does not match its algorithm');

/** Links a signature to what allowed it beyond its rule (docs/vetting.md, docs/approvals.md):
 *  the log index of the vetting record it relied on, and of the approval request and approvals. */
const entryIndex = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const requestId = z.string().regex(/^[0-9a-f]{32}$/);

const signatureEntry = z.strictObject({
  v: z.literal(1),
  kind: z.literal('signature'),
  sig_kind: z.enum(SIGNATURE_KINDS),
  key_fingerprint: fingerprint,
  artifact,
  /** SHA-256 of the signature packet bytes returned to the client. */
  signature_sha256: lowerHex(64),
  requester,
  /** The policy rule that allowed the request. */
  rule: text(256).optional(),
  time,
  correlation_id: text(128).optional(),
  /** The passing vetting record (`kind: vet`) a `requires: [vetted]` rule relied on. */
  vetting: z.strictObject({ entry: entryIndex }).optional(),
  /** The approval request and the approvals an `approvals:` rule waited for. */
  approvals: z.strictObject({ request_id: requestId, request_entry: entryIndex, entries: z.array(entryIndex).min(1).max(64) }).optional(),
});

const keyEntry = z.strictObject({
  v: z.literal(1),
  kind: z.literal('key'),
  event: z.enum(KEY_EVENTS),
  key_fingerprint: fingerprint,
  key_name: text(256),
  algorithm: z.enum(KEY_ALGORITHMS),
  /** The kinds the key may sign, comma-separated (docs/policy.md "Key purposes"): on create,
   *  import and purpose events. Entries from before purposes existed have none. */
  purposes: z
    .string()
    .regex(new RegExp(`^(?:${SIGNATURE_KINDS.join('|')})(?:,(?:${SIGNATURE_KINDS.join('|')}))*$`), 'a comma-separated list of kinds')
    .max(128)
    .optional(),
  /** rotate: the version the new one (key_fingerprint) replaces. */
  previous_fingerprint: fingerprint.optional(),
  /** subkey: the signing subkey added to the version key_fingerprint. */
  subkey_fingerprint: fingerprint.optional(),
  /** revoke: the reason published in the revocation signature. */
  reason: z.enum(REVOCATION_REASONS).optional(),
  /** expire: the new key expiration time, or `never`. */
  expires: z.union([time, z.literal('never')]).optional(),
  time,
  requester,
});

/** A vetting record (docs/vetting.md): a tarball checked against a signed git tag. */
const vetEntry = z.strictObject({
  v: z.literal(1),
  kind: z.literal('vet'),
  artifact: z.strictObject({ name: text(4096), digest_alg: z.literal('sha256'), digest_hex: lowerHex(64) }),
  repository: text(1024),
  tag: text(256),
  /** The annotated tag object's id (SHA-1 or SHA-256 object format). */
  tag_object: z.string().regex(/^(?:[0-9a-f]{40}|[0-9a-f]{64})$/),
  /** The key that made the tag's signature (absent when the signature did not verify). */
  tag_signer: fingerprint.optional(),
  /** The globs of files the project lets its sdist step add. */
  allowed: z.array(text(256)).max(256),
  verdict: z.enum(['pass', 'fail']),
  reason: text(1024).optional(),
  /** `client`: checked by the submitting token's host; `server`: by the server on its mirror. */
  mode: z.enum(['client', 'server']),
  requester,
  time,
  correlation_id: text(128).optional(),
});

/** A signing request held for approvals (docs/approvals.md). */
const approvalRequestEntry = z.strictObject({
  v: z.literal(1),
  kind: z.literal('approval_request'),
  request_id: requestId,
  sig_kind: z.enum(SIGNATURE_KINDS),
  key_fingerprint: fingerprint,
  /** The artifact, or for an RPM batch its manifest: SHA-256 of the sorted header digests, one a line. */
  artifact: z.strictObject({ name: text(4096), digest_alg: z.enum(['sha256', 'sha384', 'sha512']), digest_hex: z.string().regex(/^[0-9a-f]+$/), packages: z.number().int().min(1).max(100_000).optional() }),
  required: z.number().int().min(1).max(64),
  approvers: z.array(text(256)).min(1).max(256),
  requester,
  /** The requester's identity (role, JWT subject or token name): it cannot approve. */
  identity: text(256),
  rule: text(256),
  expires: time,
  time,
  correlation_id: text(128).optional(),
});

/** One approver's decision on a request. */
const approvalEntry = z.strictObject({
  v: z.literal(1),
  kind: z.literal('approval'),
  request_id: requestId,
  request_entry: entryIndex,
  decision: z.enum(['approve', 'reject']),
  identity: text(256),
  comment: text(1024).optional(),
  requester,
  time,
});

export const logEntrySchema = z.discriminatedUnion('kind', [signatureEntry, keyEntry, vetEntry, approvalRequestEntry, approvalEntry]);

export type LogEntry = z.infer<typeof logEntrySchema>;
export type SignatureLogEntry = z.infer<typeof signatureEntry>;
export type KeyLogEntry = z.infer<typeof keyEntry>;
export type VetLogEntry = z.infer<typeof vetEntry>;
export type ApprovalRequestLogEntry = z.infer<typeof approvalRequestEntry>;
export type ApprovalLogEntry = z.infer<typeof approvalEntry>;

function malformed(message: string, cause?: unknown): never {
  throw new SignetError('TLOG_ENTRY_MALFORMED', message, cause === undefined ? undefined : { cause });
}

function validate(value: unknown): LogEntry {
  const result = logEntrySchema.safeParse(value);
  if (!result.success) {
    // Name the failing field, never echo its value.
    const issue = result.error.issues[0];
    malformed(`invalid log entry at ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`);
  }
  return result.data;
}

/** Deterministic JSON: sorted keys, no white space, undefined members omitted, integers only;
 *  arrays (vetting patterns, approvers, approval indices) keep their order. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v)).join(',')}]`;
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) malformed('log entries hold integers only');
    return String(value);
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const members = Object.keys(value)
      .sort()
      .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
      .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`);
    return `{${members.join(',')}}`;
  }
  return malformed('log entries hold strings, integers, arrays and objects only');
}

// ---- the signing path's check ----
// Every signature the server makes is encoded here, and the zod schema above costs more than
// the rest of the encoding. isValidSignatureEntry answers `true` only for an entry the schema
// accepts (entry.property.test.ts holds it to that on valid and mutated entries); anything else,
// including what it does not know how to judge, goes through the schema as before.

const SIGNATURE_KIND_SET: ReadonlySet<string> = new Set(SIGNATURE_KINDS);
const SIGNATURE_KEYS: ReadonlySet<string> = new Set(['v', 'kind', 'sig_kind', 'key_fingerprint', 'artifact', 'signature_sha256', 'requester', 'rule', 'time', 'correlation_id']);
const ARTIFACT_KEYS: ReadonlySet<string> = new Set(['name', 'digest_alg', 'digest_hex', 'nevra', 'header_digest']);
const REQUESTER_KEYS: ReadonlySet<string> = new Set(['role', 'token_accessor', 'source', 'token_hmac']);
const FINGERPRINT = /^(?:[0-9A-F]{40}|[0-9A-F]{64})$/;
const LOWER_HEX = /^[0-9a-f]+$/;
const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;
const isText = (v: unknown, max: number): boolean => typeof v === 'string' && v.length >= 1 && v.length <= max && !hasControlCharacter(v);
const optionalText = (o: Record<string, unknown>, key: string, max: number): boolean => !(key in o) || isText(o[key], max);
const isLowerHex = (v: unknown, length?: number): boolean => typeof v === 'string' && (length === undefined || v.length === length) && LOWER_HEX.test(v);
/** Only the listed keys, none of them holding undefined. */
function onlyKeys(o: Record<string, unknown>, allowed: ReadonlySet<string>): boolean {
  for (const key in o) if (!allowed.has(key) || o[key] === undefined) return false;
  return true;
}

export function isValidSignatureEntry(e: unknown): boolean {
  if (!isRecord(e) || !onlyKeys(e, SIGNATURE_KEYS)) return false;
  if (e.v !== 1 || e.kind !== 'signature' || typeof e.sig_kind !== 'string' || !SIGNATURE_KIND_SET.has(e.sig_kind)) return false;
  if (typeof e.key_fingerprint !== 'string' || !FINGERPRINT.test(e.key_fingerprint)) return false;
  if (!isLowerHex(e.signature_sha256, 64) || !optionalText(e, 'rule', 256) || !optionalText(e, 'correlation_id', 128)) return false;
  const a = e.artifact;
  if (!isRecord(a) || !onlyKeys(a, ARTIFACT_KEYS) || !isText(a.name, 4096) || !optionalText(a, 'nevra', 1024)) return false;
  if ('header_digest' in a && !isLowerHex(a.header_digest, 64)) return false;
  const alg = a.digest_alg;
  if (alg !== 'sha256' && alg !== 'sha384' && alg !== 'sha512') return false;
  if (!isLowerHex(a.digest_hex, DIGEST_HEX_LENGTH[alg])) return false;
  const r = e.requester;
  if (!isRecord(r) || !onlyKeys(r, REQUESTER_KEYS) || !optionalText(r, 'token_accessor', 128) || !optionalText(r, 'source', 256) || !optionalText(r, 'role', 256)) return false;
  if ('token_hmac' in r ? !isLowerHex(r.token_hmac, 32) : !('token_accessor' in r && 'source' in r)) return false;
  const t = e.time;
  if (typeof t !== 'string' || !TIME.test(t)) return false;
  const parsed = new Date(t);
  return !Number.isNaN(parsed.getTime()) && parsed.toISOString() === t;
}

/**
 * canonicalJson of a signature entry that passed isValidSignatureEntry, member by member in the
 * sorted order (hex digests, kinds and times need no escaping once checked). The property test
 * holds it to canonicalJson (decodeEntry re-encodes and compares bytes).
 */
function canonicalSignatureEntry(e: SignatureLogEntry): string {
  const a = e.artifact;
  const r = e.requester;
  const str = JSON.stringify;
  return (
    `{"artifact":{"digest_alg":"${a.digest_alg}","digest_hex":"${a.digest_hex}"` +
    (a.header_digest !== undefined ? `,"header_digest":"${a.header_digest}"` : '') +
    `,"name":${str(a.name)}` +
    (a.nevra !== undefined ? `,"nevra":${str(a.nevra)}` : '') +
    '}' +
    (e.correlation_id !== undefined ? `,"correlation_id":${str(e.correlation_id)}` : '') +
    `,"key_fingerprint":"${e.key_fingerprint}","kind":"signature","requester":{` +
    [
      r.role !== undefined ? `"role":${str(r.role)}` : undefined,
      r.source !== undefined ? `"source":${str(r.source)}` : undefined,
      r.token_accessor !== undefined ? `"token_accessor":${str(r.token_accessor)}` : undefined,
      r.token_hmac !== undefined ? `"token_hmac":"${r.token_hmac}"` : undefined,
    ]
      .filter((m) => m !== undefined)
      .join(',') +
    '}' +
    (e.rule !== undefined ? `,"rule":${str(e.rule)}` : '') +
    `,"sig_kind":"${e.sig_kind}","signature_sha256":"${e.signature_sha256}","time":"${e.time}","v":1}`
  );
}

export function encodeEntry(entry: LogEntry): Buffer {
  const json = isValidSignatureEntry(entry) ? canonicalSignatureEntry(entry as SignatureLogEntry) : canonicalJson(validate(entry));
  const bytes = Buffer.from(json, 'utf8');
  if (bytes.length > MAX_ENTRY_BYTES) malformed('log entry exceeds 65535 bytes');
  return bytes;
}

export function decodeEntry(bytes: Uint8Array): LogEntry {
  if (bytes.length > MAX_ENTRY_BYTES) malformed('log entry exceeds 65535 bytes');
  const json = decodeUtf8(bytes);
  if (json === undefined) malformed('log entry is not valid UTF-8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (e) {
    malformed('log entry is not JSON', e);
  }
  const entry = validate(parsed);
  // Byte-exact re-encoding rejects white space, key order, escapes and duplicate keys: one
  // entry, one leaf hash.
  if (!Buffer.from(canonicalJson(entry), 'utf8').equals(bytes)) malformed('log entry is not canonical JSON');
  return entry;
}

export function entryLeafHash(entry: LogEntry): Buffer {
  return hashLeaf(encodeEntry(entry));
}
