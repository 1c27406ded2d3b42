// The Fastify application: authentication, error mapping, access log, metrics, and the route
// modules. Independent of the listening socket (a request arriving through a
// tunnel is served with inject()), so serve.ts only adds the listener, TLS and lifecycle.
import { randomBytes, randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyInstance, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { SignetError } from '../errors.js';
import { presentedToken, type TokenService } from '../auth/tokens.js';
import { ARTIFACT_KINDS, PolicyAuthorizer, type Action, type Authorizer, type Grant } from '../policy/authorize.js';
import { LoggerAuditSink, type AuditEvent, type AuditSink } from '../policy/audit.js';
import type { CidrSet } from '../policy/cidr.js';
import { PolicyService } from '../policy/service.js';
import { createAuthServices, type AuthServices } from '../auth/index.js';
import type { KeyService } from '../keys/key-service.js';
import type { LogService } from '../tlog/service.js';
import type { Store, TokenRecord } from '../store/types.js';
import { DEFAULT_CONNECTION_LIMITS, DEFAULT_LIMITS, type AppLimits, type ConnectionLimits, type RouteContext, type RouteModule } from './context.js';
import { toSignetError } from './error-mapping.js';
import { duplicateKey } from './strict-json.js';
import { Metrics } from './metrics.js';
import { MIDSTATE_KINDS } from '../sign/pipeline.js';
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
import { openApiRoutes } from './routes/openapi.js';
import { requestRoutes } from './routes/requests.js';
import { vetRoutes } from './routes/vet.js';
import { installContract } from './contract.js';
import { installRequestIds } from './request-ids.js';
import { artifactName, keyName } from './validation.js';

export { DEFAULT_CONNECTION_LIMITS, DEFAULT_LIMITS, type AppLimits, type ConnectionLimits } from './context.js';
export { keyView } from './routes/keys.js';

/** Every route module, registered in this order. */
const ROUTES: readonly RouteModule[] = [healthRoutes, openApiRoutes, keyRoutes, signRoutes, midstateRoutes, rpmRoutes, logRoutes, logSearchRoutes, policyRoutes, authRoutes, jwtRoutes, vetRoutes, requestRoutes];

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
  /** Keys the requester hash of public log entries (requesterKey of the master key); random when not given. */
  readonly logRequesterKey?: Buffer;
  /** Keys the answers kept by request id (requestAnswerKey of the master key); random when not given. */
  readonly requestAnswerKey?: Buffer;
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
  /** Read-only git mirrors for server-side vetting (settings `vet.mirrors`, docs/vetting.md). */
  readonly vetMirrors?: string;
  readonly limits?: Partial<AppLimits>;
  /** Timeouts and connection caps of the listening socket (docs/security.md). */
  readonly connections?: Partial<ConnectionLimits>;
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
  const conn: ConnectionLimits = { ...DEFAULT_CONNECTION_LIMITS, ...deps.connections };
  // Node checks the header and request timeouts on a timer (30 s by default): check often enough
  // that a slow client is cut off close to the header timeout.
  const serverTimeouts = {
    headersTimeout: conn.headersTimeoutMs,
    requestTimeout: conn.requestTimeoutMs,
    connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(conn.headersTimeoutMs / 4))),
  };
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
    ...(deps.https ? { https: { ...deps.https, ...serverTimeouts } } : { http: serverTimeouts }),
    // No client holds a connection without sending: headers within headersTimeoutMs, the whole
    // request within requestTimeoutMs, no silence longer than idleTimeoutMs, and an idle
    // keep-alive connection closed after keepAliveTimeoutMs.
    connectionTimeout: conn.idleTimeoutMs,
    keepAliveTimeout: conn.keepAliveTimeoutMs,
    requestTimeout: conn.requestTimeoutMs,
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
    // (settings trust_proxy), walking from the right (docs/security.md "Authentication", docs/policy.md).
    trustProxy: trustProxy ? (address: string) => trustProxy.matches(address) : false,
    return503OnClosing: true,
  }) as unknown as FastifyInstance;

  // Artifacts arrive as raw streams of any content type; JSON stays parsed for API bodies.
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
  // An empty JSON body is no body (as Vault takes `curl -X POST -H 'Content-Type: application/json'`
  // on body-less calls such as unwrap); routes that need fields refuse it as BODY_INVALID.
  // Otherwise Fastify's own parser, which refuses __proto__ and constructor poisoning, and a
  // member name given twice in one object (BODY_INVALID; src/server/strict-json.ts says why).
  const jsonParser = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body === '') {
      done(null, undefined);
      return;
    }
    jsonParser(request, body as string, (err, value) => {
      const repeated = err ? undefined : duplicateKey(body as string);
      if (repeated !== undefined) {
        done(new SignetError('BODY_INVALID', `the body names ${JSON.stringify(repeated.slice(0, 64))} twice in one object`), undefined);
        return;
      }
      done(err, value);
    });
  });

  capConnections(app, conn, trustProxy);

  app.setErrorHandler((err, request, reply) => {
    const mapped = toSignetError(err);
    if (mapped.code === 'INTERNAL') deps.logger.error({ reqId: request.id, err }, 'internal error');
    request.signetAudit = { ...request.signetAudit, code: mapped.code };
    // A refused client does not get to send (or keep sending) its body: the connection is closed
    // after the answer instead of being drained for the next request.
    if (mapped.status === 401 || mapped.status === 403) void reply.header('connection', 'close');
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
    const presented = presentedToken(request.raw.rawHeaders);
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
    ...(deps.vetMirrors !== undefined ? { vetMirrors: deps.vetMirrors } : {}),
    store: deps.store,
    keys: deps.keys,
    tokens: deps.tokens,
    auth: deps.auth ?? createAuthServices(deps.store, deps.tokens, deps.clock ? { now: deps.clock } : {}),
    logger: deps.logger,
    metrics,
    limits,
    log: createLogRecorder(deps.log, deps.logRequesterKey),
    policies,
    audit,
    authenticate,
    authorize,
    permits,
    source,
  };
  // Authenticate (and authorise what the URL says) before the body is read: Fastify parses a
  // JSON body (up to 64 MiB for an RPM batch) between onRequest and the handler, so a client
  // without a valid token is refused here, and the connection closed, before it is read.
  app.addHook('onRequest', async (request) => {
    const route = request.routeOptions.url;
    if (route === undefined || isPublicRoute(request.method, route)) return;
    const action = actionFromUrl(request, route);
    if (action === undefined) {
      await authenticateAudited(request, route);
      return;
    }
    let token: TokenRecord;
    try {
      token = await authenticate(request);
    } catch {
      // authorize() audits the refusal with the action, as the route would have.
      await authorize(request, action);
      return;
    }
    // permits() neither audits nor counts a rate: the route's own authorize() does both once.
    if (!(await authorizer.permits(token, action, { source: source(request) }))) await authorize(request, action);
  });

  async function authenticateAudited(request: FastifyRequest, route: string): Promise<void> {
    try {
      await authenticate(request);
    } catch (err) {
      const mapped = toSignetError(err);
      if (mapped.status === 401) {
        audit.record({
          type: 'authz',
          action: { op: 'request', method: request.method, route },
          source: source(request),
          request_id: request.id,
          route,
          decision: 'deny',
          code: mapped.code,
          reason: mapped.message,
        });
      }
      throw err;
    }
  }

  // Every route is in the API contract and its answers are checked against it (src/api/routes.ts).
  installContract(app);
  // X-Signet-Request-Id: one answer per request, kept for retries (docs/pull-mode.md).
  installRequestIds(app, { store: deps.store.requests, key: deps.requestAnswerKey ?? randomBytes(32), logger: deps.logger });
  for (const register of ROUTES) register(app, ctx);
  return app;
}

