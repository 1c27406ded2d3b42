// POST /v1/sign/:key/midstate {hash, state, length, tail}: a detached binary signature of a large
// file whose full blocks the client hashed itself (docs/midstate.md; src/sign/midstate.ts says why
// no client-chosen digest is signed). Query as for POST /v1/sign/:key: kind, name, armor, receipt.
// Only kinds detached and sums, and only on keys that sign neither rpm nor git (the server never
// sees the content: docs/security.md). The answer has the same shape as POST /v1/sign/:key, except
// that `artifact` carries the file's digest in the signature's hash (`sha256` or `sha512`).
// HTTP only: the signing pipeline (src/sign/pipeline.ts) does the rest.
import { SignetError } from '../../errors.js';
import type { RouteModule } from '../context.js';
import { midstateBody, midstateQuery } from '../../api/schemas.js';
import { signingPipeline } from '../signing.js';
import { keyParams, parse } from '../validation.js';

export { MIDSTATE_KINDS } from '../../sign/pipeline.js';

/** The whole request is a few hundred bytes; anything near this limit is not a midstate. */
export const MIDSTATE_BODY_LIMIT = 4096;

/** Buffer.from(…, 'base64') skips characters it does not know and accepts base64url; only a
 *  string that re-encodes to itself is taken. */
function decode(encoded: string, field: string): Buffer {
  const bytes = Buffer.from(encoded, 'base64');
  if (bytes.toString('base64') !== encoded) throw new SignetError('MIDSTATE_INVALID', `${field} is not canonical base64`);
  return bytes;
}

export const midstateRoutes: RouteModule = (app, ctx) => {
  const pipeline = signingPipeline(ctx);
  app.post('/v1/sign/:key/midstate', { bodyLimit: MIDSTATE_BODY_LIMIT }, async (request, reply) => {
    const { key } = parse(keyParams, request.params, 'BAD_REQUEST');
    const query = parse(midstateQuery, request.query, 'QUERY_INVALID');
    const kind = query.kind ?? 'detached';
    const name = query.name ?? 'artifact';
    const answer = await pipeline.signMidstate(request, {
      key,
      kind,
      name,
      armor: query.armor ?? false,
      receipt: query.receipt ?? false,
      // Parsed only once authorised (the pipeline authorises first, then asks for it).
      body: () => {
        const body = parse(midstateBody, request.body, 'BODY_INVALID');
        return { hash: body.hash, state: decode(body.state, 'state'), length: body.length, tail: decode(body.tail, 'tail') };
      },
    });
    return reply.code(answer.status === 'pending_approval' ? 202 : 200).send(answer);
  });
};
