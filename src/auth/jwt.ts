// CI identity tokens (GitLab CI `id_tokens`, GitHub Actions OIDC): a JWT role trusts one issuer,
// checks the token's signature against the issuer's JWKS (fetched from a configured URL, or
// stored with the role from a JWKS file for air-gapped hosts), its audience, its time window
// (with a bounded clock skew) and the role's bound claims (exact string matches, e.g. GitLab
// `project_path` + `ref_protected`, GitHub `repository` + `ref`). No long-lived secret on CI.
// Verification is jose's `jwtVerify` with an allow-list of asymmetric algorithms: `alg: none`,
// HMAC (key confusion) and anything unlisted are refused before any key is used.
import { createLocalJWKSet, createRemoteJWKSet, errors as joseErrors, jwtVerify, type JSONWebKeySet, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { SignetError, type ErrorCode } from '../errors.js';
import type { Secret } from '../secret.js';
import type { RoleRecord } from '../store/auth-types.js';
import type { Store, TokenRecord } from '../store/types.js';
import { checkRoleName } from './approle.js';
import { newRoleId } from './credentials.js';
import type { LoginLimiter } from './login-limiter.js';
import type { TokenService } from './tokens.js';

export const JWT_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];
export const DEFAULT_CLOCK_SKEW_MS = 60_000;
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;
import { MAX_JWT_LENGTH } from '../api/limits.js';
export { MAX_JWT_LENGTH };
const MAX_BOUND_CLAIMS = 16;
const CLAIM_NAME = /^[A-Za-z0-9_.:-]{1,64}$/;

export interface JwtRoleConfig {
  readonly issuer: string;
  readonly audiences: readonly string[];
  readonly jwks_url?: string;
  readonly jwks?: JSONWebKeySet;
  /** claim -> accepted values (any one, exact string comparison). */
  readonly bound_claims: Readonly<Record<string, readonly string[]>>;
  readonly algorithms: readonly JwtAlgorithm[];
  readonly clock_skew_ms: number;
}

export interface JwtRoleOptions {
  readonly policies: readonly string[];
  readonly tokenTtlMs?: number;
  readonly issuer: string;
  readonly audiences: readonly string[];
  readonly jwksUrl?: string;
  readonly jwks?: unknown;
  readonly boundClaims: Readonly<Record<string, string | readonly string[]>>;
  readonly algorithms?: readonly string[];
  readonly clockSkewMs?: number;
}

const DEFAULT_TOKEN_TTL_MS = 20 * 60_000;

