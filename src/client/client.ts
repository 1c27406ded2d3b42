// Typed HTTP client for the signet API, used by the CLI and signet-gpg. All outbound HTTP lives
// here (style.md: domain code does no I/O). Errors from the server keep their stable codes.
import http from 'node:http';
import type https from 'node:https';
import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { SignetError, isErrorCode } from '../errors.js';

export interface ClientOptions {
  /** Base URL, e.g. http://127.0.0.1:7780 */
  readonly addr: string;
  readonly token?: string;
  /** PEM file of CA certificates to trust for https:// (in addition to the system's). */
  readonly caFile?: string;
  readonly timeoutMs?: number;
  /** Sent as X-Signet-Correlation-Id with every request; the server logs it with each signature. */
  readonly correlationId?: string;
}

export interface KeyInfo {
  name: string;
  fingerprint: string;
  key_id: string;
  algorithm: 'rsa4096' | 'ed25519';
  user_id: string;
  created: string;
  state: string;
  origin: string;
}

export interface SignResponse {
  key: string;
  fingerprint: string;
  algorithm: string;
  hash_algorithm: string;
  created: number;
  kind: string;
  /** The artifact's digest: `sha256` from POST /v1/sign/:key; from the midstate route, the digest
   *  in the signature's hash (`sha256` or `sha512`). */
  artifact: { name: string; sha256?: string; sha512?: string; bytes: number };
  signature: string;
  armored?: string;
  cleartext?: string;
  [extra: string]: unknown;
}

export interface SignQuery {
  kind?: string;
  name?: string;
  armor?: boolean;
  clear?: boolean;
  hash?: 'sha256' | 'sha512';
}

/** POST /v1/sign/:key/midstate: the hash state after `length` bytes, and the rest of the file. */
export interface MidstateRequest {
  hash: 'sha256' | 'sha512';
  /** base64 of the chaining value (big-endian words). */
  state: string;
  length: number;
  /** base64 of the bytes after the last full block. */
  tail: string;
}

export interface RpmSignatureItem {
  /** base64 of the v4 signature packet, when signed. */
  packet?: string;
  error?: { code: string; message: string };
  nevra?: string;
  name?: string;
  arch?: string;
  payload_digest?: string | null;
  header_sha256?: string;
}

export interface RpmSignResponse {
  key: string;
  fingerprint?: string;
  algorithm?: 'rsa4096' | 'ed25519';
  hash_algorithm?: string;
  created: number;
  signed: number;
  failed: number;
  signatures: RpmSignatureItem[];
}

export interface PolicyInfo {
  name: string;
  builtin: boolean;
  rules: number;
  updated?: string;
  created?: string;
  /** The YAML text (read and write responses). */
  policy?: string;
}

export interface CreatedToken {
  token: string;
  accessor: string;
  policies: string[];
  ttl: number;
  expires: string;
  renewable?: boolean;
  max_expires?: string;
}

export interface RenewedToken {
  accessor: string;
  policies: string[];
  ttl: number;
  expires: string;
  max_expires: string;
  warning?: string;
}

export interface RoleInfo {
  name: string;
  role_id: string;
  policies: string[];
  token_ttl: string;
  secret_id_ttl?: string;
  secret_id_uses?: number;
  created: string;
  [extra: string]: unknown;
}

export interface SecretIdInfo {
  secret_id: string;
  secret_id_accessor: string;
  uses_left: number;
  expires: string;
}

export interface WrapInfo {
  token: string;
  accessor: string;
  ttl: number;
  expires: string;
  creation_path: string;
}

export interface LoginResponse {
  token: string;
  accessor: string;
  policies: string[];
  ttl: number | null;
  expires: string | null;
}

export interface TokenInfo {
  accessor: string;
  display_name: string;
  policies: string[];
  created: string;
  expires: string | null;
  revoked: string | null;
  parent: string | null;
  meta: Record<string, string>;
}

export interface Unwrapped {
  creation_path: string;
  created: string;
  data: Record<string, unknown>;
}

/** Creation paths of wrapped AppRole secret_ids (`auth/approle/role/NAME/secret-id`). */
export const SECRET_ID_CREATION_PATH = /^auth\/approle\/role\/[a-z0-9][a-z0-9._-]{0,63}\/secret-id$/;

type Body = { json: unknown } | { stream: Readable; length?: number } | undefined;

export class SignetClient {
  readonly #base: URL;
  readonly #token: string | undefined;
  readonly #agent: http.Agent;
  readonly #timeoutMs: number;
  readonly #correlationId: string | undefined;
  #bytesSent = 0;

  constructor(options: ClientOptions) {
    let base: URL;
    try {
      base = new URL(options.addr);
    } catch {
      throw new SignetError('USAGE', `--addr is not a URL: ${JSON.stringify(options.addr)}`);
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') {
      throw new SignetError('USAGE', '--addr must be an http:// or https:// URL');
    }
    this.#base = base;
    this.#token = options.token;
    this.#timeoutMs = options.timeoutMs ?? 120_000;
    this.#correlationId = options.correlationId;
    this.#agent =
      base.protocol === 'https:'
        ? new (loadHttps().Agent)({ keepAlive: true, ...(options.caFile ? { ca: readFileSync(options.caFile) } : {}) })
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
    return this.requestJson('GET', '/v1/keys');
  }

