// The scale-out store: PostgreSQL through pg, behind the same Store interface as SQLite. Several
// `signet serve` nodes share one database; every method is one statement or one transaction, so
// what one node commits is what every node reads. Engine errors are translated in ./errors.ts.
import type { ApprovalStore } from '../approval-types.js';
import { PostgresApprovalStore } from './approval-store.js';
import type { KeyRecord, KeyState, Store, TokenRecord } from '../types.js';
import type { LogStore } from '../log-types.js';
import { PostgresLogStore } from './log-store.js';
import { PostgresPolicyStore } from './policy-store.js';
import type { PolicyStore } from '../policy-types.js';
import { PostgresAuthStore } from './auth-store.js';
import { PostgresRequestStore } from './request-store.js';
import type { RequestStore } from '../request-types.js';
import type { AuthStore } from '../auth-types.js';
import { PostgresKeyVersionStore } from './key-version-store.js';
import { firstVersion, VERSION_COLUMNS, versionValues } from '../key-version-rows.js';
import { SignetError } from '../../errors.js';
import { PgDatabase, toSafeNumber, type PgOptions } from './database.js';
import { migrate } from './migrations.js';
import { keyFromRow, keyValues, tokenFromRow, type KeyRow, type TokenRow } from '../rows.js';

export class PostgresStore implements Store {
  readonly engine = 'postgres' as const;
  /** The connection layer, for sub-stores (log, auth) and `signet store migrate`. */
  readonly db: PgDatabase;
  readonly log: LogStore;
  readonly policies: PolicyStore;
  readonly auth: AuthStore;
  readonly keyVersions: PostgresKeyVersionStore;
  readonly requests: RequestStore;
  readonly approvals: ApprovalStore;

  private constructor(db: PgDatabase) {
    this.db = db;
    this.log = new PostgresLogStore(db);
    this.policies = new PostgresPolicyStore(db);
    this.auth = new PostgresAuthStore(db);
    this.keyVersions = new PostgresKeyVersionStore(db);
    this.requests = new PostgresRequestStore(db);
    this.approvals = new PostgresApprovalStore(db);
  }

  /** Opening connects lazily: an unreachable database surfaces on the first call (migrate, ping). */
  static open(url: string, options: PgOptions = {}): PostgresStore {
    return new PostgresStore(new PgDatabase(url, options));
  }

  async migrate(): Promise<void> {
    await migrate(this.db);
  }

  async close(): Promise<void> {
    await this.db.close();
  }

  async ping(): Promise<void> {
    await this.db.query('SELECT 1');
  }

  async getMeta(key: string): Promise<string | undefined> {
    const rows = await this.db.query<{ value: string }>('SELECT value FROM meta WHERE key = $1', [key]);
    return rows[0]?.value;
  }

  async putMetaIfAbsent(key: string, value: string): Promise<string> {
    // Two statements on purpose: under READ COMMITTED, ON CONFLICT DO NOTHING waits for a
    // concurrent inserter to commit, and only a new statement's snapshot sees its row.
    const inserted = await this.db.query<{ value: string }>(
      'INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING RETURNING value',
      [key, value],
    );
    if (inserted[0]) return inserted[0].value;
    const existing = await this.getMeta(key);
    if (existing === undefined) throw new SignetError('STORE_UNAVAILABLE', `the meta value ${key} vanished while being claimed`);
    return existing;
  }

