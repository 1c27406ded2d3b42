// Bearer tokens: random secrets handed out once, stored only as SHA-256 hashes and looked up by
// that hash (never compare secret bytes with a branching compare: its timing leaks how many bytes matched).
import { hash, randomBytes } from 'node:crypto';
import { SignetError } from '../errors.js';
import { Secret, constantTimeEqual } from '../secret.js';
import { newAccessor } from './credentials.js';
import type { Store, TokenRecord } from '../store/types.js';

/** Token secrets look like `sgn.<43 base64url chars>`; the prefix makes leaked tokens greppable. */
export const TOKEN_PREFIX = 'sgn.';
const TOKEN_PATTERN = /^sgn\.[A-Za-z0-9_-]{43}$/;
/** Longest Authorization value we even look at. */
const MAX_TOKEN_LENGTH = 256;

export function hashToken(token: Secret): Buffer {
  return hash('sha256', token.reveal(), 'buffer');
}

export function newTokenSecret(): Secret {
  return new Secret(TOKEN_PREFIX + randomBytes(32).toString('base64url'));
}

export interface IssueTokenOptions {
  readonly policies: readonly string[];
  readonly displayName: string;
  readonly ttlMs: number | null;
  readonly parentAccessor?: string | null;
  readonly meta?: Record<string, string>;
}

export class TokenService {
  readonly #store: Store;
  readonly #now: () => number;

  constructor(store: Store, now: () => number = Date.now) {
    this.#store = store;
    this.#now = now;
  }

  async issue(options: IssueTokenOptions): Promise<{ token: Secret; record: TokenRecord }> {
    const token = newTokenSecret();
    const createdAt = this.#now();
    const record: TokenRecord = {
      accessor: newAccessor(),
      tokenHash: hashToken(token),
      policies: [...options.policies],
      displayName: options.displayName,
      createdAt,
      expiresAt: options.ttlMs === null ? null : createdAt + options.ttlMs,
      revokedAt: null,
      parentAccessor: options.parentAccessor ?? null,
      meta: { ...(options.meta ?? {}) },
    };
    await this.#store.insertToken(record);
    return { token, record };
  }

  /** Resolve a presented token to its record, or throw with a code that reveals nothing more. */
  async authenticate(presented: string | undefined): Promise<TokenRecord> {
    if (presented === undefined || presented === '') {
      throw new SignetError('TOKEN_MISSING', 'a token is required (Authorization: Bearer …)');
    }
    if (presented.length > MAX_TOKEN_LENGTH || !TOKEN_PATTERN.test(presented)) {
      throw new SignetError('TOKEN_INVALID', 'the token is not valid');
    }
    const hash = hashToken(new Secret(presented));
    const record = await this.#store.getTokenByHash(hash);
    if (!record || !constantTimeEqual(record.tokenHash, hash)) throw new SignetError('TOKEN_INVALID', 'the token is not valid');
    if (record.revokedAt !== null) throw new SignetError('TOKEN_REVOKED', 'the token has been revoked');
    if (record.expiresAt !== null && record.expiresAt <= this.#now()) {
      throw new SignetError('TOKEN_EXPIRED', 'the token has expired');
    }
    return record;
  }

  revoke(accessor: string): Promise<string[]> {
    return this.#store.revokeToken(accessor, this.#now());
  }

  list(): Promise<TokenRecord[]> {
    return this.#store.listTokens();
  }

  async lookup(accessor: string): Promise<TokenRecord> {
    const record = accessor.length <= 64 ? await this.#store.getTokenByAccessor(accessor) : undefined;
    if (!record) throw new SignetError('TOKEN_NOT_FOUND', 'no token with that accessor');
    return record;
  }

  /**
   * Revoke a token and its descendants, refusing (LAST_ADMIN_TOKEN) when that would leave no
   * live admin token: the first-start admin token can be revoked once another admin exists.
   */
  async revokeChecked(accessor: string, adminPolicy: string): Promise<string[]> {
    const target = await this.lookup(accessor);
    if (target.revokedAt !== null) return [];
    const all = await this.#store.listTokens();
    const doomed = new Set([target.accessor]);
    for (let grew = true; grew; ) {
      grew = false;
      for (const t of all) {
        if (t.parentAccessor !== null && doomed.has(t.parentAccessor) && !doomed.has(t.accessor)) {
          doomed.add(t.accessor);
          grew = true;
        }
      }
    }
    const now = this.#now();
    const live = (t: TokenRecord): boolean => t.revokedAt === null && (t.expiresAt === null || t.expiresAt > now);
    const admins = all.filter((t) => live(t) && t.policies.includes(adminPolicy));
    if (admins.some((t) => doomed.has(t.accessor)) && admins.every((t) => doomed.has(t.accessor))) {
      throw new SignetError('LAST_ADMIN_TOKEN', 'this would revoke the last admin token; create another admin first');
    }
    return this.revoke(accessor);
  }
}

/** What the API shows of a token: never its secret or hash. */
export function tokenView(t: TokenRecord): Record<string, unknown> {
  return {
    accessor: t.accessor,
    display_name: t.displayName,
    policies: [...t.policies],
    created: new Date(t.createdAt).toISOString(),
    expires: t.expiresAt === null ? null : new Date(t.expiresAt).toISOString(),
    revoked: t.revokedAt === null ? null : new Date(t.revokedAt).toISOString(),
    parent: t.parentAccessor,
    meta: { ...t.meta },
  };
}

/** Extract the bearer token from an Authorization header value (or X-Signet-Token, Vault-style). */
export function bearerToken(authorization: string | undefined, headerToken: string | undefined): string | undefined {
  if (authorization !== undefined) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    // Another scheme (Basic, …) is a presented but invalid credential, not a missing one.
    return m ? m[1] : authorization;
  }
  return headerToken;
}

/**
 * The token a request presents, from its raw header list (Node keeps only the first of two
 * Authorization headers and joins repeated X-Signet-Token values). Refused with TOKEN_INVALID:
 * two Authorization headers, two X-Signet-Token headers, or both kinds naming different tokens:
 * a request must not be read one way by a proxy and another by the server.
 */
export function presentedToken(rawHeaders: readonly string[]): string | undefined {
  let authorization: string | undefined;
  let headerToken: string | undefined;
  let authorizations = 0;
  let headerTokens = 0;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (name.length === 13 && name.toLowerCase() === 'authorization') {
      authorizations++;
      authorization = rawHeaders[i + 1];
    } else if (name.length === 14 && name.toLowerCase() === 'x-signet-token') {
      headerTokens++;
      headerToken = rawHeaders[i + 1];
    }
  }
  if (authorizations > 1 || headerTokens > 1) throw new SignetError('TOKEN_INVALID', 'more than one credential header');
  const fromAuthorization = authorization === undefined ? undefined : bearerToken(authorization, undefined);
  if (fromAuthorization !== undefined && headerToken !== undefined && fromAuthorization !== headerToken.trim()) {
    throw new SignetError('TOKEN_INVALID', 'Authorization and X-Signet-Token name different tokens');
  }
  return bearerToken(authorization, headerToken);
}