  getKey(name: string): Promise<KeyInfo> {
    return this.requestJson('GET', `/v1/keys/${encodeURIComponent(name)}`);
  }

  async exportKey(name: string): Promise<string> {
    const r = await this.request('GET', `/v1/keys/${encodeURIComponent(name)}/public`, undefined);
    return r.body.toString('utf8');
  }

  createKey(body: { name: string; algorithm: string; user_id: string }): Promise<KeyInfo> {
    return this.requestJson('POST', '/v1/keys', { json: body });
  }

  importKey(body: { name: string; secret_key: string; passphrase?: string }): Promise<KeyInfo> {
    return this.requestJson('POST', '/v1/keys/import', { json: body });
  }

  sign(key: string, artifact: Readable, query: SignQuery, length?: number): Promise<SignResponse> {
    return this.requestJson('POST', `/v1/sign/${encodeURIComponent(key)}${queryString(query)}`, {
      stream: artifact,
      ...(length !== undefined ? { length } : {}),
    });
  }

  /** POST /v1/sign/:key/midstate: a detached binary signature of a file hashed locally. */
  signMidstate(key: string, body: MidstateRequest, query: Omit<SignQuery, 'clear' | 'hash'>): Promise<SignResponse> {
    return this.requestJson('POST', `/v1/sign/${encodeURIComponent(key)}/midstate${queryString(query)}`, { json: body });
  }

  /** POST /v1/sign/:key/rpm: header prefixes (lead + both headers) in, one item per header out. */
  signRpm(key: string, headers: readonly Buffer[], replace: boolean): Promise<RpmSignResponse> {
    return this.requestJson('POST', `/v1/sign/${encodeURIComponent(key)}/rpm`, {
      json: { headers: headers.map((h) => h.toString('base64')), ...(replace ? { replace: true } : {}) },
    });
  }

  writePolicy(name: string, yamlText: string): Promise<PolicyInfo> {
    return this.requestJson('PUT', `/v1/sys/policies/${encodeURIComponent(name)}`, { json: { policy: yamlText } });
  }

  readPolicy(name: string): Promise<PolicyInfo> {
    return this.requestJson('GET', `/v1/sys/policies/${encodeURIComponent(name)}`);
  }

  listPolicies(): Promise<{ policies: PolicyInfo[] }> {
    return this.requestJson('GET', '/v1/sys/policies');
  }

  deletePolicy(name: string): Promise<{ deleted: string }> {
    return this.requestJson('DELETE', `/v1/sys/policies/${encodeURIComponent(name)}`);
  }

  /** POST /v1/auth/token/create (admin): a token bound to the given policies. */
  createToken(body: { policies: string[]; ttl?: string; display_name?: string; renewable?: boolean; max_ttl?: string }): Promise<CreatedToken> {
    return this.requestJson('POST', '/v1/auth/token/create', { json: body });
  }

  /** POST /v1/auth/token/renew-self: extend the token in use (renewable tokens, up to their max TTL). */
  renewSelf(body: { increment?: string } = {}): Promise<RenewedToken> {
    return this.requestJson('POST', '/v1/auth/token/renew-self', { json: body });
  }

  // Auth: AppRole roles, secret_ids, login, response wrapping, tokens.
  createRole(name: string, body: { policies?: string[]; policy?: string; token_ttl?: string; secret_id_ttl?: string; secret_id_uses?: number; bound_cidrs?: string[] }): Promise<RoleInfo> {
    return this.requestJson('POST', `/v1/auth/approle/role/${encodeURIComponent(name)}`, { json: body });
  }

  getRole(name: string): Promise<RoleInfo> {
    return this.requestJson('GET', `/v1/auth/approle/role/${encodeURIComponent(name)}`);
  }

  listRoles(): Promise<{ roles: RoleInfo[] }> {
    return this.requestJson('GET', '/v1/auth/approle/role');
  }

  deleteRole(name: string): Promise<{ deleted: string; revoked_tokens: number }> {
    return this.requestJson('DELETE', `/v1/auth/approle/role/${encodeURIComponent(name)}`);
  }

  /** A secret_id for the role, or with `wrap_ttl` a wrapping token for it. */
  secretId(name: string, body: { ttl?: string; uses?: number; wrap_ttl?: string; cidrs?: string[] }): Promise<SecretIdInfo | { wrap_info: WrapInfo }> {
    return this.requestJson('POST', `/v1/auth/approle/role/${encodeURIComponent(name)}/secret-id`, { json: body });
  }

