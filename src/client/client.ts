// Typed HTTP client for the signet API, used by the CLI and signet-gpg. All outbound HTTP lives
// here (docs/architecture.md "Layers": the pure cores do no I/O). Errors from the server keep their stable codes.
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import type https from 'node:https';
import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { ANSWERS } from '../api/answers.generated.js';
import { firstIssue, type Issue, type JsonSchema } from '../api/check.js';
import type * as api from '../api/schemas.js';
import type { Answer, ApprovalRequestView, VetAnswer, CreatedToken, JwtRoleInfo, KeyInfo, LoginResponse, MidstateRequest, PolicyInfo, RenewedToken, RoleInfo, RpmSignResponse, SecretIdInfo, SignResponse, TokenInfo, Unwrapped, WrapInfo } from '../api/schemas.js';
import { SignetError, isErrorCode } from '../errors.js';
import { RelayAgent, parseRelayAddr } from './relay-connect.js';

export interface ClientOptions {
  /** Base URL, e.g. http://127.0.0.1:7780 */
  readonly addr: string;
  readonly token?: string;
  /** PEM file of CA certificates to trust for https:// (in addition to the system's). */
  readonly caFile?: string;
  /**
   * PEM file whose certificates are trusted for https:// in addition to Node's bundled roots,
   * as NODE_EXTRA_CA_CERTS would add them (the CLI launcher defers that variable; bin/signet).
   * Ignored when caFile is given, as Node ignores NODE_EXTRA_CA_CERTS for an explicit `ca`.
   */
  readonly extraCaFile?: string;
  /** Give up when the server sends nothing for this long (default 60 s). */
  readonly timeoutMs?: number;
  /** Give up when the TCP (and TLS) connection is not up within this long (default 10 s). */
  readonly connectTimeoutMs?: number;
  /** Sent as X-Signet-Correlation-Id with every request; the server logs it with each signature. */
  readonly correlationId?: string;
}

// What the server answers: the API contract's schemas (src/api/schemas.ts). Every answer is
// checked against its schema before a caller sees it; one that does not fit is BAD_RESPONSE.
export type {
  ApprovalRequestView,
  VetAnswer,
  CreatedToken,
  JwtRoleInfo,
  LogSearchAnswer,
  LogSearchHit,
  RenewedToken,
  KeyInfo,
  LoginResponse,
  MidstateRequest,
  PolicyInfo,
  RoleInfo,
  RpmSignatureItem,
  RpmSignResponse,
  SecretIdInfo,
  SignResponse,
  TokenInfo,
  Unwrapped,
  WrapInfo,
} from '../api/schemas.js';

/** The client's form of the sign query (src/api/schemas.ts signQuery is the wire form). */
export interface SignQuery {
  kind?: string;
  name?: string;
  armor?: boolean;
  clear?: boolean;
  hash?: 'sha256' | 'sha512';
  /** An approved request's id (docs/approvals.md). */
  approval?: string;
}

/** What a signing route answers with 202 when the rule needs approvals (docs/approvals.md). */
export interface PendingRequest {
  readonly id: string;
  readonly digest: string;
  readonly required: number;
  readonly approvers: readonly string[];
  readonly expires: string;
  readonly packages?: number;
}

/** A signing request held for approvals: nothing was signed. Callers that can wait catch it. */
export class PendingApprovalError extends SignetError {
  readonly pending: PendingRequest;
  constructor(pending: PendingRequest) {
    super('REQUEST_PENDING', `the request needs ${pending.required} approval${pending.required === 1 ? '' : 's'} from ${pending.approvers.join(', ')}: request ${pending.id} (signet approve ${pending.id})`);
    this.pending = pending;
  }
}

function settled<T>(answer: T): T {
  const a = answer as { status?: unknown; request?: PendingRequest };
  if (a.status === 'pending_approval' && a.request) throw new PendingApprovalError(a.request);
  return answer;
}

