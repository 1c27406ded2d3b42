// POST /v1/sign/:key: the artifact is the raw request body, streamed into the signature hash.
import type { Readable } from 'node:stream';
import { SignetError } from '../../errors.js';
import { signArtifact } from '../../sign/engine.js';
import type { RouteModule } from '../context.js';
import { keyParams, parse } from '../validation.js';
import { answerSigned, signQuery } from '../answer.js';

// Moved to src/server/answer.ts (route modules do not import each other); re-exported.
export { answerSigned, signQuery, type SignedForAnswer } from '../answer.js';

export const signRoutes: RouteModule = (app, ctx) => {
  app.post('/v1/sign/:key', async (request, reply) => {
    const started = process.hrtime.bigint();
    const { key } = parse(keyParams, request.params, 'BAD_REQUEST');
    const query = parse(signQuery, request.query, 'QUERY_INVALID');
    const clear = query.clear ?? false;
    const kind = query.kind ?? (clear ? 'clearsign' : 'detached');
    const name = query.name ?? 'artifact';
    await ctx.authorize(request, { op: 'sign', key, kind, name, mode: 'content' });
    const body = request.body as Readable | undefined;
    if (body === undefined || body === null) throw new SignetError('BODY_EMPTY', 'the artifact is empty');
    if (!isStream(body)) {
      throw new SignetError('UNSUPPORTED_MEDIA_TYPE', 'send the artifact as the raw request body (application/octet-stream)');
    }
    const signer = await ctx.keys.signer(key);
    const signed = await signArtifact(signer, body, {
      mode: clear ? 'clear' : 'binary',
      armor: query.armor ?? false,
      maxBytes: ctx.limits.maxArtifactBytes,
      ...(query.hash ? { hashAlgorithm: query.hash } : {}),
    });
    return answerSigned(ctx, request, reply, {
      key,
      kind,
      name,
      started,
      signer,
      signed: { ...signed, artifactDigest: signed.artifactSha256, digestAlgorithm: 'sha256' },
      receipt: query.receipt ?? false,
    });
  });
};

function isStream(body: unknown): body is Readable {
  return typeof body === 'object' && body !== null && Symbol.asyncIterator in body && typeof (body as Readable).pipe === 'function';
}
