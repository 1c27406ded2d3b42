// The one signing pipeline every signing route goes through (docs/security.md "The signing
// boundary"): refuse what the route or mode cannot sign (KIND_MISMATCH, before any policy is
// consulted or rate counted) → authorise (audited) → check the key's purposes (KEY_PURPOSE) → sign,
// the kind's content check running on the streamed body (CONTENT_INVALID) → durable log entry →
// audit record → answer.
// Routes only map HTTP onto it (src/server/routes/sign.ts, midstate.ts, rpm.ts), so a new route
// cannot forget a step. The pipeline knows nothing of HTTP: the request is an opaque handle the
// dependencies (authorisation, log, audit) are given back.
import { createHash } from 'node:crypto';
import { SignetError } from '../errors.js';
import type { HashAlgorithm } from '../openpgp/index.js';
import type { ArtifactKind } from '../policy/kinds.js';
import { ARTIFACT_KINDS } from '../policy/kinds.js';
import { isV4Only, requireV4For } from '../keys/profile.js';
import type { KeyRecord } from '../store/types.js';
import { checkMidstateTail, contentCheck } from './content.js';
import { signArtifact, type Signer } from './engine.js';
import { signMidstate } from './midstate.js';
import { signRpmHeaders, type RpmItemResult } from './rpm.js';

/** Kinds that make cleartext signatures (type 0x01): clearsign, and apt's InRelease. */
export const CLEAR_KINDS: ReadonlySet<ArtifactKind> = new Set<ArtifactKind>(['clearsign', 'apt']);
/** Kinds whose content a midstate request may stand for: the server sees only the last partial
 *  block, so only kinds whose signatures no stock tool reads as anything but "these bytes". */
export const MIDSTATE_KINDS = ['detached', 'sums'] as const;
/** A key with one of these purposes never signs in midstate mode: a midstate signature covers
 *  bytes the server never saw, which could be an RPM header or a git object. */
export const NO_MIDSTATE_PURPOSES: readonly ArtifactKind[] = ['rpm', 'git'];

export interface PipelineSigner extends Signer {
  readonly record: KeyRecord;
}

/** What the pipeline needs from the server; `R` is the request handle it passes back. */
export interface PipelineDeps<R> {
  /** Throws POLICY_DENIED / RATE_LIMITED / TOKEN_*; resolves with the rule that allowed it. */
  authorize(request: R, action: { op: 'sign'; key: string; kind: ArtifactKind; name: string; mode: 'content' | 'midstate' }): Promise<string | undefined>;
  signer(key: string): Promise<PipelineSigner>;
  /** Durably log a signature; resolves after the commit (nothing leaves before). */
  recordSignature(request: R, record: PipelineLogRecord): Promise<bigint>;
  /** The answer's `log` object. */
  reference(index: bigint, receipt: boolean): Promise<{ index: number; origin: string; receipt?: string }>;
  /** The request's audit/access record. */
  audit(request: R, fields: Record<string, unknown>): void;
  recordSigning(key: string, kind: ArtifactKind, seconds: number, count?: number): void;
  readonly maxArtifactBytes: number;
  /**
   * The conditions of the rules that allowed the request (`requires: [vetted]`, `approvals:`),
   * checked once the digest is known and before anything is logged or returned: throws to refuse
   * (the signature made is dropped), or holds the request for approvals. Absent: no conditions.
   */
  gate?(request: R, subject: GateSubject): Promise<GateOutcome>;
  /** After a gated signature is in the log: its (first) entry index, for the request it used. */
  gated?(request: R, index: bigint): Promise<void>;
}

export interface PipelineLogRecord {
  readonly kind: ArtifactKind;
  readonly keyFingerprint: string;
  readonly artifact: ({ readonly sha256Hex: string } | { readonly digestAlg: 'sha256' | 'sha512'; readonly digestHex: string }) & {
    readonly name: string;
    readonly nevra?: string;
    readonly headerSha256Hex?: string;
  };
  readonly signaturePacket: Buffer;
  readonly rule?: string;
  /** What else allowed it: the vetting record, the approval request and its approvals (log indices). */
  readonly links?: SignatureLinks;
}

export interface SignatureLinks {
  readonly vetting?: { readonly entry: number };
  readonly approvals?: { readonly request_id: string; readonly request_entry: number; readonly entries: readonly number[] };
}

/** What a signature is about to be, for the conditions a rule sets beyond itself (gate). */
export interface GateSubject {
  readonly key: string;
  readonly kind: ArtifactKind;
  readonly name: string;
  readonly mode: 'content' | 'midstate' | 'rpm';
  readonly keyFingerprint: string;
  readonly digestAlg: string;
  readonly digestHex: string;
  /** RPM batches: the manifest's package count. */
  readonly packages?: number;
}