/** Creation paths of wrapped AppRole secret_ids (`auth/approle/role/NAME/secret-id`). */
export const SECRET_ID_CREATION_PATH = /^auth\/approle\/role\/[a-z0-9][a-z0-9._-]{0,63}\/secret-id$/;

type Body = { json: unknown } | { stream: Readable; length?: number } | undefined;

/** Failures a retry through a relay may get past (the relay restarted, a signer reconnecting). */
const RETRYABLE = new Set(['SERVER_UNREACHABLE', 'RELAY_NO_SIGNER', 'RELAY_BUSY', 'SIGNER_UNAVAILABLE']);

export class SignetClient {
  readonly #base: URL;
  /** Where requests go: the base URL, or for a relay http://SIGNER/ over the relay's tunnels. */
  readonly #httpBase: URL;
  /** relay://: requests carry ids and are retried (docs/pull-mode.md "Retries"). */
  readonly #relay: boolean;
  readonly #token: string | undefined;
  readonly #agent: http.Agent;
  readonly #timeoutMs: number;
  readonly #connectTimeoutMs: number;
  readonly #correlationId: string | undefined;
  #bytesSent = 0;

  constructor(options: ClientOptions) {
    let base: URL;
    try {
      base = new URL(options.addr);
    } catch {
      throw new SignetError('USAGE', `--addr is not a URL: ${JSON.stringify(options.addr)}`);
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:' && base.protocol !== 'relay:') {
      throw new SignetError('USAGE', '--addr must be an http://, https:// or relay:// URL');
    }
    this.#relay = base.protocol === 'relay:';
    this.#base = base;
    this.#httpBase = base;
    this.#token = options.token;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#connectTimeoutMs = Math.min(options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS, this.#timeoutMs);
    this.#correlationId = options.correlationId;
    if (this.#relay) {
      const target = parseRelayAddr(base);
      const caFile = target.caFile ?? options.caFile;
      if (caFile === undefined) throw new SignetError('USAGE', 'a relay:// address needs the pull CA: --ca-file (SIGNET_CA_FILE) or ?ca=FILE in the address');
      let ca: Buffer;
      try {
        ca = readFileSync(caFile);
      } catch (err) {
        throw new SignetError('FILE_UNREADABLE', `cannot read ${caFile}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
      }
      this.#base = new URL(`https://${base.host}`);
      this.#httpBase = new URL(`http://${target.signer}/`);
      this.#agent = new RelayAgent(target, ca, this.#connectTimeoutMs);
      return;
    }
    this.#agent =
      base.protocol === 'https:'
        ? new (loadHttps().Agent)({ keepAlive: true, ...trustedCa(options) })
        : new http.Agent({ keepAlive: true });
  }

  /** Request body bytes sent so far (JSON bodies; streamed bodies are not counted). */
  get bytesSent(): number {
    return this.#bytesSent;
  }

  close(): void {
    this.#agent.destroy();
  }

  listKeys(): Promise<{ keys: KeyInfo[] }> {
    return this.#call<Answer<typeof api.keyList>>('GET', '/v1/keys');
  }

  getKey(name: string): Promise<KeyInfo> {
    return this.#call<Answer<typeof api.keyInfo>>('GET', `/v1/keys/${encodeURIComponent(name)}`);
  }

  exportKey(name: string): Promise<string> {
    return this.requestText(`/v1/keys/${encodeURIComponent(name)}/public`, ['application/pgp-keys', 'text/plain']);
  }

  /**
   * GET a text resource (checkpoint, verifier key, receipt, armored key). The media type must be
   * one signet serves for it: a web server's HTML page at the same path is not a signet answer.
   */
  async requestText(path: string, types: readonly string[] = ['text/plain']): Promise<string> {
    const r = await this.request('GET', path, undefined);
    const type = r.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
    if (type === undefined || !types.includes(type)) throw notSignet(this.#base, r.status, r.headers);
    return r.body.toString('utf8');
  }

  createKey(body: { name: string; algorithm: string; user_id: string; profile?: string; purposes?: string[]; backend?: string }): Promise<KeyInfo> {
    return this.#call<Answer<typeof api.keyInfo>>('POST', '/v1/keys', { json: body });
  }

  importKey(body: { name: string; secret_key: string; passphrase?: string; purposes?: string[]; backend?: string }): Promise<KeyInfo> {
    return this.#call<Answer<typeof api.keyInfo>>('POST', '/v1/keys/import', { json: body });
  }

  /** GET /v1/keys/:name/versions: the key's versions and subkeys. */
  keyVersions(name: string): Promise<Answer<typeof api.keyVersionsAnswer>> {
    return this.#call<Answer<typeof api.keyVersionsAnswer>>('GET', `/v1/keys/${encodeURIComponent(name)}/versions`);
  }

  /** POST /v1/keys/:name/{rotate,expire,revoke,disable,enable,delete,subkeys} (admin): one
   *  lifecycle change, logged (docs/keys.md). */
  changeKey(name: string, action: 'rotate' | 'expire' | 'revoke' | 'disable' | 'enable' | 'delete' | 'subkeys', body: Record<string, unknown>): Promise<Answer<typeof api.keyChangeAnswer>> {
    return this.#call<Answer<typeof api.keyChangeAnswer>>('POST', `/v1/keys/${encodeURIComponent(name)}/${action}`, { json: body });
  }

  /** GET /v1/keys/:name/revocation-cert (admin). */
  revocationCertificate(name: string, version?: string): Promise<string> {
    return this.requestText(`/v1/keys/${encodeURIComponent(name)}/revocation-cert${version ? `?version=${encodeURIComponent(version)}` : ''}`, ['application/pgp-keys']);
  }

  /** GET /v1/keys/:name/lint (admin). */
  lintKey(name: string): Promise<Answer<typeof api.lintAnswer>> {
    return this.#call<Answer<typeof api.lintAnswer>>('GET', `/v1/keys/${encodeURIComponent(name)}/lint`);
  }

  /** POST /v1/keys/:name/purpose (admin): replace the kinds the key may ever sign. */
  setKeyPurposes(name: string, purposes: string[]): Promise<KeyInfo> {
    return this.#call<Answer<typeof api.keyInfo>>('POST', `/v1/keys/${encodeURIComponent(name)}/purpose`, { json: { purposes } });
  }

  async sign(key: string, artifact: Readable, query: SignQuery, length?: number): Promise<SignResponse> {
    return settled(
      await this.#call<Answer<typeof api.signAnswer>>('POST', `/v1/sign/${encodeURIComponent(key)}${queryString(query)}`, {
        stream: artifact,
        ...(length !== undefined ? { length } : {}),
      }),
    );
  }

  /** POST /v1/sign/:key/midstate: a detached binary signature of a file hashed locally. */
  async signMidstate(key: string, body: MidstateRequest, query: Omit<SignQuery, 'clear' | 'hash'>): Promise<SignResponse> {
    return settled(await this.#call<Answer<typeof api.signAnswer>>('POST', `/v1/sign/${encodeURIComponent(key)}/midstate${queryString(query)}`, { json: body }));
  }

  /** POST /v1/sign/:key/midstate/salt: a single-use salt for a v6 key's midstate signature. */
  midstateSalt(key: string, query: Omit<SignQuery, 'clear'>): Promise<Answer<typeof api.midstateSaltAnswer>> {
    return this.#call<Answer<typeof api.midstateSaltAnswer>>('POST', `/v1/sign/${encodeURIComponent(key)}/midstate/salt${queryString(query)}`, undefined);
  }

  /** POST /v1/sign/:key/rpm: header prefixes (lead + both headers) in, one item per header out. */
  async signRpm(key: string, headers: readonly Buffer[], replace: boolean, approval?: string): Promise<RpmSignResponse> {
    return settled(
      await this.#call<Answer<typeof api.rpmAnswer>>('POST', `/v1/sign/${encodeURIComponent(key)}/rpm`, {
        json: { headers: headers.map((h) => h.toString('base64')), ...(replace ? { replace: true } : {}), ...(approval !== undefined ? { approval } : {}) },
      }),
    );
  }

