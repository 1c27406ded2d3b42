// The answer to a signature request, shared by the signing routes (POST /v1/sign/:key and
// /v1/sign/:key/midstate): their query schema, and the step that counts the signature, records it
// durably in the transparency log and only then answers (docs/architecture.md "Data flow").
// Route modules do not import each other (eslint.config.js): what two routes share lives here.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { HashAlgorithm } from '../openpgp/index.js';
import { ARTIFACT_KINDS, type ArtifactKind } from '../policy/authorize.js';
import type { KeyRecord } from '../store/types.js';
import type { RouteContext } from './context.js';
import { artifactName, flag } from './validation.js';

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