/** The gate's answer: sign with these links, or hold the request for approvals (202). */
export type GateOutcome = { readonly links: SignatureLinks } | { readonly pending: Record<string, unknown> };

export interface ContentRequest {
  readonly key: string;
  readonly kind: ArtifactKind;
  readonly name: string;
  readonly clear: boolean;
  readonly armor: boolean;
  readonly hash?: HashAlgorithm;
  readonly receipt: boolean;
}

export interface MidstateRequest {
  readonly key: string;
  readonly kind: ArtifactKind;
  readonly name: string;
  readonly armor: boolean;
  readonly receipt: boolean;
  /** The decoded request body, asked for once the request is authorised. */
  readonly body: () => { readonly hash: string; readonly state: Buffer; readonly length: number; readonly tail: Buffer };
}

/** Whether a key may ever sign `kind` (its purposes). */
export function checkPurpose(record: KeyRecord, kind: ArtifactKind): void {
  if (!record.purposes.includes(kind)) {
    throw new SignetError('KEY_PURPOSE', `key ${record.name} is not for ${kind} signatures (its purposes: ${record.purposes.join(', ')})`);
  }
  // A v6 key never signs what only v4 verifiers read (pacman, git, apt through gpgv):
  // KEY_PROFILE_UNSUPPORTED (docs/keys.md "Profiles: OpenPGP v4 and v6").
  if (isV4Only(kind)) requireV4For(kind, record);
}

/** Parse a purpose list (`rpm,yum`): known kinds, no duplicates, at least one; in canonical order. */
export function parsePurposes(list: readonly string[]): ArtifactKind[] {
  const known = new Set<string>(ARTIFACT_KINDS);
  const seen = new Set<string>();
  for (const p of list) {
    if (!known.has(p)) throw new SignetError('BAD_REQUEST', `unknown purpose ${JSON.stringify(p)} (kinds: ${ARTIFACT_KINDS.join(', ')})`);
    seen.add(p);
  }
  if (seen.size === 0) throw new SignetError('BAD_REQUEST', 'a key needs at least one purpose');
  return ARTIFACT_KINDS.filter((k) => seen.has(k));
}

/** Purposes a key should not combine: one that signs RPM headers and opaque blobs (docs/policy.md). */
export function purposeWarnings(purposes: readonly ArtifactKind[]): string[] {
  return purposes.includes('rpm') && purposes.includes('detached')
    ? ['this key signs both rpm headers and detached blobs: a detached signature in midstate mode is refused on it, and a leaked detached grant is worth more; prefer one key per purpose (docs/policy.md)']
    : [];
}

export class SigningPipeline<R> {
  readonly #deps: PipelineDeps<R>;
  constructor(deps: PipelineDeps<R>) {
    this.#deps = deps;
  }

