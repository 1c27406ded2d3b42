// Bearer tokens: random secrets handed out once, stored only as SHA-256 hashes and looked up by
// that hash (security-tests.md §7: never compare secret bytes with a branching compare).
import { createHash, randomBytes } from 'node:crypto';
import { SignetError } from '../errors.js';
import { Secret } from '../secret.js';
import type { Store, TokenRecord } from '../store/types.js';

/** Token secrets look like `sgn.<43 base64url chars>`; the prefix makes leaked tokens greppable. */
export const TOKEN_PREFIX = 'sgn.';
const TOKEN_PATTERN = /^sgn\.[A-Za-z0-9_-]{43}$/;
/** Longest Authorization value we even look at. */
const MAX_TOKEN_LENGTH = 256;

export function hashToken(token: Secret): Buffer {
  return createHash('sha256').update(token.reveal()).digest();
}

export function newTokenSecret(): Secret {
  return new Secret(TOKEN_PREFIX + randomBytes(32).toString('base64url'));
}

export function newAccessor(): string {
  return randomBytes(12).toString('base64url');
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
    const record = await this.#store.getTokenByHash(hashToken(new Secret(presented)));
    if (!record) throw new SignetError('TOKEN_INVALID', 'the token is not valid');
    if (record.revokedAt !== null) throw new SignetError('TOKEN_REVOKED', 'the token has been revoked');
    if (record.expiresAt !== null && record.expiresAt <= this.#now()) {
      throw new SignetError('TOKEN_EXPIRED', 'the token has expired');
    }
    return record;
  }

  revoke(accessor: string): Promise<string[]> {
    return this.#store.revokeToken(accessor, this.#now());
  }
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