  /** POST /v1/vet: log a vetting record made here (docs/vetting.md). */
  recordVet(body: Record<string, unknown>): Promise<VetAnswer> {
    return this.#call<VetAnswer>('POST', '/v1/vet', { json: body });
  }

  /** POST /v1/vet/mirror/:repo: the server vets the tarball against its mirror. */
  vetOnServer(repo: string, tarball: Readable, length: number, query: { tag: string; name: string; allow: readonly string[] }): Promise<VetAnswer> {
    const params = new URLSearchParams({ tag: query.tag, name: query.name });
    for (const a of query.allow) params.append('allow', a);
    return this.#call<VetAnswer>('POST', `/v1/vet/mirror/${encodeURIComponent(repo)}?${params.toString()}`, { stream: tarball, length });
  }

  listRequests(pending: boolean): Promise<{ requests: ApprovalRequestView[] }> {
    return this.#call<{ requests: ApprovalRequestView[] }>('GET', `/v1/requests${pending ? '?pending=1' : ''}`);
  }

  getRequest(id: string): Promise<ApprovalRequestView> {
    return this.#call<ApprovalRequestView>('GET', `/v1/requests/${encodeURIComponent(id)}`);
  }

  decide(id: string, decision: 'approve' | 'reject', comment?: string): Promise<ApprovalRequestView> {
    return this.#call<ApprovalRequestView>('POST', `/v1/requests/${encodeURIComponent(id)}/${decision}`, { json: comment !== undefined ? { comment } : {} });
  }

