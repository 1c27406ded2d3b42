// The one storage interface (docs/architecture.md "Layers"): both engines implement it from day one.
// SQLite (src/store/sqlite/) is the embedded default; PostgreSQL (src/store/postgres/) is the
// scale-out engine. Both pass the same suite (test/store/store-suite.ts). Rules for every method:
// - async, so a networked engine fits; no engine-specific types leak out (Buffers, numbers,
//   bigint for log indices, strings; times are Unix milliseconds as numbers);
// - each method is atomic on its own; uniqueness violations become SignetError codes
//   (KEY_EXISTS, …), an unreachable engine becomes STORE_UNAVAILABLE.
// Growing the interface: each domain adds a sub-store as a property (`readonly log: LogStore`,
// `readonly auth: AuthStore`) with its interface in src/store/<domain>-types.ts and one
// implementation file per engine (src/store/sqlite/<domain>-store.ts, src/store/postgres/…),
// plus migrations in the engine's list. Migration version ranges: 1–9 base, 10–19 transparency
// log, 20–29 auth/policy/rate limits/audit, 30–34 approvals and vetting, 35–39 request answers;
// key versions and subkeys are 3–4, key backends 5.

import type { RequestStore } from './request-types.js';
import type { AuthStore } from './auth-types.js';
import type { LogStore } from './log-types.js';
import type { PolicyStore } from './policy-types.js';
import type { KeyVersionStore } from './key-version-types.js';
import type { ApprovalStore } from './approval-types.js';

import type { KeyAlgorithm } from '../openpgp/public-key.js';
export type { KeyAlgorithm };
/** disabled: refuses to sign until enabled; deleted: secrets erased, public part kept
 *  (docs/keys.md). */
export type KeyState = 'active' | 'revoked' | 'disabled' | 'deleted';
/** Where a key's private half lives (docs/key-backends.md): sealed in this store, or in a
 *  PKCS#11 token. */
export type KeyBackendName = 'sealed' | 'pkcs11';

export interface KeyRecord {
  /** signet's name for the key (the `--key NAME` users type). */
  readonly name: string;
  /** v4 fingerprint, 40 upper-case hex digits, or v6 (rfc9580 profile), 64 (src/keys/profile.ts). */
  readonly fingerprint: string;
  /** long key ID, 16 upper-case hex digits (last 8 bytes of the fingerprint). */
  readonly keyId: string;
  readonly algorithm: KeyAlgorithm;
  /** primary user ID, e.g. `Release Team <release@example.org>`. */
  readonly userId: string;
  /** OpenPGP key creation time (Unix seconds, as in the key packet). */
  readonly keyCreatedAt: number;
  /** binary transferable public key: public key packet, user ID, self-signature. */
  readonly publicKey: Buffer;
  /** private key material sealed by src/keys (AES-256-GCM under the key's data key); empty
   *  for a key held by a token. */
  readonly sealedSecret: Buffer;
  /** the key's data key, wrapped by the master key; empty for a key held by a token. */
  readonly wrappedDataKey: Buffer;
  /** which backend holds the private key ('sealed' for every key made before backends). */
  readonly backend: KeyBackendName;
  /** for a token-held key: the token's reference to it (src/keys/pkcs11-backend.ts, JSON with
   *  the CKA_ID and CKA_LABEL); null for a sealed key. */
  readonly tokenRef: string | null;
  readonly origin: 'generated' | 'imported';
  readonly state: KeyState;
  /** The artifact kinds the key may ever sign, whatever a policy grants (docs/policy.md
   *  "Key purposes"); in ARTIFACT_KINDS order. Keys made before purposes existed have every kind. */
  readonly purposes: readonly string[];
  /** row creation time, Unix ms. */
  readonly createdAt: number;
}

export interface TokenRecord {
  /** public handle of the token (listed, revoked by); never the secret. */
  readonly accessor: string;
  /** SHA-256 of the token secret; tokens are looked up by this, never stored in clear. */
  readonly tokenHash: Buffer;
  /** policy names bound to the token, e.g. ['admin'] or ['role:ci']. */
  readonly policies: readonly string[];
  readonly displayName: string;
  readonly createdAt: number;
  /** Unix ms, or null for no expiry (the first-start admin token). */
  readonly expiresAt: number | null;
  readonly revokedAt: number | null;
  /** accessor of the parent token (revocation cascades), or null. */
  readonly parentAccessor: string | null;
  /** free-form metadata set by the server (role name, source address); never secrets. */
  readonly meta: Readonly<Record<string, string>>;
}

export interface Store {
  readonly engine: 'sqlite' | 'postgres';
  /** The transparency log (src/store/log-types.ts). */
  readonly log: LogStore;
  /** Policies and rate-limit counters (src/store/policy-types.ts). */
  readonly policies: PolicyStore;
  /** Roles, secret_ids, wrapped responses, login-failure counters (src/store/auth-types.ts). */
  readonly auth: AuthStore;
  /** Key versions and subkeys (src/store/key-version-types.ts). */
  readonly keyVersions: KeyVersionStore;
  /** Answers kept by request id, for retries (src/store/request-types.ts). */
  readonly requests: RequestStore;
  /** Approval requests, decisions and the vetting-record index (src/store/approval-types.ts). */
  readonly approvals: ApprovalStore;

  /** Create or upgrade the schema (idempotent; safe when several nodes start together). */
  migrate(): Promise<void>;
  close(): Promise<void>;
  /** Cheap round trip used by /readyz. Throws STORE_UNAVAILABLE. */
  ping(): Promise<void>;

  // Small settings (schema version, master-key check value, log origin, …)
  getMeta(key: string): Promise<string | undefined>;
  /** Set only when absent; returns the value now stored (ours or the one already there). */
  putMetaIfAbsent(key: string, value: string): Promise<string>;
  setMeta(key: string, value: string): Promise<void>;

  // Signing keys
  /** Throws KEY_EXISTS when the name or fingerprint is taken. Also records the key's first
   *  version (src/store/key-version-types.ts). */
  insertKey(key: KeyRecord): Promise<void>;
  getKey(name: string): Promise<KeyRecord | undefined>;
  getKeyByFingerprint(fingerprint: string): Promise<KeyRecord | undefined>;
  listKeys(): Promise<KeyRecord[]>;
  /** Throws KEY_NOT_FOUND. */
  setKeyState(name: string, state: KeyState): Promise<void>;
  /** Replace the key's purposes (comma-free kind names). Throws KEY_NOT_FOUND. */
  setKeyPurposes(name: string, purposes: readonly string[]): Promise<void>;

  // Tokens
  insertToken(token: TokenRecord): Promise<void>;
  getTokenByHash(tokenHash: Buffer): Promise<TokenRecord | undefined>;
  getTokenByAccessor(accessor: string): Promise<TokenRecord | undefined>;
  listTokens(): Promise<TokenRecord[]>;
  /** Revoke the token and, transitively, every token whose parent it is. Returns accessors revoked. */
  revokeToken(accessor: string, at: number): Promise<string[]>;
  /**
   * Move a live token's expiry to `expiresAt` (renewal). Only a token that is neither revoked
   * nor expired at `now`, and only later: false when nothing changed.
   */
  extendToken(accessor: string, expiresAt: number, now: number): Promise<boolean>;
}
