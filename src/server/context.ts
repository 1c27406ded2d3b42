// What every route module receives: the services, limits, metrics and the auth helpers. Route
// modules (src/server/routes/*.ts) register their routes through this, so adding a capability is
// adding a file and one line in app.ts.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { AuthServices } from '../auth/index.js';
import type { AuditSink } from '../policy/audit.js';
import type { TokenService } from '../auth/tokens.js';
import type { KeyService } from '../keys/key-service.js';
import type { Action } from '../policy/authorize.js';
import type { PolicyService } from '../policy/service.js';
import type { Store, TokenRecord } from '../store/types.js';
import type { Metrics } from './metrics.js';
import type { LogRecorder } from './routes/log.js';

export interface AppLimits {
  /** Largest artifact accepted by POST /v1/sign/:key (streamed, not buffered). */
  readonly maxArtifactBytes: number;
  /** Largest JSON body (key import, key create, batches). */
  readonly maxJsonBytes: number;
  /** Largest tarball the server vets itself (read into memory, unpacked in a temp directory). */
  readonly maxVetBytes: number;
}

export const DEFAULT_LIMITS: AppLimits = {
  maxArtifactBytes: 8 * 1024 * 1024 * 1024,
  maxJsonBytes: 1024 * 1024,
  maxVetBytes: 512 * 1024 * 1024,
};

/** Timeouts and caps of the listening socket (settings `connections`, docs/security.md). */
export interface ConnectionLimits {
  /** The request line and headers must have arrived within this (slowloris). */
  readonly headersTimeoutMs: number;
  /** The whole request, body included, must have arrived within this. */
  readonly requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. */
  readonly keepAliveTimeoutMs: number;
  /** A connection on which nothing moves for this long is closed. */
  readonly idleTimeoutMs: number;
  /** Open connections in all; one more is closed at once. */
  readonly maxConnections: number;
  /** Open connections from one source address (trusted proxies exempt). */
  readonly maxConnectionsPerSource: number;
}

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = {
  headersTimeoutMs: 10_000,
  // An 8 GiB artifact at 30 MB/s; larger files over slower links: midstate mode, or raise it.
  requestTimeoutMs: 300_000,
  keepAliveTimeoutMs: 5_000,
  idleTimeoutMs: 60_000,
  maxConnections: 4096,
  maxConnectionsPerSource: 256,
};

export interface RouteContext {
  readonly store: Store;
  readonly keys: KeyService;
  readonly tokens: TokenService;
  /** AppRole, response wrapping, login limits (src/auth/). */
  readonly auth: AuthServices;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly limits: AppLimits;
  /** The transparency log: routes record every signature here before answering (invariant 4). */
  readonly log: LogRecorder;
  /** The audit stream (allow/deny decisions; logins and unwraps too). Throws AUDIT_UNAVAILABLE. */
  readonly audit: AuditSink;
  /** Policy documents (`signet policy …`; roles store theirs through write). */
  readonly policies: PolicyService;
  /** Authenticate the bearer token (sets request.signetToken). */
  authenticate(request: FastifyRequest): Promise<TokenRecord>;
  /** Authenticate, then check the action against the token's policy (deny by default). */
  authorize(request: FastifyRequest, action: Action): Promise<TokenRecord>;
  /** Whether the token may do this, without auditing or counting a rate-limited use (list filters). */
  permits(request: FastifyRequest, action: Action): Promise<boolean>;
  /** Read-only git mirrors the server vets tarballs against (settings `vet.mirrors`), if any. */
  readonly vetMirrors?: string;
  /** The request's source address: the socket's, or the client a trusted proxy names. */
  source(request: FastifyRequest): string;
}

export type RouteModule = (app: FastifyInstance, ctx: RouteContext) => void;