  listSecretIds(name: string): Promise<{ secret_ids: Array<{ accessor: string; uses_left: number; expires: string; created: string; cidrs: string[] }> }> {
    return this.requestJson('GET', `/v1/auth/approle/role/${encodeURIComponent(name)}/secret-id`);
  }

  destroySecretId(name: string, accessor: string): Promise<{ destroyed: string }> {
    return this.requestJson('DELETE', `/v1/auth/approle/role/${encodeURIComponent(name)}/secret-id/${encodeURIComponent(accessor)}`);
  }

  login(roleId: string, secretId: string): Promise<LoginResponse> {
    return this.requestJson('POST', '/v1/auth/approle/login', { json: { role_id: roleId, secret_id: secretId } });
  }

  /**
   * Unwrap with this client's token (the wrapping token). The response must come from where the
   * caller expects (`expected`: exact path or pattern), or it is refused: an attacker who wrapped
   * a secret of their own and handed over its token must not be believed (wrap substitution).
   */
  async unwrap(expected: string | RegExp): Promise<Unwrapped> {
    const r = await this.requestJson<Unwrapped>('POST', '/v1/sys/wrapping/unwrap');
    const ok = typeof expected === 'string' ? r.creation_path === expected : expected.test(r.creation_path);
    if (!ok) throw new SignetError('WRAPPING_PATH_MISMATCH', `the wrapped response came from ${JSON.stringify(r.creation_path)}, not from what was expected`);
    return r;
  }

  createJwtRole(name: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
    return this.requestJson('POST', `/v1/auth/jwt/role/${encodeURIComponent(name)}`, { json: body });
  }

  getJwtRole(name: string): Promise<Record<string, unknown>> {
    return this.requestJson('GET', `/v1/auth/jwt/role/${encodeURIComponent(name)}`);
  }

  listJwtRoles(): Promise<{ roles: Array<Record<string, unknown> & { name: string; issuer: string; policies: string[] }> }> {
    return this.requestJson('GET', '/v1/auth/jwt/role');
  }

  deleteJwtRole(name: string): Promise<{ deleted: string; revoked_tokens: number }> {
    return this.requestJson('DELETE', `/v1/auth/jwt/role/${encodeURIComponent(name)}`);
  }

  jwtLogin(role: string, jwt: string): Promise<LoginResponse> {
    return this.requestJson('POST', '/v1/auth/jwt/login', { json: { role, jwt } });
  }

  listTokens(): Promise<{ tokens: TokenInfo[] }> {
    return this.requestJson('GET', '/v1/auth/token');
  }

  lookupToken(accessor?: string): Promise<TokenInfo> {
    return this.requestJson('GET', accessor === undefined ? '/v1/auth/token/lookup-self' : `/v1/auth/token/lookup/${encodeURIComponent(accessor)}`);
  }

  revokeToken(accessor?: string): Promise<{ revoked: string[] }> {
    return accessor === undefined
      ? this.requestJson('POST', '/v1/auth/token/revoke-self')
      : this.requestJson('POST', '/v1/auth/token/revoke', { json: { accessor } });
  }

  async requestJson<T>(method: string, path: string, body?: Body): Promise<T> {
    const r = await this.request(method, path, body);
    try {
      return JSON.parse(r.body.toString('utf8')) as T;
    } catch {
      throw new SignetError('INTERNAL', `the server sent a response that is not JSON (HTTP ${r.status})`);
    }
  }

  request(method: string, path: string, body: Body): Promise<{ status: number; body: Buffer; headers: http.IncomingHttpHeaders }> {
    const url = new URL(path, this.#base);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.#token) headers.authorization = `Bearer ${this.#token}`;
    if (this.#correlationId !== undefined) headers['x-signet-correlation-id'] = this.#correlationId;
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
          reject(errorFromResponse(status, buf));
        });
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
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

function queryString(query: SignQuery): string {
  const params = new URLSearchParams();
  if (query.kind) params.set('kind', query.kind);
  if (query.name) params.set('name', query.name);
  if (query.armor) params.set('armor', '1');
  if (query.clear) params.set('clear', '1');
  if (query.hash) params.set('hash', query.hash);
  const qs = params.toString();
  return qs ? `?${qs}` : '';
}

function errorFromResponse(status: number, body: Buffer): SignetError {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { error?: { code?: unknown; message?: unknown } };
    const code = parsed.error?.code;
    const message = typeof parsed.error?.message === 'string' ? parsed.error.message : `HTTP ${status}`;
    if (isErrorCode(code)) return new SignetError(code, message);
  } catch {
    // not JSON: fall through
  }
  return new SignetError(status === 503 ? 'SERVER_UNREACHABLE' : 'INTERNAL', `the server answered HTTP ${status}`);
}

function unreachable(base: URL, err: Error): SignetError {
  if (err instanceof SignetError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR') {
    return new SignetError('FILE_UNREADABLE', `cannot read the input: ${code}`);
  }
  return new SignetError('SERVER_UNREACHABLE', `cannot reach signet at ${base.origin} (${code ?? err.message})`);
}