/** Routes that authenticate by what they are given (login, unwrap) or need no token at all. */
function isPublicRoute(method: string, route: string): boolean {
  if (method === 'GET' && (route.startsWith('/v1/log/') || route === '/v1/openapi.json' || route === '/healthz' || route === '/readyz' || route === '/metrics')) return true;
  return method === 'POST' && (route === '/v1/auth/approle/login' || route === '/v1/auth/jwt/login' || route === '/v1/sys/wrapping/unwrap');
}

/** Admin-only routes, and how a denial names what was refused (as the routes themselves do). */
const ADMIN_ROUTES: ReadonlyArray<[prefix: string, exact: boolean, method: string | undefined, what: string]> = [
  ['/v1/sys/policies', false, undefined, 'manage policies'],
  ['/v1/auth/approle/role', false, undefined, 'manage roles'],
  ['/v1/auth/jwt/role', false, undefined, 'manage roles'],
  ['/v1/keys', true, 'POST', 'create keys'],
  ['/v1/keys/import', true, 'POST', 'import keys'],
  ['/v1/auth/token/create', true, 'POST', 'create tokens'],
  ['/v1/auth/token/revoke', true, 'POST', 'revoke other tokens'],
  ['/v1/auth/token', true, 'GET', 'list tokens'],
  ['/v1/auth/token/lookup/:accessor', true, 'GET', 'look up other tokens'],
];

