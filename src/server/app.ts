// The Fastify application: authentication, error mapping, access log, metrics, and the route
// modules. Independent of the listening socket (design.md topology 2: a request arriving through a
// tunnel is served with inject()), so serve.ts only adds the listener, TLS and lifecycle.
import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyInstance, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { SignetError } from '../errors.js';
import { bearerToken, type TokenService } from '../auth/tokens.js';
import { AdminOnlyAuthorizer, type Action, type Authorizer } from '../policy/authorize.js';
import type { KeyService } from '../keys/key-service.js';
import type { LogService } from '../tlog/service.js';
import type { Store, TokenRecord } from '../store/types.js';
import { DEFAULT_LIMITS, type AppLimits, type RouteContext, type RouteModule } from './context.js';
import { toSignetError } from './error-mapping.js';
import { Metrics } from './metrics.js';
import { healthRoutes } from './routes/health.js';
import { keyRoutes } from './routes/keys.js';
import { createLogRecorder, logRoutes } from './routes/log.js';
import { rpmRoutes } from './routes/rpm.js';
import { signRoutes } from './routes/sign.js';

export { DEFAULT_LIMITS, type AppLimits } from './context.js';
export { keyView } from './routes/keys.js';

/** Every route module, registered in this order. */
const ROUTES: readonly RouteModule[] = [healthRoutes, keyRoutes, signRoutes, rpmRoutes, logRoutes];

export interface AppDeps {
  readonly store: Store;
  readonly keys: KeyService;
  readonly tokens: TokenService;
  /** The transparency log every signature is recorded in. */
  readonly log: LogService;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  readonly authorizer?: Authorizer;
  readonly limits?: Partial<AppLimits>;
  /** TLS: serve HTTPS with these (TLS 1.3 only unless minVersion says otherwise). */
  readonly https?: { readonly cert: Buffer; readonly key: Buffer; readonly minVersion: 'TLSv1.2' | 'TLSv1.3' };
}

declare module 'fastify' {
  interface FastifyRequest {
    signetToken?: TokenRecord;
    /** What the access log line says about the request besides method, route and status. */
    signetAudit?: Record<string, unknown>;
  }
}

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const limits: AppLimits = { ...DEFAULT_LIMITS, ...deps.limits };
  const metrics = deps.metrics ?? new Metrics();
  const authorizer = deps.authorizer ?? new AdminOnlyAuthorizer();

  const app = Fastify({
    ...(deps.https ? { https: { ...deps.https } } : {}),
    loggerInstance: deps.logger,
    bodyLimit: limits.maxJsonBytes,
    genReqId: () => randomUUID(),
    // One access line per request, written in onResponse below, instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    // Identity comes from the socket; forwarding headers are not trusted (security-tests.md §6).
    trustProxy: false,
    return503OnClosing: true,
  }) as unknown as FastifyInstance;

  // Artifacts arrive as raw streams of any content type; JSON stays parsed for API bodies.
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));

  app.setErrorHandler((err, request, reply) => {
    const mapped = toSignetError(err);
    if (mapped.code === 'INTERNAL') request.log.error({ err }, 'internal error');
    request.signetAudit = { ...request.signetAudit, code: mapped.code };
    void reply.status(mapped.status).send(mapped.toJSON());
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send(new SignetError('NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`).toJSON());
  });

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.requests.inc({ route, method: request.method, status: String(reply.statusCode) });
    request.log.info(
      {
        method: request.method,
        route,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 100) / 100,
        source: request.socket.remoteAddress,
        ...(request.signetToken ? { token: request.signetToken.accessor } : {}),
        ...request.signetAudit,
      },
      'request',
    );
  });

  async function authenticate(request: FastifyRequest): Promise<TokenRecord> {
    const presented = bearerToken(request.headers.authorization, header(request, 'x-signet-token'));
    const token = await deps.tokens.authenticate(presented);
    request.signetToken = token;
    return token;
  }

  async function authorize(request: FastifyRequest, action: Action): Promise<TokenRecord> {
    const token = await authenticate(request);
    await authorizer.authorize(token, action, { source: request.socket.remoteAddress ?? 'unknown' });
    return token;
  }

  const ctx: RouteContext = {
    store: deps.store,
    keys: deps.keys,
    tokens: deps.tokens,
    logger: deps.logger,
    metrics,
    limits,
    log: createLogRecorder(deps.log),
    authenticate,
    authorize,
  };
  for (const register of ROUTES) register(app, ctx);
  return app;
}

function header(request: FastifyRequest, name: string): string | undefined {
  const v = request.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
