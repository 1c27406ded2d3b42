// POST /v1/sign/:key: the artifact is the raw request body, streamed into the signature hash.
// HTTP only: the signing pipeline (src/sign/pipeline.ts) authorises, checks the body against the
// kind, signs, logs and audits.
import type { Readable } from 'node:stream';
import { SignetError } from '../../errors.js';
import type { RouteModule } from '../context.js';
import { signingPipeline, signQuery } from '../signing.js';
import { keyParams, parse } from '../validation.js';

export const signRoutes: RouteModule = (app, ctx) => {
  const pipeline = signingPipeline(ctx);
  app.post('/v1/sign/:key', async (request, reply) => {
    const { key } = parse(keyParams, request.params, 'BAD_REQUEST');
    const query = parse(signQuery, request.query, 'QUERY_INVALID');
    const clear = query.clear ?? false;
    const body = request.body as Readable | undefined;
    const answer = await pipeline.signContent(
      request,
      {
        key,
        kind: query.kind ?? (clear ? 'clearsign' : 'detached'),
        name: query.name ?? 'artifact',
        clear,
        armor: query.armor ?? false,
        receipt: query.receipt ?? false,
        ...(query.hash ? { hash: query.hash } : {}),
      },
      // The body is looked at only after authorisation: the pipeline asks for it then.
      () => {
        if (body === undefined || body === null) throw new SignetError('BODY_EMPTY', 'the artifact is empty');
        if (!isStream(body)) throw new SignetError('UNSUPPORTED_MEDIA_TYPE', 'send the artifact as the raw request body (application/octet-stream)');
        return body;
      },
    );
    // 202: held for approvals (docs/approvals.md), nothing signed yet.
    return reply.code(answer.status === 'pending_approval' ? 202 : 200).send(answer);
  });
};

function isStream(body: unknown): body is Readable {
  return typeof body === 'object' && body !== null && Symbol.asyncIterator in body && typeof (body as Readable).pipe === 'function';
}
