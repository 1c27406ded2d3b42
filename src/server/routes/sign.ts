// POST /v1/sign/:key: the artifact is the raw request body, streamed into the signature hash.
import type { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { SignetError } from '../../errors.js';
import type { HashAlgorithm } from '../../openpgp/index.js';
import { ARTIFACT_KINDS, type ArtifactKind } from '../../policy/authorize.js';
import { signArtifact } from '../../sign/engine.js';
import type { KeyRecord } from '../../store/types.js';
import type { RouteContext, RouteModule } from '../context.js';
import { artifactName, flag, keyParams, parse } from '../validation.js';

export const signQuery = z
  .object({
    kind: z.enum(ARTIFACT_KINDS).optional(),
    name: artifactName.optional(),
    armor: flag.optional(),
    clear: flag.optional(),
    hash: z.enum(['sha256', 'sha512']).optional(),
    /** Wait for the log to integrate the entry and return its receipt (C2SP tlog-proof). */
    receipt: flag.optional(),
  })
  .strict();

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

/** What a signing route made, for answerSigned. */
export interface SignedForAnswer {
  readonly key: string;
  readonly kind: ArtifactKind;
  readonly name: string;
  /** process.hrtime.bigint() when the request arrived. */
  readonly started: bigint;
  readonly signer: { readonly record: KeyRecord };
  readonly signed: {
    readonly packet: Buffer;
    readonly armored?: string;
    readonly cleartext?: string;
    readonly hashAlgorithm: HashAlgorithm;
    readonly creationTime: number;
    /** The artifact's digest the log records and the answer names: SHA-256 of the body in
     *  content mode, the file digest in the signature's hash in midstate mode. */
    readonly artifactDigest: Buffer;
    readonly digestAlgorithm: HashAlgorithm;
    readonly artifactBytes: number;
  };
  readonly receipt: boolean;
  /** Named in the access log when not content. */
  readonly mode?: 'midstate';
}

/** Count the signature, log it durably (invariant 4: nothing leaves before), then answer. One
 *  response shape for POST /v1/sign/:key and /v1/sign/:key/midstate. */
export async function answerSigned(ctx: RouteContext, request: FastifyRequest, reply: FastifyReply, s: SignedForAnswer): Promise<FastifyReply> {
  const { key, kind, name, signer, signed } = s;
  ctx.metrics.recordSigning(key, kind, Number(process.hrtime.bigint() - s.started) / 1e9);
  const digestHex = signed.artifactDigest.toString('hex');
  const logIndex = await ctx.log.recordSignature(request, {
    kind,
    keyFingerprint: signer.record.fingerprint,
    artifact: { name, digestAlg: signed.digestAlgorithm, digestHex },
    signaturePacket: signed.packet,
    ...(request.signetGrant ? { rule: request.signetGrant.rule } : {}),
  });
  request.signetAudit = {
    event: 'sign',
    ...(s.mode ? { mode: s.mode } : {}),
    key,
    kind,
    artifact: name,
    rule: request.signetGrant?.rule,
    [signed.digestAlgorithm]: digestHex,
    bytes: signed.artifactBytes,
    log_index: Number(logIndex),
  };
  return reply.send({
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
    log: await ctx.log.reference(logIndex, s.receipt),
  });
}

function isStream(body: unknown): body is Readable {
  return typeof body === 'object' && body !== null && Symbol.asyncIterator in body && typeof (body as Readable).pipe === 'function';
}
