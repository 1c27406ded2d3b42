// The Fastify application: authentication, error mapping, access log, metrics, and the route
// modules. Independent of the listening socket (design.md topology 2: a request arriving through a
// tunnel is served with inject()), so serve.ts only adds the listener, TLS and lifecycle.
import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyInstance, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { SignetError } from '../errors.js';
import { bearerToken, type TokenService } from '../auth/tokens.js';
import { PolicyAuthorizer, type Action, type Authorizer, type Grant } from '../policy/authorize.js';
import { LoggerAuditSink, type AuditEvent, type AuditSink } from '../policy/audit.js';
import type { CidrSet } from '../policy/cidr.js';
import { PolicyService } from '../policy/service.js';
import { createAuthServices, type AuthServices } from '../auth/index.js';
import type { KeyService } from '../keys/key-service.js';
import type { LogService } from '../tlog/service.js';
import type { Store, TokenRecord } from '../store/types.js';
import { DEFAULT_LIMITS, type AppLimits, type RouteContext, type RouteModule } from './context.js';
import { toSignetError } from './error-mapping.js';
import { Metrics } from './metrics.js';
import { authRoutes } from './routes/auth.js';
import { jwtRoutes } from './routes/jwt.js';
import { healthRoutes } from './routes/health.js';
import { keyRoutes } from './routes/keys.js';
import { createLogRecorder, logRoutes } from './routes/log.js';
import { logSearchRoutes } from './routes/log-search.js';
import { midstateRoutes } from './routes/midstate.js';
import { policyRoutes } from './routes/policies.js';
import { rpmRoutes } from './routes/rpm.js';
import { signRoutes } from './routes/sign.js';

export { DEFAULT_LIMITS, type AppLimits } from './context.js';
export { keyView } from './routes/keys.js';

/** Every route module, registered in this order. */
const ROUTES: readonly RouteModule[] = [healthRoutes, keyRoutes, signRoutes, midstateRoutes, rpmRoutes, logRoutes, logSearchRoutes, policyRoutes, authRoutes, jwtRoutes];

export interface AppDeps {
  readonly store: Store;
  readonly keys: KeyService;
  readonly tokens: TokenService;
  /** Auth services; built from store + tokens (with `clock`) when not given. */
  readonly auth?: AuthServices;
  /** The clock auth decisions use (tests move it); default Date.now. */
  readonly clock?: () => number;
  /** The transparency log every signature is recorded in. */
  readonly log: LogService;
  readonly logger: Logger;
  /** Where the per-request access line goes (default: `logger`). */
  readonly accessLog?: Logger;
  readonly metrics?: Metrics;
  readonly authorizer?: Authorizer;
  /** Policy documents (default: a PolicyService on `store`). */
  readonly policies?: PolicyService;
  /** Where allow/deny decisions go (default: the logger, `stream: audit`). */
  readonly audit?: AuditSink;
  /** Proxies whose X-Forwarded-For is believed (settings `trust_proxy`); default none. */
  readonly trustProxy?: CidrSet;
  readonly limits?: Partial<AppLimits>;
  /** TLS: serve HTTPS with these (TLS 1.3 only unless minVersion says otherwise). */
  readonly https?: { readonly cert: Buffer; readonly key: Buffer; readonly minVersion: 'TLSv1.2' | 'TLSv1.3' };
}