  writePolicy(name: string, yamlText: string): Promise<PolicyInfo> {
    return this.#call<Answer<typeof api.policyInfo>>('PUT', `/v1/sys/policies/${encodeURIComponent(name)}`, { json: { policy: yamlText } });
  }

  readPolicy(name: string): Promise<PolicyInfo> {
    return this.#call<Answer<typeof api.policyInfo>>('GET', `/v1/sys/policies/${encodeURIComponent(name)}`);
  }

  listPolicies(): Promise<{ policies: PolicyInfo[] }> {
    return this.#call<Answer<typeof api.policyList>>('GET', '/v1/sys/policies');
  }

  deletePolicy(name: string): Promise<{ deleted: string }> {
    return this.#call<Answer<typeof api.deleted>>('DELETE', `/v1/sys/policies/${encodeURIComponent(name)}`);
  }

  /** POST /v1/auth/token/create (admin): a token bound to the given policies. */
  createToken(body: { policies: string[]; ttl?: string; display_name?: string; renewable?: boolean; max_ttl?: string; orphan?: boolean }): Promise<CreatedToken> {
    return this.#call<Answer<typeof api.createdToken>>('POST', '/v1/auth/token/create', { json: body });
  }

  /** POST /v1/auth/token/renew-self: extend the token in use (renewable tokens, up to their max TTL). */
  renewSelf(body: { increment?: string } = {}): Promise<RenewedToken> {
    return this.#call<Answer<typeof api.renewedToken>>('POST', '/v1/auth/token/renew-self', { json: body });
  }

  // Auth: AppRole roles, secret_ids, login, response wrapping, tokens.
  createRole(name: string, body: { policies?: string[]; policy?: string; token_ttl?: string; secret_id_ttl?: string; secret_id_uses?: number; bound_cidrs?: string[] }): Promise<RoleInfo> {
    return this.#call<Answer<typeof api.roleInfo>>('POST', `/v1/auth/approle/role/${encodeURIComponent(name)}`, { json: body });
  }