  /** POST /v1/sign/:key: a detached or cleartext signature of the streamed body. `body` is asked
   *  for once the request is authorised (it throws BODY_EMPTY and the like). */
  async signContent(request: R, req: ContentRequest, body: () => AsyncIterable<Uint8Array>): Promise<Record<string, unknown>> {
    const started = process.hrtime.bigint();
    const { key, kind, name, clear } = req;
    if (kind === 'rpm') throw new SignetError('KIND_MISMATCH', 'kind rpm is signed only through POST /v1/sign/:key/rpm (signet rpm sign), where the server reads the package name from the header');
    if (kind === 'clearsign' && !clear) throw new SignetError('KIND_MISMATCH', 'kind clearsign makes cleartext signatures only: add clear=1');
    if (clear && !CLEAR_KINDS.has(kind)) throw new SignetError('KIND_MISMATCH', `kind ${kind} makes no cleartext signatures (clear=1 is for clearsign and apt)`);
    const rule = await this.#deps.authorize(request, { op: 'sign', key, kind, name, mode: 'content' });
    const signer = await this.#deps.signer(key);
    checkPurpose(signer.record, kind);
    const signed = await signArtifact(signer, body(), {
      mode: clear ? 'clear' : 'binary',
      armor: req.armor,
      maxBytes: this.#deps.maxArtifactBytes,
      check: contentCheck(kind),
      ...(req.hash ? { hashAlgorithm: req.hash } : {}),
    });
    return this.#answer(request, {
      key,
      kind,
      name,
      started,
      signer,
      rule,
      receipt: req.receipt,
      signed: { ...signed, artifactDigest: signed.artifactSha256, digestAlgorithm: 'sha256' },
    });
  }

  /** POST /v1/sign/:key/midstate: a binary signature of a file the client hashed itself. */
  async signMidstate(request: R, req: MidstateRequest): Promise<Record<string, unknown>> {
    const started = process.hrtime.bigint();
    const { key, kind, name } = req;
    if (!(MIDSTATE_KINDS as readonly string[]).includes(kind)) {
      throw new SignetError('KIND_MISMATCH', `midstate mode signs only ${MIDSTATE_KINDS.join(' and ')}: the server must see a ${kind} artifact whole to check it`);
    }
    const rule = await this.#deps.authorize(request, { op: 'sign', key, kind, name, mode: 'midstate' });
    const signer = await this.#deps.signer(key);
    checkPurpose(signer.record, kind);
    const risky = NO_MIDSTATE_PURPOSES.filter((p) => signer.record.purposes.includes(p));
    if (risky.length > 0) {
      throw new SignetError(
        'KEY_PURPOSE',
        `key ${key} also signs ${risky.join(' and ')}: midstate mode (content the server never sees) is refused on it; send the whole file, or use a key without those purposes`,
      );
    }
    const input = req.body();
    checkMidstateTail(kind, input.tail, input.length === 0);
    const signed = await signMidstate(
      signer,
      input,
      { armor: req.armor, maxBytes: this.#deps.maxArtifactBytes },
    );
    return this.#answer(request, {
      key,
      kind,
      name,
      started,
      signer,
      rule,
      receipt: req.receipt,
      mode: 'midstate',
      signed: { ...signed, digestAlgorithm: signed.hashAlgorithm },
    });
  }

  /** POST /v1/sign/:key/rpm: header prefixes in; the policy name is each package's name tag. */
  async signRpm(request: R, key: string, prefixes: readonly Buffer[], replace: boolean, preset: ReadonlyMap<number, SignetError> = new Map()): Promise<Record<string, unknown>> {
    const started = process.hrtime.bigint();
    const grants = new Map<string, string | undefined>();
    const result = await signRpmHeaders(
      prefixes,
      async () => {
        const signer = await this.#deps.signer(key);
        checkPurpose(signer.record, 'rpm');
        return signer;
      },
      {
        replace,
        authorize: async (name) => {
          grants.set(name, await this.#deps.authorize(request, { op: 'sign', key, kind: 'rpm', name, mode: 'content' }));
        },
      },
    );
    // Items that never reached the parser (undecodable) keep their own error.
    const items: RpmItemResult[] = result.items.map((item, i) => {
      const error = preset.get(i);
      return error ? { ok: false, error } : item;
    });
    const signedCount = items.filter((i) => i.ok).length;
    // One gate for the batch: its manifest is the sorted list of the signed headers' SHA-256
    // (one approval for a release of many packages, docs/approvals.md).
    let links: SignatureLinks = {};
    if (this.#deps.gate && result.signer && signedCount > 0) {
      const manifest = rpmManifest(items.flatMap((i) => (i.ok ? [i.identity.headerSha256] : [])));
      const gate = await this.#deps.gate(request, {
        key,
        kind: 'rpm',
        name: `${signedCount} package${signedCount === 1 ? '' : 's'}`,
        mode: 'rpm',
        keyFingerprint: result.signer.record.fingerprint,
        digestAlg: 'sha256',
        digestHex: manifest,
        packages: signedCount,
      });
      if ('pending' in gate) return gate.pending;
      links = gate.links;
    }
    if (signedCount > 0) this.#deps.recordSigning(key, 'rpm', seconds(started), signedCount);
    this.#deps.audit(request, {
      event: 'sign.rpm',
      key,
      kind: 'rpm',
      packages: items.map((i) =>
        i.ok
          ? { nevra: i.identity.nevra, header_sha256: i.identity.headerSha256, payload_digest: i.identity.payloadDigest }
          : { error: i.error.code, ...(i.identity ? { nevra: i.identity.nevra } : {}) },
      ),
    });
    const signer = result.signer;
    // Every signature is durably in the log before any leaves. One failed append fails the whole
    // response (group commit: they share a transaction anyway).
    const logs = new Map<number, { index: number; origin: string }>();
    if (signer) {
      await Promise.all(
        items.map(async (item, i) => {
          if (!item.ok) return;
          const rule = grants.get(item.identity.name);
          const index = await this.#deps.recordSignature(request, {
            kind: 'rpm',
            keyFingerprint: signer.record.fingerprint,
            artifact: { name: item.identity.nevra, sha256Hex: item.identity.headerSha256, nevra: item.identity.nevra, headerSha256Hex: item.identity.headerSha256 },
            signaturePacket: item.packet,
            ...(rule !== undefined ? { rule } : {}),
            ...(links.vetting || links.approvals ? { links } : {}),
          });
          logs.set(i, await this.#deps.reference(index, false));
        }),
      );
      if (links.approvals && logs.size > 0) await this.#deps.gated?.(request, BigInt(Math.min(...[...logs.values()].map((l) => l.index))));
    }
    return {
      key,
      ...(signer ? { fingerprint: signer.record.fingerprint, algorithm: signer.record.algorithm, hash_algorithm: result.hashAlgorithm } : {}),
      created: result.creationTime,
      signed: signedCount,
      failed: items.length - signedCount,
      signatures: items.map((item, i) => {
        const log = logs.get(i);
        // `log` as in the sign route's answer; `log_index` (a decimal string) kept for older clients.
        return log === undefined ? itemView(item) : { ...itemView(item), log, log_index: String(log.index) };
      }),
    };
  }

  async #answer(request: R, s: Answer): Promise<Record<string, unknown>> {
    const { key, kind, name, signer, signed } = s;
    const digestHex = signed.artifactDigest.toString('hex');
    const gate = this.#deps.gate
      ? await this.#deps.gate(request, { key, kind, name, mode: s.mode ?? 'content', keyFingerprint: signer.record.fingerprint, digestAlg: signed.digestAlgorithm, digestHex })
      : { links: {} };
    if ('pending' in gate) return gate.pending;
    this.#deps.recordSigning(key, kind, seconds(s.started));
    const logIndex = await this.#deps.recordSignature(request, {
      kind,
      keyFingerprint: signer.record.fingerprint,
      artifact: { name, digestAlg: signed.digestAlgorithm as 'sha256' | 'sha512', digestHex },
      signaturePacket: signed.packet,
      ...(s.rule !== undefined ? { rule: s.rule } : {}),
      ...(gate.links.vetting || gate.links.approvals ? { links: gate.links } : {}),
    });
    if (gate.links.approvals) await this.#deps.gated?.(request, logIndex);
    this.#deps.audit(request, {
      event: 'sign',
      ...(s.mode ? { mode: s.mode } : {}),
      key,
      kind,
      artifact: name,
      rule: s.rule,
      [signed.digestAlgorithm]: digestHex,
      bytes: signed.artifactBytes,
      log_index: Number(logIndex),
    });
    return {
      key,
      fingerprint: signer.record.fingerprint,
      algorithm: signer.record.algorithm,
      hash_algorithm: signed.hashAlgorithm,
      created: signed.creationTime,
      kind,
      artifact: { name, [signed.digestAlgorithm]: digestHex, bytes: signed.artifactBytes },
      signature: signed.packet.toString('base64'),
      ...(signed.armored !== undefined ? { armored: signed.armored } : {}),
      ...(signed.cleartext !== undefined ? { cleartext: signed.cleartext } : {}),
      log: await this.#deps.reference(logIndex, s.receipt),
    };
  }
}

