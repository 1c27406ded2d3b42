// POST /v1/sign/:key/rpm: a batch of RPM header prefixes (lead ‖ signature header ‖ main header,
// base64) in, one v4 header signature packet per package out. A package the server refuses
// (malformed, already signed, not granted by policy) gets its own error item; the batch goes on.
import { z } from 'zod';
import { SignetError } from '../../errors.js';
import { MAX_RPM_BATCH, MAX_RPM_PREFIX_BYTES, signRpmHeaders, type RpmItemResult } from '../../sign/rpm.js';
import type { PackageIdentity } from '../../rpm/index.js';
import type { RouteModule } from '../context.js';
import { keyParams, parse } from '../validation.js';

/** The whole JSON body: the base64 of about 48 MiB of headers. The server-wide JSON limit
 *  (limits.maxJsonBytes, 1 MiB by default) is too small for a batch, so this route sets its own;
 *  the client splits larger sets of packages into several requests (src/cli/rpm.ts). */
export const RPM_BATCH_BODY_LIMIT = 64 * 1024 * 1024;

const base64Length = (bytes: number) => Math.ceil(bytes / 3) * 4;
const EQUALS = 0x3d;

const rpmBatchBody = z
  .object({
    headers: z.array(z.string().min(1).max(base64Length(MAX_RPM_PREFIX_BYTES))).min(1).max(MAX_RPM_BATCH),
    replace: z.boolean().optional(),
  })
  .strict();

/**
 * A header must be canonical base64 (/^[A-Za-z0-9+/]*={0,2}$/, length a multiple of 4), decoded
 * exactly. Buffer.from(…, 'base64') skips characters outside the alphabet and also takes the
 * URL-safe `-` and `_`; every skipped character shortens the output, so a decoded length short of
 * what the text promises means a stray character (non-ASCII ones are refused before decoding). Same verdicts as that regular expression
 * (rpm.test.ts compares them), without running it over the 700 KB of a release's headers.
 */
export function decodeHeader(encoded: string): Buffer | SignetError {
  const refused = () => new SignetError('BODY_INVALID', 'header is not canonical base64');
  const n = encoded.length;
  // Characters past U+007F (which the decoder would read by their low byte) are refused first:
  // the UTF-8 length equals the length only for ASCII.
  if (n % 4 !== 0 || Buffer.byteLength(encoded, 'utf8') !== n) return refused();
  const pad = n > 0 && encoded.charCodeAt(n - 1) === EQUALS ? (encoded.charCodeAt(n - 2) === EQUALS ? 2 : 1) : 0;
  const firstEquals = encoded.indexOf('=');
  if ((firstEquals !== -1 && firstEquals !== n - pad) || encoded.includes('-') || encoded.includes('_')) return refused();
  const bytes = Buffer.from(encoded, 'base64');
  return bytes.length === (n / 4) * 3 - pad ? bytes : refused();
}

function identityView(id: PackageIdentity): Record<string, unknown> {
  return {
    nevra: id.nevra,
    name: id.name,
    epoch: id.epoch,
    version: id.version,
    release: id.release,
    arch: id.arch,
    payload_digest: id.payloadDigest,
    payload_digest_algo: id.payloadDigestAlgo,
    header_sha256: id.headerSha256,
  };
}

function itemView(item: RpmItemResult): Record<string, unknown> {
  if (item.ok) return { packet: item.packet.toString('base64'), ...identityView(item.identity) };
  return { error: item.error.toJSON().error, ...(item.identity ? identityView(item.identity) : {}) };
}

export const rpmRoutes: RouteModule = (app, ctx) => {
  app.post('/v1/sign/:key/rpm', { bodyLimit: RPM_BATCH_BODY_LIMIT }, async (request, reply) => {
    const started = process.hrtime.bigint();
    const { key } = parse(keyParams, request.params, 'BAD_REQUEST');
    // A bad token fails the whole request before the body is looked at.
    await ctx.authenticate(request);
    const body = parse(rpmBatchBody, request.body, 'BODY_INVALID');
    const decoded = body.headers.map(decodeHeader);
    const prefixes = decoded.map((d) => (d instanceof SignetError ? Buffer.alloc(0) : d));
    // Each package name is checked (and counted against a rate) on its own; remember which rule
    // allowed it for the log entry.
    const grants = new Map<string, string>();
    const result = await signRpmHeaders(prefixes, () => ctx.keys.signer(key), {
      replace: body.replace ?? false,
      authorize: async (name) => {
        await ctx.authorize(request, { op: 'sign', key, kind: 'rpm', name, mode: 'content' });
        if (request.signetGrant) grants.set(name, request.signetGrant.rule);
      },
    });
    // Undecodable items keep their own error rather than the parser's "too short".
    const items = result.items.map((item, i) => {
      const d = decoded[i];
      return d instanceof SignetError ? ({ ok: false, error: d } as const) : item;
    });
    const signed = items.filter((i) => i.ok);
    if (signed.length > 0) ctx.metrics.recordSigning(key, 'rpm', Number(process.hrtime.bigint() - started) / 1e9, signed.length);
    request.signetAudit = {
      event: 'sign.rpm',
      key,
      kind: 'rpm',
      packages: items.map((i) =>
        i.ok
          ? { nevra: i.identity.nevra, header_sha256: i.identity.headerSha256, payload_digest: i.identity.payloadDigest }
          : { error: i.error.code, ...(i.identity ? { nevra: i.identity.nevra } : {}) },
      ),
    };
    const signer = result.signer;
    // Invariant 4: every signature is durably in the log before any leaves. One failed append
    // fails the whole response (group commit: they share a transaction anyway).
    const logIndex = new Map<number, bigint>();
    if (signer) {
      await Promise.all(
        items.map(async (item, i) => {
          if (!item.ok) return;
          const index = await ctx.log.recordSignature(request, {
            kind: 'rpm',
            keyFingerprint: signer.record.fingerprint,
            artifact: { name: item.identity.nevra, sha256Hex: item.identity.headerSha256, nevra: item.identity.nevra, headerSha256Hex: item.identity.headerSha256 },
            signaturePacket: item.packet,
            ...(grants.has(item.identity.name) ? { rule: grants.get(item.identity.name)! } : {}),
          });
          logIndex.set(i, index);
        }),
      );
    }
    return reply.send({
      key,
      ...(signer ? { fingerprint: signer.record.fingerprint, algorithm: signer.record.algorithm, hash_algorithm: result.hashAlgorithm } : {}),
      created: result.creationTime,
      signed: signed.length,
      failed: items.length - signed.length,
      signatures: items.map((item, i) => {
        const index = logIndex.get(i);
        return index === undefined ? itemView(item) : { ...itemView(item), log_index: index.toString() };
      }),
    });
  });
};