/**
 * What can be authorised from the method, route and query alone, before the body: admin
 * operations, and a sign request's key, kind, name and mode (as the sign routes derive them).
 * An RPM batch names its packages in the body: only the key is checked here. Undefined when the
 * URL does not say (the route then checks everything itself, after reading the body).
 */
function actionFromUrl(request: FastifyRequest, route: string): Action | undefined {
  const { method } = request;
  for (const [prefix, exact, m, what] of ADMIN_ROUTES) {
    if ((exact ? route === prefix : route.startsWith(prefix)) && (m === undefined || m === method)) return { op: 'admin', what };
  }
  if (method !== 'POST' || !route.startsWith('/v1/sign/:key')) return undefined;
  const key = keyName.safeParse((request.params as { key?: unknown }).key);
  if (!key.success) return undefined;
  if (route === '/v1/sign/:key/rpm') return { op: 'keys.read', key: key.data };
  const query = request.query as Record<string, unknown>;
  const kind = query.kind === undefined ? undefined : ARTIFACT_KINDS.find((k) => k === query.kind);
  if (query.kind !== undefined && kind === undefined) return undefined;
  const name = query.name === undefined ? 'artifact' : artifactName.safeParse(query.name);
  if (typeof name !== 'string' && !name.success) return undefined;
  const clear = query.clear === '1' || query.clear === 'true';
  // Kinds the route cannot sign are refused by the signing pipeline (KIND_MISMATCH) before any
  // policy is read; the check here only authenticates then, so the caller learns the real reason.
  if (kind === 'rpm') return undefined;
  if (route === '/v1/sign/:key/midstate') {
    if (kind !== undefined && !(MIDSTATE_KINDS as readonly string[]).includes(kind)) return undefined;
    return { op: 'sign', key: key.data, kind: kind ?? 'detached', name: typeof name === 'string' ? name : name.data, mode: 'midstate' };
  }
  if (route !== '/v1/sign/:key') return undefined;
  return { op: 'sign', key: key.data, kind: kind ?? (clear ? 'clearsign' : 'detached'), name: typeof name === 'string' ? name : name.data, mode: 'content' };
}

/**
 * A cap on open connections, in all and per source address (the socket's: a trusted proxy, which
 * carries many clients, is exempt from the per-source cap). A connection over a cap is closed at
 * once, before anything is read from it.
 */
function capConnections(app: FastifyInstance, conn: ConnectionLimits, trustProxy: CidrSet | undefined): void {
  const server = app.server as import('node:net').Server;
  server.maxConnections = conn.maxConnections;
  const perSource = new Map<string, number>();
  server.on('connection', (socket: import('node:net').Socket) => {
    const address = socket.remoteAddress;
    if (address === undefined) return;
    if (trustProxy?.matches(address)) return;
    const n = (perSource.get(address) ?? 0) + 1;
    if (n > conn.maxConnectionsPerSource) {
      socket.destroy();
      return;
    }
    perSource.set(address, n);
    socket.once('close', () => {
      const left = (perSource.get(address) ?? 1) - 1;
      if (left <= 0) perSource.delete(address);
      else perSource.set(address, left);
    });
  });
}

function actionView(action: Action): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(action)) if (v !== undefined) out[k] = String(v);
  return out;
}
