// POST /v1/sign/:key/midstate {hash, state, length, tail}: a detached binary signature of a large
// file whose full blocks the client hashed itself (docs/midstate.md; src/sign/midstate.ts
// says why invariant 3 still holds). Query as for POST /v1/sign/:key: kind, name, armor, receipt.
// The answer has the same shape as POST /v1/sign/:key, except that `artifact` carries the file's
// digest in the signature's hash (`sha256` or `sha512`), the only digest the server can know.
import { z } from 'zod';
import { SignetError } from '../../errors.js';
import { signMidstate } from '../../sign/midstate.js';
import type { RouteModule } from '../context.js';
import { keyParams, parse } from '../validation.js';
import { answerSigned, signQuery } from '../answer.js';

/** Kinds whose signatures are binary-document (0x00) detached signatures. rpm has its own
 *  header-aware route; clearsign needs the whole text. */
export const MIDSTATE_KINDS = ['detached', 'yum', 'apt', 'pacman', 'sums', 'git'] as const;

/** The whole request is a few hundred bytes; anything near this limit is not a midstate. */
export const MIDSTATE_BODY_LIMIT = 4096;

/** The content route's query without what only whole content allows (clear, hash). */
const midstateQuery = signQuery.omit({ clear: true, hash: true }).extend({ kind: z.enum(MIDSTATE_KINDS).optional() });

const midstateBody = z
  .object({
    // Shapes only: signMidstate checks the hash against the key (ALGORITHM_UNSUPPORTED) and the
    // exact sizes (MIDSTATE_INVALID); these bounds cap what is decoded.
    hash: z.string().max(16),
    state: z.string().max(128),
    length: z.number(),
    tail: z.string().max(256),
  })
  .strict();

/** Buffer.from(…, 'base64') skips characters it does not know and accepts base64url; only a
 *  string that re-encodes to itself is taken. */
function decode(encoded: string, field: string): Buffer {
  const bytes = Buffer.from(encoded, 'base64');
  if (bytes.toString('base64') !== encoded) throw new SignetError('MIDSTATE_INVALID', `${field} is not canonical base64`);
  return bytes;
}

export const midstateRoutes: RouteModule = (app, ctx) => {
  app.post('/v1/sign/:key/midstate', { bodyLimit: MIDSTATE_BODY_LIMIT }, async (request, reply) => {
    const started = process.hrtime.bigint();
    const { key } = parse(keyParams, request.params, 'BAD_REQUEST');
    const query = parse(midstateQuery, request.query, 'QUERY_INVALID');
    const kind = query.kind ?? 'detached';
    const name = query.name ?? 'artifact';
    await ctx.authorize(request, { op: 'sign', key, kind, name, mode: 'midstate' });
    const body = parse(midstateBody, request.body, 'BODY_INVALID');
    const state = decode(body.state, 'state');
    const tail = decode(body.tail, 'tail');
    const signer = await ctx.keys.signer(key);
    const signed = await signMidstate(
      signer,
      { hash: body.hash, state, length: body.length, tail },
      { armor: query.armor ?? false, maxBytes: ctx.limits.maxArtifactBytes },
    );
    return answerSigned(ctx, request, reply, {
      key,
      kind,
      name,
      started,
      signer,
      signed: { ...signed, digestAlgorithm: signed.hashAlgorithm },
      receipt: query.receipt ?? false,
      mode: 'midstate',
    });
  });
};
