// The auth sub-store (`store.auth`): AppRole and JWT roles, secret_ids, response-wrapped
// responses and login-failure counters. Secrets never reach the store in clear: secret_ids and
// wrapping tokens are kept as SHA-256 hashes (looked up by hash), and a wrapped response is
// sealed under a key derived from its wrapping token, which the store never sees.
// Every method is atomic on its own; single-use operations (consumeSecretId, takeWrapped) are
// single-use under concurrency, on one node or several sharing PostgreSQL.

export type RoleKind = 'approle' | 'jwt';

export interface RoleRecord {
  readonly kind: RoleKind;
  /** Unique per kind; lower-case letters, digits, . _ - (no `..`). */
  readonly name: string;
  /** AppRole: the public half of the credential pair (not a secret). JWT roles get one too. */
  readonly roleId: string;
  /** Policy names bound to tokens issued through this role. */
  readonly policies: readonly string[];
  /** TTL of tokens issued by a login, ms. */
  readonly tokenTtlMs: number;
  /** Kind-specific settings (AppRole: secret_id defaults; JWT: issuer, JWKS, bound claims). */
  readonly config: Readonly<Record<string, unknown>>;
  readonly createdAt: number;
}

export interface SecretIdRecord {
  /** Public handle (listed, revoked by); never the secret. */
  readonly accessor: string;
  readonly roleName: string;
  /** SHA-256 of the secret_id. */
  readonly secretHash: Buffer;
  readonly usesLeft: number;
  readonly expiresAt: number;
  readonly createdAt: number;
  /** Source CIDRs the login must come from; empty = any. */
  readonly cidrs: readonly string[];
}

export interface WrappedRecord {
  readonly accessor: string;
  /** SHA-256 of the wrapping token. */
  readonly tokenHash: Buffer;
  /** The API path that produced the wrapped response (checked by clients: wrap substitution). */
  readonly creationPath: string;
  /** Accessor of the token that asked for the wrapping; revoking it voids the wrapped response. */
  readonly creatorAccessor: string;
  /** The response sealed with AES-256-GCM under a key derived from the wrapping token. */
  readonly sealed: Buffer;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly unwrappedAt: number | null;
}

export type TakeWrappedResult =
  | { readonly outcome: 'ok'; readonly record: WrappedRecord }
  | { readonly outcome: 'used' | 'expired'; readonly record: WrappedRecord }
  | { readonly outcome: 'unknown' };

export interface AuthStore {
  /** Throws ROLE_EXISTS when (kind, name) or the role_id is taken. */
  insertRole(role: RoleRecord): Promise<void>;
  getRole(kind: RoleKind, name: string): Promise<RoleRecord | undefined>;
  getRoleByRoleId(roleId: string): Promise<RoleRecord | undefined>;
  listRoles(kind: RoleKind): Promise<RoleRecord[]>;
  /** Deletes the role and its secret_ids; false when there was no such role. */
  deleteRole(kind: RoleKind, name: string): Promise<boolean>;

  insertSecretId(secretId: SecretIdRecord): Promise<void>;
  /**
   * Use one use of the secret_id with this hash, if it belongs to `roleName`, has uses left and
   * has not expired at `now`: one atomic decrement, so N concurrent logins with a 1-use secret_id
   * get exactly one success. Returns the record as it was before this use, or undefined.
   */
  consumeSecretId(secretHash: Buffer, roleName: string, now: number): Promise<SecretIdRecord | undefined>;
  listSecretIds(roleName: string): Promise<SecretIdRecord[]>;
  /** false when no secret_id of that role has this accessor. */
  deleteSecretId(roleName: string, accessor: string): Promise<boolean>;

  insertWrapped(wrapped: WrappedRecord): Promise<void>;
  /**
   * Unwrap-once: atomically mark the response unwrapped at `now` and return it (its sealed bytes
   * are erased from the store in the same step). A second call gets `used`, never the bytes.
   */
  takeWrapped(tokenHash: Buffer, now: number): Promise<TakeWrappedResult>;

  /** Failures recorded for `scope` in the window starting at `windowStart`. */
  loginFailures(scope: string, windowStart: number): Promise<number>;
  /** Add one failure for `scope` in that window (atomic increment); returns the new count. */
  recordLoginFailure(scope: string, windowStart: number): Promise<number>;
  /** Drop expired secret_ids, old wrapped rows and old failure windows. Returns rows removed. */
  tidy(now: number): Promise<number>;
}