function bad(message: string): SignetError {
  return new SignetError('BAD_REQUEST', message);
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** Validate a role's JWT settings; a role that would accept any token of an issuer is refused. */
export function checkJwtConfig(o: JwtRoleOptions): JwtRoleConfig {
  let issuer: URL;
  try {
    issuer = new URL(o.issuer);
  } catch {
    throw bad('issuer: must be a URL');
  }
  if (issuer.protocol !== 'https:' && !(issuer.protocol === 'http:' && isLoopback(issuer.hostname))) throw bad('issuer: must be https:// (http:// only on loopback)');
  if (o.audiences.length === 0 || o.audiences.some((a) => a === '' || a.length > 256)) throw bad('audience: at least one non-empty audience is required');
  if ((o.jwksUrl === undefined) === (o.jwks === undefined)) throw bad('give exactly one of jwks_url and jwks (a JWKS file)');
  let jwksUrl: string | undefined;
  if (o.jwksUrl !== undefined) {
    let u: URL;
    try {
      u = new URL(o.jwksUrl);
    } catch {
      throw bad('jwks_url: must be a URL');
    }
    if (u.protocol !== 'https:' && !(u.protocol === 'http:' && isLoopback(u.hostname))) throw bad('jwks_url: must be https:// (http:// only on loopback)');
    jwksUrl = u.href;
  }
  let jwks: JSONWebKeySet | undefined;
  if (o.jwks !== undefined) {
    const set = o.jwks as { keys?: unknown };
    if (typeof set !== 'object' || set === null || !Array.isArray(set.keys) || set.keys.length === 0 || set.keys.length > 32) {
      throw bad('jwks: want a JSON Web Key Set {"keys": [...]} with 1-32 keys');
    }
    for (const k of set.keys as Array<Record<string, unknown>>) {
      if (typeof k !== 'object' || k === null || typeof k.kty !== 'string') throw bad('jwks: every key needs a kty');
      // A private or symmetric key has no business here (and would be a secret at rest).
      if ('d' in k || 'k' in k || k.kty === 'oct') throw bad('jwks: only public keys are accepted');
    }
    jwks = { keys: set.keys } as JSONWebKeySet;
    try {
      createLocalJWKSet(jwks);
    } catch {
      throw bad('jwks: not a valid JSON Web Key Set');
    }
  }
  const entries = Object.entries(o.boundClaims);
  if (entries.length === 0) throw bad('bound_claims: at least one bound claim is required (else any token of the issuer would log in)');
  if (entries.length > MAX_BOUND_CLAIMS) throw bad(`bound_claims: at most ${MAX_BOUND_CLAIMS}`);
  const boundClaims: Record<string, string[]> = {};
  for (const [claim, value] of entries) {
    if (!CLAIM_NAME.test(claim)) throw bad(`bound_claims: bad claim name ${JSON.stringify(claim)}`);
    const values = typeof value === 'string' ? [value] : [...value];
    if (values.length === 0 || values.length > 64 || values.some((v) => typeof v !== 'string' || v === '' || v.length > 512)) {
      throw bad(`bound_claims.${claim}: want 1-64 non-empty strings`);
    }
    boundClaims[claim] = values;
  }
  const algorithms = (o.algorithms ?? JWT_ALGORITHMS) as readonly string[];
  if (algorithms.length === 0 || algorithms.some((a) => !(JWT_ALGORITHMS as readonly string[]).includes(a))) {
    throw bad(`algorithms: choose from ${JWT_ALGORITHMS.join(', ')}`);
  }
  const skew = o.clockSkewMs ?? DEFAULT_CLOCK_SKEW_MS;
  if (!Number.isInteger(skew) || skew < 0 || skew > MAX_CLOCK_SKEW_MS) throw bad('clock_skew: at most 5m');
  return {
    issuer: o.issuer,
    audiences: [...o.audiences],
    ...(jwksUrl !== undefined ? { jwks_url: jwksUrl } : {}),
    ...(jwks !== undefined ? { jwks } : {}),
    bound_claims: boundClaims,
    algorithms: [...algorithms] as JwtAlgorithm[],
    clock_skew_ms: skew,
  };
}

export class JwtService {
  readonly #store: Store;
  readonly #tokens: TokenService;
  readonly #limiter: LoginLimiter;
  readonly #now: () => number;
  /** Remote key sets by URL: jose caches keys (10 min) and refetches on an unknown kid (30 s cooldown). */
  readonly #remote = new Map<string, JWTVerifyGetKey>();

  constructor(store: Store, tokens: TokenService, limiter: LoginLimiter, now: () => number = Date.now) {
    this.#store = store;
    this.#tokens = tokens;
    this.#limiter = limiter;
    this.#now = now;
  }

  async createRole(name: string, options: JwtRoleOptions): Promise<RoleRecord> {
    checkRoleName(name);
    const config = checkJwtConfig(options);
    const role: RoleRecord = {
      kind: 'jwt',
      name,
      roleId: newRoleId(),
      policies: [...new Set(options.policies)],
      tokenTtlMs: options.tokenTtlMs ?? DEFAULT_TOKEN_TTL_MS,
      config: { ...config },
      createdAt: this.#now(),
    };
    await this.#store.auth.insertRole(role);
    return role;
  }

  async getRole(name: string): Promise<RoleRecord> {
    let role: RoleRecord | undefined;
    try {
      checkRoleName(name);
      role = await this.#store.auth.getRole('jwt', name);
    } catch (err) {
      if (!(err instanceof SignetError && err.code === 'NAME_INVALID')) throw err;
    }
    if (!role) throw new SignetError('ROLE_NOT_FOUND', `no JWT role named ${name}`);
    return role;
  }

  listRoles(): Promise<RoleRecord[]> {
    return this.#store.auth.listRoles('jwt');
  }

  async deleteRole(name: string): Promise<{ revokedTokens: number }> {
    await this.getRole(name);
    await this.#store.auth.deleteRole('jwt', name);
    let revokedTokens = 0;
    for (const t of await this.#store.listTokens()) {
      if (t.meta.auth === 'jwt' && t.meta.role === name && t.revokedAt === null) revokedTokens += (await this.#tokens.revoke(t.accessor)).length;
    }
    return { revokedTokens };
  }

  #keys(config: JwtRoleConfig): JWTVerifyGetKey {
    if (config.jwks !== undefined) return createLocalJWKSet(config.jwks);
    const url = config.jwks_url as string;
    let set = this.#remote.get(url);
    if (!set) {
      set = createRemoteJWKSet(new URL(url), { timeoutDuration: 5000, cooldownDuration: 30_000, cacheMaxAge: 600_000 });
      this.#remote.set(url, set);
    }
    return set;
  }

  /**
   * Verify the JWT for the role and issue a token. `onFailure` learns the reason (for the audit;
   * the caller's error carries only a stable code and a fixed message).
   */
  async login(roleName: string, jwt: string, source: string, onFailure: (reason: string) => void = () => undefined): Promise<{ token: Secret; record: TokenRecord }> {
    const attempt = { method: 'jwt', role: roleName.slice(0, 64), source };
    await this.#limiter.check(attempt);
    const fail = async (code: ErrorCode, reason: string): Promise<never> => {
      onFailure(reason);
      if (code !== 'JWKS_UNAVAILABLE') await this.#limiter.recordFailure(attempt);
      throw new SignetError(code, FIXED_MESSAGES[code] ?? 'the JWT was refused');
    };
    let role: RoleRecord | undefined;
    try {
      role = await this.getRole(roleName);
    } catch (err) {
      if (err instanceof SignetError && err.code === 'ROLE_NOT_FOUND') return fail('LOGIN_FAILED', 'unknown_role');
      throw err;
    }
    if (jwt.length === 0 || jwt.length > MAX_JWT_LENGTH) return fail('JWT_INVALID', 'malformed');
    const config = role.config as unknown as JwtRoleConfig;
    const now = this.#now();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(jwt, this.#keys(config), {
        issuer: config.issuer,
        audience: [...config.audiences],
        algorithms: [...config.algorithms],
        clockTolerance: Math.floor(config.clock_skew_ms / 1000),
        currentDate: new Date(now),
        requiredClaims: ['exp', 'iat'],
      }));
    } catch (err) {
      const [code, reason] = classify(err);
      return fail(code, reason);
    }
    // jose accepts an iat in the future; a token issued after "now + skew" comes from a bad clock.
    if (typeof payload.iat === 'number' && payload.iat * 1000 > now + config.clock_skew_ms) return fail('JWT_NOT_YET_VALID', 'iat_in_future');
    for (const [claim, accepted] of Object.entries(config.bound_claims)) {
      const value = (payload as Record<string, unknown>)[claim];
      const text = typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? String(value) : undefined;
      if (text === undefined || !accepted.includes(text)) return fail('JWT_CLAIMS_MISMATCH', `bound_claim:${claim}`);
    }
    const meta: Record<string, string> = { auth: 'jwt', role: role.name, source, issuer: config.issuer };
    if (typeof payload.sub === 'string') meta.sub = payload.sub.slice(0, 256);
    for (const claim of Object.keys(config.bound_claims)) meta[`claim.${claim}`] = String((payload as Record<string, unknown>)[claim]).slice(0, 256);
    // The signet token lives no longer than the role's TTL (CI job tokens are short already).
    return this.#tokens.issue({ policies: role.policies, displayName: `jwt ${role.name}`, ttlMs: role.tokenTtlMs, meta });
  }
}