  async setMeta(key: string, value: string): Promise<void> {
    await this.db.query('INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [key, value]);
  }

  async insertKey(key: KeyRecord): Promise<void> {
    const constraint = { constraint: ['KEY_EXISTS', `a key named ${key.name} or with fingerprint ${key.fingerprint} exists`] as ['KEY_EXISTS', string] };
    await this.db.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO keys (name, fingerprint, key_id, algorithm, user_id, key_created_at, public_key, sealed_secret,
           wrapped_data_key, origin, state, created_at, purposes, backend, token_ref) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
        keyValues(key),
        constraint,
      );
      await tx.query(`INSERT INTO key_versions (${VERSION_COLUMNS}) VALUES (${VERSION_COLUMNS.split(',').map((_, i) => `$${i + 1}`).join(', ')})`, versionValues(firstVersion(key)), constraint);
    });
  }

  async getKey(name: string): Promise<KeyRecord | undefined> {
    return toKey((await this.db.query<KeyRow>('SELECT * FROM keys WHERE name = $1', [name]))[0]);
  }

  async getKeyByFingerprint(fingerprint: string): Promise<KeyRecord | undefined> {
    return toKey((await this.db.query<KeyRow>('SELECT * FROM keys WHERE fingerprint = $1', [fingerprint]))[0]);
  }

  async listKeys(): Promise<KeyRecord[]> {
    // COLLATE "C": byte order, the order SQLite gives, whatever the database's locale.
    const rows = await this.db.query<KeyRow>('SELECT * FROM keys ORDER BY name COLLATE "C"');
    return rows.map((r) => toKey(r) as KeyRecord);
  }

  async setKeyState(name: string, state: KeyState): Promise<void> {
    const rows = await this.db.query('UPDATE keys SET state = $1 WHERE name = $2 RETURNING name', [state, name]);
    if (rows.length === 0) throw new SignetError('KEY_NOT_FOUND', `no key named ${name}`);
  }

  async setKeyPurposes(name: string, purposes: readonly string[]): Promise<void> {
    const rows = await this.db.query('UPDATE keys SET purposes = $1 WHERE name = $2 RETURNING name', [purposes.join(','), name]);
    if (rows.length === 0) throw new SignetError('KEY_NOT_FOUND', `no key named ${name}`);
  }

  async insertToken(token: TokenRecord): Promise<void> {
    await this.db.query(
      `INSERT INTO tokens (accessor, token_hash, policies, display_name, created_at, expires_at, revoked_at,
         parent_accessor, meta) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [
        token.accessor,
        token.tokenHash,
        // pg would send a JS array as a PostgreSQL array; JSONB wants the JSON text.
        JSON.stringify(token.policies),
        token.displayName,
        token.createdAt,
        token.expiresAt,
        token.revokedAt,
        token.parentAccessor,
        JSON.stringify(token.meta),
      ],
      { constraint: ['BAD_REQUEST', 'a token with this accessor or hash exists'] },
    );
  }

  async getTokenByHash(tokenHash: Buffer): Promise<TokenRecord | undefined> {
    return toToken((await this.db.query<TokenRow>('SELECT * FROM tokens WHERE token_hash = $1', [tokenHash]))[0]);
  }

  async getTokenByAccessor(accessor: string): Promise<TokenRecord | undefined> {
    return toToken((await this.db.query<TokenRow>('SELECT * FROM tokens WHERE accessor = $1', [accessor]))[0]);
  }

  async listTokens(): Promise<TokenRecord[]> {
    const rows = await this.db.query<TokenRow>('SELECT * FROM tokens ORDER BY created_at, accessor COLLATE "C"');
    return rows.map((r) => toToken(r) as TokenRecord);
  }

  async extendToken(accessor: string, expiresAt: number, now: number): Promise<boolean> {
    const rows = await this.db.query<{ accessor: string }>(
      `UPDATE tokens SET expires_at = $1 WHERE accessor = $2 AND revoked_at IS NULL AND expires_at IS NOT NULL AND expires_at > $3 AND expires_at < $1
       RETURNING accessor`,
      [expiresAt, accessor, now],
    );
    return rows.length > 0;
  }

  async revokeToken(accessor: string, at: number): Promise<string[]> {
    // One statement: the whole subtree is revoked, or (on any failure) none of it.
    const rows = await this.db.query<{ accessor: string }>(
      `WITH RECURSIVE tree(accessor) AS (
         SELECT accessor FROM tokens WHERE accessor = $1
         UNION SELECT t.accessor FROM tokens t JOIN tree ON t.parent_accessor = tree.accessor),
       revoked AS (
         UPDATE tokens SET revoked_at = $2 WHERE accessor IN (SELECT accessor FROM tree) AND revoked_at IS NULL)
       SELECT accessor FROM tree`,
      [accessor, at],
    );
    return rows.map((r) => r.accessor);
  }
}

const decoders = { int: (v: number | string) => toSafeNumber(v) };
const toKey = (r: KeyRow | undefined) => keyFromRow(r, decoders);
const toToken = (r: TokenRow | undefined) => tokenFromRow(r, decoders);
