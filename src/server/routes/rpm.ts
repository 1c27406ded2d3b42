// POST /v1/sign/:key/rpm: a batch of RPM header prefixes (lead ‖ signature header ‖ main header,
// base64) in, one v4 header signature packet per package out. A package the server refuses
// (malformed, already signed, not granted by policy) gets its own error item; the batch goes on.
// HTTP only: the signing pipeline (src/sign/pipeline.ts) authorises, signs, logs and audits; each
// signed item's answer carries `log` ({index, origin}) as the sign route's does, and `log_index`.
import { SignetError } from '../../errors.js';
import { rpmBatchBody } from '../../api/schemas.js';
import type { RouteModule } from '../context.js';
import { signingPipeline } from '../signing.js';
import { keyParams, parse } from '../validation.js';

/** The whole JSON body: the base64 of about 48 MiB of headers. The server-wide JSON limit
 *  (limits.maxJsonBytes, 1 MiB by default) is too small for a batch, so this route sets its own;
 *  the client splits larger sets of packages into several requests (src/cli/rpm.ts). */
export const RPM_BATCH_BODY_LIMIT = 64 * 1024 * 1024;

const EQUALS = 0x3d;

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

export const rpmRoutes: RouteModule = (app, ctx) => {
  const pipeline = signingPipeline(ctx);
  app.post('/v1/sign/:key/rpm', { bodyLimit: RPM_BATCH_BODY_LIMIT }, async (request, reply) => {
    const { key } = parse(keyParams, request.params, 'BAD_REQUEST');
    // A bad token fails the whole request before the body is looked at.
    await ctx.authenticate(request);
    const body = parse(rpmBatchBody, request.body, 'BODY_INVALID');
    const decoded = body.headers.map(decodeHeader);
    const prefixes = decoded.map((d) => (d instanceof SignetError ? Buffer.alloc(0) : d));
    const undecodable = new Map<number, SignetError>();
    decoded.forEach((d, i) => {
      if (d instanceof SignetError) undecodable.set(i, d);
    });
    // The pipeline authorises each package by its own name tag, signs, logs and audits.
    const answer = await pipeline.signRpm(request, key, prefixes, body.replace ?? false, undecodable);
    return reply.code(answer.status === 'pending_approval' ? 202 : 200).send(answer);
  });
};