const FIXED_MESSAGES: Partial<Record<ErrorCode, string>> = {
  LOGIN_FAILED: 'invalid role or JWT',
  JWT_INVALID: 'the JWT is malformed, unsigned, or its signature does not verify',
  JWT_EXPIRED: 'the JWT has expired',
  JWT_NOT_YET_VALID: 'the JWT is not valid yet',
  JWT_CLAIMS_MISMATCH: 'the JWT does not match the role (issuer, audience or bound claims)',
  JWKS_UNAVAILABLE: "the issuer's key set cannot be fetched",
};

function classify(err: unknown): [ErrorCode, string] {
  if (err instanceof joseErrors.JWTExpired) return ['JWT_EXPIRED', 'exp'];
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    if (err.claim === 'nbf' && err.reason === 'check_failed') return ['JWT_NOT_YET_VALID', 'nbf'];
    if (err.reason === 'missing') return ['JWT_INVALID', `missing:${err.claim}`];
    return ['JWT_CLAIMS_MISMATCH', err.claim];
  }
  if (err instanceof joseErrors.JWKSTimeout) return ['JWKS_UNAVAILABLE', 'jwks_timeout'];
  if (err instanceof joseErrors.JOSEError) {
    const code = err.code;
    // The key set was fetched but is not one (bad JSON, bad keys): the issuer side is broken.
    if (code === 'ERR_JOSE_GENERIC' || code === 'ERR_JWKS_INVALID') return ['JWKS_UNAVAILABLE', code];
    return ['JWT_INVALID', code];
  }
  if (err instanceof TypeError) return ['JWKS_UNAVAILABLE', 'jwks_fetch_failed'];
  return ['JWT_INVALID', 'unverifiable'];
}