  getRole(name: string): Promise<RoleInfo> {
    return this.#call<Answer<typeof api.roleInfo>>('GET', `/v1/auth/approle/role/${encodeURIComponent(name)}`);
  }

  listRoles(): Promise<{ roles: RoleInfo[] }> {
    return this.#call<Answer<typeof api.roleList>>('GET', '/v1/auth/approle/role');
  }

  deleteRole(name: string): Promise<{ deleted: string; revoked_tokens: number }> {
    return this.#call<Answer<typeof api.roleDeleted>>('DELETE', `/v1/auth/approle/role/${encodeURIComponent(name)}`);
  }

  /** A secret_id for the role, or with `wrap_ttl` a wrapping token for it. */
  secretId(name: string, body: { ttl?: string; uses?: number; wrap_ttl?: string; cidrs?: string[] }): Promise<SecretIdInfo | { wrap_info: WrapInfo }> {
    return this.#call<Answer<typeof api.secretIdAnswer>>('POST', `/v1/auth/approle/role/${encodeURIComponent(name)}/secret-id`, { json: body });
  }

  listSecretIds(name: string): Promise<Answer<typeof api.secretIdList>> {
    return this.#call<Answer<typeof api.secretIdList>>('GET', `/v1/auth/approle/role/${encodeURIComponent(name)}/secret-id`);
  }

  destroySecretId(name: string, accessor: string): Promise<{ destroyed: string }> {
    return this.#call<Answer<typeof api.secretIdDestroyed>>('DELETE', `/v1/auth/approle/role/${encodeURIComponent(name)}/secret-id/${encodeURIComponent(accessor)}`);
  }

  login(roleId: string, secretId: string): Promise<LoginResponse> {
    return this.#call<Answer<typeof api.loginAnswer>>('POST', '/v1/auth/approle/login', { json: { role_id: roleId, secret_id: secretId } });
  }

  /**
   * Unwrap with this client's token (the wrapping token). The response must come from where the
   * caller expects (`expected`: exact path or pattern), or it is refused: an attacker who wrapped
   * a secret of their own and handed over its token must not be believed (wrap substitution).
   */
  async unwrap(expected: string | RegExp): Promise<Unwrapped> {
    const r = await this.#call<Answer<typeof api.unwrapped>>('POST', '/v1/sys/wrapping/unwrap');
    const ok = typeof expected === 'string' ? r.creation_path === expected : expected.test(r.creation_path);
    if (!ok) throw new SignetError('WRAPPING_PATH_MISMATCH', `the wrapped response came from ${JSON.stringify(r.creation_path)}, not from what was expected`);
    return r;
  }

  createJwtRole(name: string, body: Record<string, unknown>): Promise<JwtRoleInfo> {
    return this.#call<Answer<typeof api.jwtRoleInfo>>('POST', `/v1/auth/jwt/role/${encodeURIComponent(name)}`, { json: body });
  }

  getJwtRole(name: string): Promise<JwtRoleInfo> {
    return this.#call<Answer<typeof api.jwtRoleInfo>>('GET', `/v1/auth/jwt/role/${encodeURIComponent(name)}`);
  }

  listJwtRoles(): Promise<{ roles: JwtRoleInfo[] }> {
    return this.#call<Answer<typeof api.jwtRoleList>>('GET', '/v1/auth/jwt/role');
  }

  deleteJwtRole(name: string): Promise<{ deleted: string; revoked_tokens: number }> {
    return this.#call<Answer<typeof api.roleDeleted>>('DELETE', `/v1/auth/jwt/role/${encodeURIComponent(name)}`);
  }

  jwtLogin(role: string, jwt: string): Promise<LoginResponse> {
    return this.#call<Answer<typeof api.loginAnswer>>('POST', '/v1/auth/jwt/login', { json: { role, jwt } });
  }