interface Answer {
  readonly key: string;
  readonly kind: ArtifactKind;
  readonly name: string;
  readonly started: bigint;
  readonly signer: PipelineSigner;
  readonly rule: string | undefined;
  readonly receipt: boolean;
  readonly mode?: 'midstate';
  readonly signed: {
    readonly packet: Buffer;
    readonly armored?: string;
    readonly cleartext?: string;
    readonly hashAlgorithm: HashAlgorithm;
    readonly creationTime: number;
    /** SHA-256 of the body in content mode; the file digest in the signature's hash in midstate mode. */
    readonly artifactDigest: Buffer;
    readonly digestAlgorithm: HashAlgorithm;
    readonly artifactBytes: number;
  };
}

/** An RPM batch's manifest digest: SHA-256 over the signed headers' SHA-256 digests (lower-case
 *  hex), sorted, one a line, each line ending in a newline. `signet rpm sign` prints the same. */
export function rpmManifest(headerSha256: readonly string[]): string {
  return createHash('sha256').update([...headerSha256].sort().map((h) => `${h}\n`).join('')).digest('hex');
}

function seconds(started: bigint): number {
  return Number(process.hrtime.bigint() - started) / 1e9;
}

function itemView(item: RpmItemResult): Record<string, unknown> {
  const id = item.identity;
  const identity = id
    ? {
        nevra: id.nevra,
        name: id.name,
        epoch: id.epoch,
        version: id.version,
        release: id.release,
        arch: id.arch,
        payload_digest: id.payloadDigest,
        payload_digest_algo: id.payloadDigestAlgo,
        header_sha256: id.headerSha256,
      }
    : {};
  if (item.ok) return { packet: item.packet.toString('base64'), ...identity };
  return { error: item.error.toJSON().error, ...identity };
}
