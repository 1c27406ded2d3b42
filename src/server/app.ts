// The Fastify application: routes, authentication, error mapping, metrics. Independent of the
// listening socket (design.md topology 2: a request arriving through a tunnel is served with
// inject()), so serve.ts only adds the listener, TLS and lifecycle.
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { z } from 'zod';
import { SignetError } from '../errors.js';
import { TokenService, bearerToken } from '../auth/tokens.js';
import { AdminOnlyAuthorizer, ARTIFACT_KINDS, type Action, type Authorizer } from '../policy/authorize.js';
import type { KeyService } from '../keys/key-service.js';
import { armor, importSecretKey } from '../openpgp/index.js';
import { Secret } from '../secret.js';
import { signArtifact } from '../sign/engine.js';
import type { KeyRecord, Store, TokenRecord } from '../store/types.js';
import { toSignetError } from './error-mapping.js';
import { Metrics } from './metrics.js';

export interface AppLimits {
  /** Largest artifact accepted by POST /v1/sign/:key (streamed, not buffered). */
  readonly maxArtifactBytes: number;
  /** Largest JSON body (key import, key create). */
  readonly maxJsonBytes: number;
}

export const DEFAULT_LIMITS: AppLimits = {
  maxArtifactBytes: 8 * 1024 * 1024 * 1024,
  maxJsonBytes: 1024 * 1024,
};

export interface AppDeps {
  readonly store: Store;
  readonly keys: KeyService;
  readonly tokens: TokenService;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  readonly authorizer?: Authorizer;
  readonly limits?: Partial<AppLimits>;
  readonly version?: string;
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

const flag = z.enum(['1', '0', 'true', 'false']).transform((v) => v === '1' || v === 'true');
const artifactName = z
  .string()
  .min(1)
  .max(255)
  .refine((s) => !/[\u0000-\u001f\u007f]/.test(s), 'control characters are not allowed');
const keyName = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'key names are lower-case letters, digits, . _ -');

const signQuery = z
  .object({
    kind: z.enum(ARTIFACT_KINDS).optional(),
    name: artifactName.optional(),
    armor: flag.optional(),
    clear: flag.optional(),
    hash: z.enum(['sha256', 'sha512']).optional(),
  })
  .strict();

const keyParams = z.object({ key: keyName }).strict();
const nameParams = z.object({ name: keyName }).strict();

const createKeyBody = z
  .object({
    name: keyName,
    algorithm: z.enum(['rsa4096', 'ed25519']).default('ed25519'),
    user_id: z.string().min(1).max(256).refine((s) => !/[\u0000-\u001f\u007f]/.test(s), 'control characters are not allowed'),
  })
  .strict();

const importKeyBody = z
  .object({
    name: keyName,
    /** base64 of the binary export, or the armored text. */
    secret_key: z.string().min(1).max(700_000),
    passphrase: z.string().max(4096).optional(),
  })
  .strict();

