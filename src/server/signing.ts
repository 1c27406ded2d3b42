// The signing pipeline (src/sign/pipeline.ts) bound to the server's services: the one place that
// says how a signing route authorises, logs and audits. Every signing route takes it from here.
import type { FastifyRequest } from 'fastify';
import { SigningPipeline } from '../sign/pipeline.js';
import type { RouteContext } from './context.js';
import { createGate, noteGrant, noteSigned } from './approvals.js';

/** The query of POST /v1/sign/:key and /v1/sign/:key/midstate: the API contract's (src/api/schemas.ts). */
export { signQuery } from '../api/schemas.js';

const pipelines = new WeakMap<RouteContext, SigningPipeline<FastifyRequest>>();

export function signingPipeline(ctx: RouteContext): SigningPipeline<FastifyRequest> {
  let pipeline = pipelines.get(ctx);
  if (!pipeline) {
    pipeline = new SigningPipeline<FastifyRequest>({
      authorize: async (request, action) => {
        await ctx.authorize(request, action);
        noteGrant(request, request.signetGrant);
        return request.signetGrant?.rule;
      },
      signer: (key) => ctx.keys.signer(key),
      recordSignature: (request, record) => ctx.log.recordSignature(request, record),
      reference: (index, receipt) => ctx.log.reference(index, receipt),
      audit: (request, fields) => {
        request.signetAudit = { ...request.signetAudit, ...fields };
      },
      recordSigning: (key, kind, seconds, count) => ctx.metrics.recordSigning(key, kind, seconds, count),
      maxArtifactBytes: ctx.limits.maxArtifactBytes,
      gate: createGate(ctx),
      gated: (request, index) => noteSigned(ctx, request, index),
    });
    pipelines.set(ctx, pipeline);
  }
  return pipeline;
}