  listTokens(): Promise<{ tokens: TokenInfo[] }> {
    return this.#call<Answer<typeof api.tokenList>>('GET', '/v1/auth/token');
  }

  lookupToken(accessor?: string): Promise<TokenInfo> {
    return this.#call<Answer<typeof api.tokenInfo>>('GET', accessor === undefined ? '/v1/auth/token/lookup-self' : `/v1/auth/token/lookup/${encodeURIComponent(accessor)}`);
  }

  revokeToken(accessor?: string): Promise<{ revoked: string[] }> {
    return accessor === undefined
      ? this.#call<Answer<typeof api.revoked>>('POST', '/v1/auth/token/revoke-self')
      : this.#call<Answer<typeof api.revoked>>('POST', '/v1/auth/token/revoke', { json: { accessor } });
  }

  /** A JSON request to any route; the answer is checked as the typed methods' answers are. */
  requestJson<T>(method: string, path: string, body?: Body): Promise<T> {
    return this.#call<T>(method, path, body);
  }

  /**
   * Send, parse the JSON answer, and check it against the route's answer schema in the API
   * contract (src/api/schemas.ts, as JSON Schema in src/api/answers.generated.ts). An answer that
   * is not JSON is not from signet (SERVER_NOT_SIGNET); one outside the contract is BAD_RESPONSE.
   */
  async #call<T>(method: string, path: string, body?: Body): Promise<T> {
    const r = await this.request(method, path, body);
    let json: unknown;
    try {
      json = JSON.parse(r.body.toString('utf8'));
    } catch {
      throw notSignet(this.#base, r.status, r.headers);
    }
    const schema = answerSchemaOf(method, new URL(path, this.#base).pathname);
    const issue = schema === undefined ? undefined : firstIssue(schema, json);
    if (issue !== undefined) throw badResponse(this.#base, method, path, issue);
    return json as T;
  }

  async request(method: string, path: string, body: Body): Promise<{ status: number; body: Buffer; headers: http.IncomingHttpHeaders }> {
    if (!this.#relay) return this.#send(method, path, body, undefined);
    // Through a relay every POST carries an id, and a request whose bytes can be sent again is
    // retried when the path to the signer broke: the signer answers an id once and gives the
    // same answer to the retry (src/server/request-ids.ts), so nothing is signed or logged twice.
    const requestId = method === 'POST' ? randomUUID() : undefined;
    const replayable = body === undefined || 'json' in body;
    const deadline = Date.now() + this.#timeoutMs;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#send(method, path, body, requestId);
      } catch (err) {
        if (!replayable || !(err instanceof SignetError) || !RETRYABLE.has(err.code) || Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, Math.min(2000, 100 * 2 ** Math.min(attempt, 5))));
      }
    }
  }

  #send(method: string, path: string, body: Body, requestId: string | undefined): Promise<{ status: number; body: Buffer; headers: http.IncomingHttpHeaders }> {
    const url = new URL(path, this.#httpBase);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.#token) headers.authorization = `Bearer ${this.#token}`;
    if (this.#correlationId !== undefined) headers['x-signet-correlation-id'] = this.#correlationId;
    if (requestId !== undefined) headers['x-signet-request-id'] = requestId;
    let payload: Buffer | undefined;
    if (body && 'json' in body) {
      payload = Buffer.from(JSON.stringify(body.json));
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(payload.length);
      this.#bytesSent += payload.length;
    } else if (body && 'stream' in body) {
      headers['content-type'] = 'application/octet-stream';
      if (body.length !== undefined) headers['content-length'] = String(body.length);
    }
    const transport = url.protocol === 'https:' ? loadHttps() : http;
    return new Promise((resolvePromise, reject) => {
      const req = transport.request(url, { method, headers, agent: this.#agent, timeout: this.#timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err) => reject(unreachable(this.#base, err)));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const buf = Buffer.concat(chunks);
          if (status >= 200 && status < 300) {
            resolvePromise({ status, body: buf, headers: res.headers });
            return;
          }
          reject(errorFromResponse(this.#base, status, buf, res.headers));
        });
      });
      // Two limits: the connection must be up within the connect timeout (a filtered port or a
      // dead host fails in seconds), and afterwards the server must not stay silent longer than
      // the idle timeout (a server that accepts and never answers fails instead of hanging).
      req.on('socket', (socket) => {
        if (!socket.connecting) return;
        const timer = setTimeout(
          () => req.destroy(new SignetError('SERVER_UNREACHABLE', `cannot reach signet at ${this.#base.origin}: no connection within ${seconds(this.#connectTimeoutMs)} (--timeout)`)),
          this.#connectTimeoutMs,
        );
        timer.unref();
        socket.once(url.protocol === 'https:' ? 'secureConnect' : 'connect', () => clearTimeout(timer));
        socket.once('close', () => clearTimeout(timer));
      });
      req.on('timeout', () =>
        req.destroy(new SignetError('SERVER_UNREACHABLE', `no answer from signet at ${this.#base.origin} within ${seconds(this.#timeoutMs)} (raise --timeout if the server is busy)`)),
      );
      req.on('error', (err) => reject(unreachable(this.#base, err)));
      if (body && 'stream' in body) {
        body.stream.on('error', (err) => req.destroy(err));
        body.stream.pipe(req);
      } else {
        req.end(payload);
      }
    });
  }
}

/** node:https (and with it node:tls) is loaded only for an https:// server: a loopback http://
 *  client does not pay for it at startup. */
let httpsModule: typeof https | undefined;
function loadHttps(): typeof https {
  return (httpsModule ??= process.getBuiltinModule('node:https'));
}

/** The `ca` option for https: --ca-file alone, else Node's bundled roots and the deferred extra file. */
function trustedCa(options: ClientOptions): { ca?: string | Buffer | Array<string | Buffer> } {
  if (options.caFile) return { ca: readFileSync(options.caFile) };
  if (!options.extraCaFile) return {};
  let extra: string;
  try {
    extra = readFileSync(options.extraCaFile, 'utf8');
  } catch (err) {
    // What Node does with an unreadable NODE_EXTRA_CA_CERTS: warn and go on with its roots.
    process.stderr.write(`signet: warning: ignoring extra CA certificates from ${options.extraCaFile} (NODE_EXTRA_CA_CERTS): ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}\n`);
    return {};
  }
  return { ca: [...process.getBuiltinModule('node:tls').rootCertificates, extra] };
}

function queryString(query: SignQuery): string {
  const params = new URLSearchParams();
  if (query.kind) params.set('kind', query.kind);
  if (query.name) params.set('name', query.name);
  if (query.armor) params.set('armor', '1');
  if (query.clear) params.set('clear', '1');
  if (query.hash) params.set('hash', query.hash);
  if (query.approval) params.set('approval', query.approval);
  const qs = params.toString();
  return qs ? `?${qs}` : '';
}

export const DEFAULT_TIMEOUT_MS = 60_000;
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))} s`;
}

/**
 * A failed request in signet's terms. signet answers every error with `{"error":{"code",
 * "message"}}` (README, "HTTP API"); anything else at the address (a web server's HTML 404, a proxy's
 * 502 page, another API) is not a signet server, and saying so beats "HTTP 404".
 */
function errorFromResponse(base: URL, status: number, body: Buffer, headers: http.IncomingHttpHeaders): SignetError {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { error?: { code?: unknown; message?: unknown } };
    const code = parsed.error?.code;
    const message = typeof parsed.error?.message === 'string' ? parsed.error.message : `HTTP ${status}`;
    if (isErrorCode(code)) return new SignetError(code, message);
  } catch {
    // not JSON: fall through
  }
  return notSignet(base, status, headers);
}

/** The contract's answer schema for a request path (static routes before parameterised ones).
 *  A route's pattern and schema are built on first use: a CLI run calls one or two routes. */
function answerSchemaOf(method: string, pathname: string): JsonSchema | undefined {
  answerRoutes ??= [...ANSWERS]
    .sort((a, b) => (a[1].match(/[:*]/g)?.length ?? 0) - (b[1].match(/[:*]/g)?.length ?? 0))
    .map(([m, path, text]) => ({ method: m, path, text }));
  const route = answerRoutes.find(
    (r) => r.method === method && (r.pattern ??= new RegExp(`^${r.path.replace(/[.]/g, '\\.').replace(/:[A-Za-z_]+/g, '[^/]+').replace(/\*$/, '.*')}$`)).test(pathname),
  );
  if (route === undefined) return undefined;
  return (route.schema ??= JSON.parse(route.text) as JsonSchema);
}

let answerRoutes: { readonly method: string; readonly path: string; readonly text: string; pattern?: RegExp; schema?: JsonSchema }[] | undefined;

/**
 * An answer that does not fit the API contract (src/api/schemas.ts): a broken or hostile server,
 * or something between. Named by field, never echoing the server's values, on one line.
 */
function badResponse(base: URL, method: string, path: string, issue: Issue): SignetError {
  const where = issue.path.length > 0 ? issue.path.map((p) => printable(String(p))).join('.') : 'the answer';
  return new SignetError('BAD_RESPONSE', `the server at ${base.origin} answered ${method} ${printable(path.split('?')[0] ?? path)} outside the API contract (${where}: ${issue.message})`);
}

/** At most 120 characters, no control characters: a hostile server's field names go into one CLI line. */
function printable(s: string): string {
  let clean = '';
  for (const c of s) {
    const code = c.codePointAt(0)!;
    clean += code < 0x20 || (code >= 0x7f && code <= 0x9f) ? '?' : c;
  }
  return clean.length > 120 ? `${clean.slice(0, 117)}...` : clean;
}

function notSignet(base: URL, status: number, headers: http.IncomingHttpHeaders): SignetError {
  const type = headers['content-type']?.split(';')[0]?.trim();
  return new SignetError(
    'SERVER_NOT_SIGNET',
    `the server at ${base.origin} is not a signet server (it answered HTTP ${status}${type ? `, ${type}` : ''}); check --addr`,
  );
}

/** Node's codes for a certificate that does not chain to a trusted CA or does not name the host. */
const UNTRUSTED_CERT = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

function unreachable(base: URL, err: Error): SignetError {
  if (err instanceof SignetError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR') {
    const path = (err as NodeJS.ErrnoException).path;
    return new SignetError('FILE_UNREADABLE', `cannot read ${path ?? 'the input'}: ${code}`);
  }
  if (code !== undefined && UNTRUSTED_CERT.has(code)) {
    // SERVER_UNREACHABLE as before (scripts match on it); the message says what to do.
    return new SignetError(
      'SERVER_UNREACHABLE',
      `the TLS certificate of ${base.origin} is not trusted (${code}); pass --ca-file with the CA that issued it (or SIGNET_CA_FILE, or ca_file in the client configuration)`,
    );
  }
  if (code === 'EPROTO' || code === 'ERR_SSL_WRONG_VERSION_NUMBER') {
    return new SignetError('SERVER_NOT_SIGNET', `the server at ${base.origin} does not speak TLS as expected (${code}); is it an http:// address?`);
  }
  if (code === 'HPE_INVALID_CONSTANT' || code === 'HPE_INVALID_HEADER_TOKEN' || code === 'ECONNRESET_BEFORE_RESPONSE') {
    return new SignetError('SERVER_NOT_SIGNET', `the server at ${base.origin} does not speak HTTP as expected (${code}); is it an https:// address?`);
  }
  return new SignetError('SERVER_UNREACHABLE', `cannot reach signet at ${base.origin} (${code ?? err.message})`);
}