function parse<T>(schema: z.ZodType<T>, value: unknown, code: 'QUERY_INVALID' | 'BODY_INVALID' | 'BAD_REQUEST'): T {
  const r = schema.safeParse(value ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
  const what = issue?.code === 'unrecognized_keys' ? `unknown field ${issue.keys.join(', ')}` : (issue?.message ?? 'invalid');
  throw new SignetError(code, `${where}${what}`);
}

export function keyView(k: KeyRecord): Record<string, unknown> {
  return {
    name: k.name,
    fingerprint: k.fingerprint,
    key_id: k.keyId,
    algorithm: k.algorithm,
    user_id: k.userId,
    created: new Date(k.keyCreatedAt * 1000).toISOString(),
    state: k.state,
    origin: k.origin,
  };
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
    disableRequestLogging: true,
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

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    try {
      await deps.store.ping();
      return { status: 'ready' };
    } catch {
      return reply.status(503).send(new SignetError('NOT_READY', 'the store is not reachable').toJSON());
    }
  });

  app.get('/metrics', async (_request, reply) => {
    const body = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(body);
  });

  app.get('/v1/keys', async (request) => {
    await authorize(request, { op: 'keys.read' });
    const keys = await deps.keys.list();
    return { keys: keys.map(keyView) };
  });

  app.get('/v1/keys/:name', async (request) => {
    const { name } = parse(nameParams, request.params, 'BAD_REQUEST');
    await authorize(request, { op: 'keys.read' });
    return keyView(await deps.keys.get(name));
  });

  app.get('/v1/keys/:name/public', async (request, reply) => {
    const { name } = parse(nameParams, request.params, 'BAD_REQUEST');
    await authorize(request, { op: 'keys.read' });
    const key = await deps.keys.get(name);
    return reply.type('application/pgp-keys').send(armor('PUBLIC KEY BLOCK', key.publicKey));
  });

  app.post('/v1/keys', async (request, reply) => {
    const body = parse(createKeyBody, request.body, 'BODY_INVALID');
    await authorize(request, { op: 'admin' });
    const key = await deps.keys.create(body.name, { algorithm: body.algorithm, userId: body.user_id });
    request.signetAudit = { event: 'key.create', key: key.name, fingerprint: key.fingerprint };
    return reply.status(201).send(keyView(key));
  });

  app.post('/v1/keys/import', async (request, reply) => {
    const body = parse(importKeyBody, request.body, 'BODY_INVALID');
    await authorize(request, { op: 'admin' });
    const material = body.secret_key.includes('-----BEGIN') ? Buffer.from(body.secret_key, 'utf8') : Buffer.from(body.secret_key, 'base64');
    const passphrase = body.passphrase === undefined ? undefined : new Secret(body.passphrase);
    const imported = importSecretKey(material, passphrase);
    const key = await deps.keys.importSecret(body.name, imported.privateKey, imported.info, imported.transferablePublicKey, imported.userIds);
    request.signetAudit = { event: 'key.import', key: key.name, fingerprint: key.fingerprint };
    return reply.status(201).send(keyView(key));
  });

  app.post('/v1/sign/:key', async (request, reply) => {
    const started = process.hrtime.bigint();
    const { key } = parse(keyParams, request.params, 'BAD_REQUEST');
    const query = parse(signQuery, request.query, 'QUERY_INVALID');
    const clear = query.clear ?? false;
    const kind = query.kind ?? (clear ? 'clearsign' : 'detached');
    const name = query.name ?? 'artifact';
    await authorize(request, { op: 'sign', key, kind, name, mode: 'content' });
    const body = request.body as Readable | undefined;
    if (body === undefined || body === null) throw new SignetError('BODY_EMPTY', 'the artifact is empty');
    if (!isStream(body)) {
      throw new SignetError('UNSUPPORTED_MEDIA_TYPE', 'send the artifact as the raw request body (application/octet-stream)');
    }
    const signer = await deps.keys.signer(key);
    const signed = await signArtifact(signer, body, {
      mode: clear ? 'clear' : 'binary',
      armor: query.armor ?? false,
      maxBytes: limits.maxArtifactBytes,
      ...(query.hash ? { hashAlgorithm: query.hash } : {}),
    });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    metrics.signLatency.observe({ key, kind }, seconds);
    metrics.signatures.inc({ key, kind });
    const artifactSha256 = signed.artifactSha256.toString('hex');
    request.signetAudit = { event: 'sign', key, kind, artifact: name, sha256: artifactSha256, bytes: signed.artifactBytes };
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
    });
  });

  return app;
}

function header(request: FastifyRequest, name: string): string | undefined {
  const v = request.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function isStream(body: unknown): body is Readable {
  return typeof body === 'object' && body !== null && Symbol.asyncIterator in body && typeof (body as Readable).pipe === 'function';
}

export type { FastifyReply };