declare module 'fastify' {
  interface FastifyRequest {
    signetToken?: TokenRecord;
    /** What the access log line says about the request besides method, route and status. */
    signetAudit?: Record<string, unknown>;
    /** The rule that allowed the request's last authorised action. */
    signetGrant?: Grant;
  }
}

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const limits: AppLimits = { ...DEFAULT_LIMITS, ...deps.limits };
  const metrics = deps.metrics ?? new Metrics();
  const policies =
    deps.policies ??
    new PolicyService(deps.store, {
      onBrokenPolicy: (name, err) => deps.logger.error({ event: 'policy.broken', policy: name, err }, 'a stored policy no longer parses; it grants nothing'),
    });
  const authorizer = deps.authorizer ?? new PolicyAuthorizer(policies, deps.store.policies);
  const audit = deps.audit ?? new LoggerAuditSink(deps.logger);
  const trustProxy = deps.trustProxy;
  const accessLog = deps.accessLog ?? deps.logger;

  const app = Fastify({
    ...(deps.https ? { https: { ...deps.https } } : {}),
    // Fastify's own messages go to our logger, but without a child logger per request (it costs
    // more than the access line): the access line and internal errors below name the request ID
    // themselves.
    loggerInstance: deps.logger,
    childLoggerFactory: (logger) => logger,
    bodyLimit: limits.maxJsonBytes,
    genReqId: () => randomUUID(),
    // One access line per request, written in onResponse below, instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    // Identity comes from the socket; X-Forwarded-For is believed only from configured proxies
    // (settings trust_proxy), walking from the right (security-tests.md §6).
    trustProxy: trustProxy ? (address: string) => trustProxy.matches(address) : false,
    return503OnClosing: true,
  }) as unknown as FastifyInstance;

  // Artifacts arrive as raw streams of any content type; JSON stays parsed for API bodies.
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
  // An empty JSON body is no body (as Vault takes `curl -X POST -H 'Content-Type: application/json'`
  // on body-less calls such as unwrap); routes that need fields refuse it as BODY_INVALID.
  // Otherwise Fastify's own parser, which refuses __proto__ and constructor poisoning.
  const jsonParser = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body === '') {
      done(null, undefined);
      return;
    }
    jsonParser(request, body as string, done);
  });

  app.setErrorHandler((err, request, reply) => {
    const mapped = toSignetError(err);
    if (mapped.code === 'INTERNAL') deps.logger.error({ reqId: request.id, err }, 'internal error');
    request.signetAudit = { ...request.signetAudit, code: mapped.code };
    void reply.status(mapped.status).send(mapped.toJSON());
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send(new SignetError('NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`).toJSON());
  });

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.countRequest(route, request.method, reply.statusCode);
    accessLog.info(
      {
        reqId: request.id,
        method: request.method,
        route,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 100) / 100,
        source: request.ip,
        ...(request.signetToken ? { token: request.signetToken.accessor } : {}),
        ...request.signetAudit,
      },
      'request',
    );
  });

  async function authenticate(request: FastifyRequest): Promise<TokenRecord> {
    // A batch authorises each item: the token is looked up once per request.
    if (request.signetToken) return request.signetToken;
    const presented = bearerToken(request.headers.authorization, header(request, 'x-signet-token'));
    const token = await deps.tokens.authenticate(presented);
    request.signetToken = token;
    return token;
  }

  function source(request: FastifyRequest): string {
    return request.ip ?? request.socket.remoteAddress ?? 'unknown';
  }

  function auditEvent(request: FastifyRequest, action: Action, token: TokenRecord | undefined): Omit<AuditEvent, 'decision'> {
    return {
      type: 'authz',
      action: actionView(action),
      source: source(request),
      request_id: request.id,
      route: request.routeOptions.url ?? 'unmatched',
      ...(token
        ? { token: token.accessor, policies: token.policies, ...(token.meta.role !== undefined ? { role: token.meta.role } : {}) }
        : {}),
    };
  }

  async function authorize(request: FastifyRequest, action: Action): Promise<TokenRecord> {
    let token: TokenRecord | undefined;
    let grant: Grant;
    try {
      token = await authenticate(request);
      grant = await authorizer.authorize(token, action, { source: source(request) });
    } catch (err) {
      const mapped = toSignetError(err);
      // Authorisation refusals and authentication failures are audited; a store outage is not a decision.
      if (mapped.status === 401 || mapped.status === 403 || mapped.status === 429) {
        audit.record({ ...auditEvent(request, action, token), decision: 'deny', code: mapped.code, reason: mapped.message });
      }
      throw err;
    }
    await audit.recordBatched({ ...auditEvent(request, action, token), decision: 'allow', rule: grant.rule });
    request.signetGrant = grant;
    return token;
  }

  async function permits(request: FastifyRequest, action: Action): Promise<boolean> {
    const token = await authenticate(request);
    return authorizer.permits(token, action, { source: source(request) });
  }

  const ctx: RouteContext = {
    store: deps.store,
    keys: deps.keys,
    tokens: deps.tokens,
    auth: deps.auth ?? createAuthServices(deps.store, deps.tokens, deps.clock ? { now: deps.clock } : {}),
    logger: deps.logger,
    metrics,
    limits,
    log: createLogRecorder(deps.log),
    policies,
    audit,
    authenticate,
    authorize,
    permits,
    source,
  };
  for (const register of ROUTES) register(app, ctx);
  return app;
}

function header(request: FastifyRequest, name: string): string | undefined {
  const v = request.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function actionView(action: Action): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(action)) if (v !== undefined) out[k] = String(v);
  return out;
}
