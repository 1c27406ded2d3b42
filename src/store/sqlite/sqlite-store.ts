// The embedded store: SQLite through better-sqlite3 (WAL, synchronous=FULL so an acknowledged
// write survives power loss). Engine errors are translated here; nothing SQLite-specific leaks out.
import { chmodSync, closeSync, existsSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import { preparedStatements } from './statements.js';
import { SignetError, type ErrorCode } from '../../errors.js';
import type { KeyRecord, KeyState, Store, TokenRecord } from '../types.js';
import { SqliteLogStore } from './log-store.js';
import { openCounterConnection, SqlitePolicyStore } from './policy-store.js';
import { SqliteAuthStore } from './auth-store.js';
import { SqliteKeyVersionStore } from './key-version-store.js';
import { firstVersion } from '../key-version-rows.js';
import { SqliteRequestStore } from './request-store.js';
import { SqliteApprovalStore } from './approval-store.js';
import { MIGRATIONS } from './migrations.js';
import { keyFromRow, keyValues, tokenFromRow, type KeyRow, type TokenRow } from '../rows.js';

/** Most token records kept in memory (a cache full of live tokens starts over). */
const TOKEN_CACHE_MAX = 10_000;

export class SqliteStore implements Store {
  readonly engine = 'sqlite' as const;
  readonly path: string;
  readonly #db: Database.Database;
  readonly #stmt: (sql: string) => Database.Statement;
  readonly log: SqliteLogStore;
  readonly policies: SqlitePolicyStore;
  readonly auth: SqliteAuthStore;
  readonly keyVersions: SqliteKeyVersionStore;
  #requests: SqliteRequestStore | undefined;
  readonly #counters: Database.Database;
  readonly approvals: SqliteApprovalStore;
  /**
   * Token records by hash. Only this process writes the tokens table of an embedded store
   * (insertToken, revokeToken below clear it), so a cached record is exactly the stored one;
   * expiry is still checked by the caller at every use. Spares the row read and JSON decoding
   * on every authenticated request. Misses are not cached. PostgreSQL (several nodes) has none.
   */
  readonly #tokensByHash = new Map<string, TokenRecord>();

  private constructor(path: string, db: Database.Database, counters: Database.Database) {
    this.path = path;
    this.#db = db;
    this.#stmt = preparedStatements(db);
    this.log = new SqliteLogStore(db, path);
    this.policies = new SqlitePolicyStore(db, counters, path);
    this.#counters = counters;
    this.auth = new SqliteAuthStore(db);
    this.keyVersions = new SqliteKeyVersionStore(db);
    this.approvals = new SqliteApprovalStore(db);
  }

  /**
   * Prepared on first use: the table exists only once migrate() has run. On the counters'
   * connection (synchronous=NORMAL: a commit is not an fsync): kept answers serve retries, and
   * two fsyncs per request would cost more than the power cut they would survive.
   */
  get requests(): SqliteRequestStore {
    return (this.#requests ??= new SqliteRequestStore(this.#counters));
  }

  static open(path: string): SqliteStore {
    try {
      if (!existsSync(path)) closeSync(openSync(path, 'a', 0o600));
      chmodSync(path, 0o600);
      const db = new Database(path, { fileMustExist: true });
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.pragma('busy_timeout = 5000');
      db.pragma('foreign_keys = ON');
      // Rate-limit counters: their own connection, WAL without an fsync per commit (policy-store.ts).
      return new SqliteStore(path, db, openCounterConnection(path));
    } catch (err) {
      throw translate(err, `cannot open the SQLite store ${path}`);
    }
  }

  async migrate(): Promise<void> {
    this.#run(() => {
      this.#db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)');
      const applied = new Set(
        (this.#stmt('SELECT version FROM schema_migrations').all() as Array<{ version: number }>).map((r) => r.version),
      );
      for (const m of [...MIGRATIONS].sort((a, b) => a.version - b.version)) {
        if (applied.has(m.version)) continue;
        this.#db.transaction(() => {
          this.#db.exec(m.sqlite);
          this.#stmt('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(m.version, Date.now());
        }).immediate();
      }
    });
  }

  async close(): Promise<void> {
    await this.log.close();
    await this.policies.close();
    if (this.#db.open) this.#db.close();
  }

  async ping(): Promise<void> {
    this.#run(() => this.#stmt('SELECT 1').get());
  }

  /** Journal mode, for tests. */
  journalMode(): string {
    return String(this.#db.pragma('journal_mode', { simple: true }));
  }

  async getMeta(key: string): Promise<string | undefined> {
    return this.#run(() => (this.#stmt('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined)?.value);
  }

  async putMetaIfAbsent(key: string, value: string): Promise<string> {
    return this.#run(() =>
      this.#db.transaction(() => {
        this.#stmt('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING').run(key, value);
        return (this.#stmt('SELECT value FROM meta WHERE key = ?').get(key) as { value: string }).value;
      }).immediate(),
    );
  }

  async setMeta(key: string, value: string): Promise<void> {
    this.#run(() => this.#stmt('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, value));
  }

  async insertKey(key: KeyRecord): Promise<void> {
    this.#run(
      () =>
        this.#db.transaction(() => {
          this.#db
            .prepare(
              `INSERT INTO keys (name, fingerprint, key_id, algorithm, user_id, key_created_at, public_key, sealed_secret,
                 wrapped_data_key, origin, state, created_at, purposes, backend, token_ref) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
            )
            .run(...keyValues(key));
          this.keyVersions.insertVersionSync(firstVersion(key));
        }).immediate(),
      { constraint: ['KEY_EXISTS', `a key named ${key.name} or with fingerprint ${key.fingerprint} exists`] },
    );
  }

  async getKey(name: string): Promise<KeyRecord | undefined> {
    return this.#run(() => toKey(this.#stmt('SELECT * FROM keys WHERE name = ?').get(name) as KeyRow | undefined));
  }

  async getKeyByFingerprint(fingerprint: string): Promise<KeyRecord | undefined> {
    return this.#run(() => toKey(this.#stmt('SELECT * FROM keys WHERE fingerprint = ?').get(fingerprint) as KeyRow | undefined));
  }

  async listKeys(): Promise<KeyRecord[]> {
    return this.#run(() => (this.#stmt('SELECT * FROM keys ORDER BY name').all() as KeyRow[]).map((r) => toKey(r) as KeyRecord));
  }

  async setKeyState(name: string, state: KeyState): Promise<void> {
    const changes = this.#run(() => this.#stmt('UPDATE keys SET state = ? WHERE name = ?').run(state, name).changes);
    if (changes === 0) throw new SignetError('KEY_NOT_FOUND', `no key named ${name}`);
  }

  async setKeyPurposes(name: string, purposes: readonly string[]): Promise<void> {
    const changes = this.#run(() => this.#stmt('UPDATE keys SET purposes = ? WHERE name = ?').run(purposes.join(','), name).changes);
    if (changes === 0) throw new SignetError('KEY_NOT_FOUND', `no key named ${name}`);
  }

  async insertToken(token: TokenRecord): Promise<void> {
    this.#tokensByHash.clear();
    this.#run(
      () =>
        this.#db
          .prepare(
            `INSERT INTO tokens (accessor, token_hash, policies, display_name, created_at, expires_at, revoked_at,
               parent_accessor, meta) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(
            token.accessor,
            token.tokenHash,
            JSON.stringify(token.policies),
            token.displayName,
            token.createdAt,
            token.expiresAt,
            token.revokedAt,
            token.parentAccessor,
            JSON.stringify(token.meta),
          ),
      { constraint: ['BAD_REQUEST', 'a token with this accessor or hash exists'] },
    );
  }

  async getTokenByHash(tokenHash: Buffer): Promise<TokenRecord | undefined> {
    const id = tokenHash.toString('latin1');
    const cached = this.#tokensByHash.get(id);
    if (cached !== undefined) return cached;
    const record = this.#run(() => toToken(this.#stmt('SELECT * FROM tokens WHERE token_hash = ?').get(tokenHash) as TokenRow | undefined));
    if (record !== undefined) {
      if (this.#tokensByHash.size >= TOKEN_CACHE_MAX) this.#tokensByHash.clear();
      // Shared by every request that presents the token: nobody may change it in place.
      Object.freeze(record.policies);
      Object.freeze(record.meta);
      this.#tokensByHash.set(id, Object.freeze(record));
    }
    return record;
  }

  async getTokenByAccessor(accessor: string): Promise<TokenRecord | undefined> {
    return this.#run(() => toToken(this.#stmt('SELECT * FROM tokens WHERE accessor = ?').get(accessor) as TokenRow | undefined));
  }

  async listTokens(): Promise<TokenRecord[]> {
    return this.#run(() => (this.#stmt('SELECT * FROM tokens ORDER BY created_at, accessor').all() as TokenRow[]).map((r) => toToken(r) as TokenRecord));
  }

  async extendToken(accessor: string, expiresAt: number, now: number): Promise<boolean> {
    this.#tokensByHash.clear();
    return this.#run(
      () =>
        this.#stmt(
          'UPDATE tokens SET expires_at = ? WHERE accessor = ? AND revoked_at IS NULL AND expires_at IS NOT NULL AND expires_at > ? AND expires_at < ?',
        ).run(expiresAt, accessor, now, expiresAt).changes > 0,
    );
  }

  async revokeToken(accessor: string, at: number): Promise<string[]> {
    this.#tokensByHash.clear();
    return this.#run(() =>
      this.#db.transaction(() => {
        const rows = this.#db
          .prepare(
            `WITH RECURSIVE tree(accessor) AS (
               SELECT accessor FROM tokens WHERE accessor = ?
               UNION SELECT t.accessor FROM tokens t JOIN tree ON t.parent_accessor = tree.accessor)
             SELECT accessor FROM tree`,
          )
          .all(accessor) as Array<{ accessor: string }>;
        const update = this.#stmt('UPDATE tokens SET revoked_at = ? WHERE accessor = ? AND revoked_at IS NULL');
        for (const r of rows) update.run(at, r.accessor);
        return rows.map((r) => r.accessor);
      }).immediate(),
    );
  }

  #run<T>(fn: () => T, options: { constraint?: [ErrorCode, string] } = {}): T {
    return runStatement(fn, options.constraint);
  }
}

/** Runs one statement or transaction of a SQLite sub-store: a uniqueness violation becomes
 *  `constraint` (KEY_EXISTS, …) when given, anything else a store error (translate). */
export function runStatement<T>(fn: () => T, constraint?: [ErrorCode, string]): T {
  try {
    return fn();
  } catch (err) {
    const code = (err as { code?: string }).code ?? '';
    if (constraint && code.startsWith('SQLITE_CONSTRAINT')) throw new SignetError(constraint[0], constraint[1]);
    throw translate(err, 'the SQLite store failed');
  }
}

export function translate(err: unknown, message: string): SignetError {
  if (err instanceof SignetError) return err;
  const code = (err as { code?: string }).code ?? '';
  if (code === 'SQLITE_FULL' || code === 'ENOSPC') return new SignetError('DISK_FULL', 'the store has no space left', { cause: err });
  return new SignetError('STORE_UNAVAILABLE', `${message} (${code || 'error'})`, { cause: err });
}

const decoders = { int: (v: number | string) => Number(v) };
const toKey = (r: KeyRow | undefined) => keyFromRow(r, decoders);
const toToken = (r: TokenRow | undefined) => tokenFromRow(r, decoders);
