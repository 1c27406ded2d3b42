// POST /v1/sign/:key: the artifact is the raw request body, streamed into the signature hash.
import type { Readable } from 'node:stream';
import { z } from 'zod';
import { SignetError } from '../../errors.js';
import { ARTIFACT_KINDS } from '../../policy/authorize.js';
import { signArtifact } from '../../sign/engine.js';
import type { RouteModule } from '../context.js';
import { artifactName, flag, keyParams, parse } from '../validation.js';

const signQuery = z
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
    ctx.metrics.signLatency.observe({ key, kind }, Number(process.hrtime.bigint() - started) / 1e9);
    ctx.metrics.signatures.inc({ key, kind });
    const artifactSha256 = signed.artifactSha256.toString('hex');
    // Invariant 4: the signature leaves only after its log entry is durable.
    const logIndex = await ctx.log.recordSignature(request, {
      kind,
      keyFingerprint: signer.record.fingerprint,
      artifact: { name, sha256Hex: artifactSha256 },
      signaturePacket: signed.packet,
      ...(request.signetGrant ? { rule: request.signetGrant.rule } : {}),
    });
    request.signetAudit = { event: 'sign', key, kind, artifact: name, rule: request.signetGrant?.rule, sha256: artifactSha256, bytes: signed.artifactBytes, log_index: Number(logIndex) };
    return reply.send({
      key,
      fingerprint: signer.record.fingerprint,
      algorithm: signer.record.algorithm,
      hash_algorithm: signed.hashAlgorithm,
      created: signed.creationTime,
      kind,
      artifact: { name, sha256: artifactSha256, bytes: signed.artifactBytes },
      signature: signed.packet.toString('base64'),
      ...(signed.armored !== undefined ? { armored: signed.armored } : {}),
      ...(signed.cleartext !== undefined ? { cleartext: signed.cleartext } : {}),
      log: await ctx.log.reference(logIndex, query.receipt ?? false),
    });
  });
};

function isStream(body: unknown): body is Readable {
  return typeof body === 'object' && body !== null && Symbol.asyncIterator in body && typeof (body as Readable).pipe === 'function';
}
