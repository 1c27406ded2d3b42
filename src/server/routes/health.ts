// Liveness, readiness and Prometheus metrics (unauthenticated, as scrapers expect).
import { SignetError } from '../../errors.js';
import type { RouteModule } from '../context.js';

export const healthRoutes: RouteModule = (app, ctx) => {
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    // Fail closed: while the audit log cannot be written, nothing is allowed (docs/policy.md).
    if (ctx.audit.degraded) return reply.status(503).send(new SignetError('AUDIT_UNAVAILABLE', 'the audit log cannot be written').toJSON());
    try {
      await ctx.store.ping();
      return { status: 'ready' };
    } catch {
      return reply.status(503).send(new SignetError('NOT_READY', 'the store is not reachable').toJSON());
    }
  });

  app.get('/metrics', async (_request, reply) => {
    const body = await ctx.metrics.registry.metrics();
    return reply.type(ctx.metrics.registry.contentType).send(body);
  });
};
