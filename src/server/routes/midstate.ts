// POST /v1/sign/:key/midstate {hash, state, length, tail}: a detached binary signature of a large
// file whose full blocks the client hashed itself (docs/midstate.md; src/sign/midstate.ts says why
// no client-chosen digest is signed). Query as for POST /v1/sign/:key: kind, name, armor, receipt.
// Only kinds detached and sums, and only on keys that sign neither rpm nor git (the server never
// sees the content: docs/security.md). The answer has the same shape as POST /v1/sign/:key, except
// that `artifact` carries the file's digest in the signature's hash (`sha256` or `sha512`).
// HTTP only: the signing pipeline (src/sign/pipeline.ts) does the rest.
import { SignetError } from '../../errors.js';
import { recordKeyVersion } from '../../keys/profile.js';
import { SaltIssuer } from '../../sign/midstate-salt.js';
import type { RouteModule } from '../context.js';
import { midstateBody, midstateQuery, midstateSaltQuery } from '../../api/schemas.js';
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
  const salts = new SaltIssuer(ctx.keys.deriveSecret('midstate salt v1'));

  // v6 keys: a salt to hash before the file, authorised as the midstate signature will be.
  app.post('/v1/sign/:key/midstate/salt', async (request, reply) => {
    const { key } = parse(keyParams, request.params, 'BAD_REQUEST');
    const query = parse(midstateSaltQuery, request.query, 'QUERY_INVALID');
    await ctx.authorize(request, { op: 'sign', key, kind: query.kind ?? 'detached', name: query.name ?? 'artifact', mode: 'midstate' });
    if (recordKeyVersion(await ctx.keys.get(key)) !== 6) throw new SignetError('BAD_REQUEST', `key ${key} is a v4 key: its midstate signatures take no salt`);
    const hash = query.hash ?? 'sha512';
    const issued = salts.issue(key, hash);
    return reply.send({ salt: issued.salt.toString('base64'), token: issued.token, hash, expires: new Date(issued.expiresAt).toISOString() });
  });

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
        const plain = { hash: body.hash, state: decode(body.state, 'state'), length: body.length, tail: decode(body.tail, 'tail') };
        if (body.salt_token === undefined) {
          if (body.salted_state !== undefined || body.salted_length !== undefined || body.salted_tail !== undefined) throw new SignetError('MIDSTATE_INVALID', 'a salted midstate needs its salt_token');
          return plain;
        }
        if (body.salted_state === undefined || body.salted_length === undefined || body.salted_tail === undefined) {
          throw new SignetError('MIDSTATE_INVALID', 'salt_token needs salted_state, salted_length and salted_tail');
        }
        // Spent here, once authorised: a reused, expired or forged token is MIDSTATE_INVALID.
        const salt = salts.redeem(body.salt_token, key, body.hash);
        return { ...plain, salted: { salt, state: decode(body.salted_state, 'salted_state'), length: body.salted_length, tail: decode(body.salted_tail, 'salted_tail') } };
      },
    });
    return reply.code(answer.status === 'pending_approval' ? 202 : 200).send(answer);
  });
};
