// Numbered schema migrations for PostgreSQL, the same version numbers and meaning as
// src/store/sqlite/migrations.ts (1–9 base, 10–19 transparency log, 20–29 auth/policy).
// Each runs once, in its own transaction, under an advisory lock: nodes that start together on
// one database wait for each other and the schema is migrated exactly once.
import { ADVISORY_LOCKS, type PgDatabase } from './database.js';
import { ALL_PURPOSES_COLUMN } from '../rows.js';
import { keyVersionSchemaFor } from '../key-version-rows.js';
import { LOG_MIGRATIONS } from './log-migrations.js';
import { POLICY_MIGRATIONS } from './policy-migrations.js';
import { AUTH_MIGRATIONS } from './auth-migrations.js';
import { REQUEST_ANSWER_MIGRATION } from '../request-types.js';
import { approvalSchema } from '../approval-types.js';

export interface PgMigration {
  readonly version: number;
  readonly description: string;
  readonly sql: string;
}

// Types: BYTEA for byte strings, BIGINT for Unix ms and log indices, JSONB for lists and maps,
// TEXT otherwise. Column names match SQLite so `signet store migrate` copies tables by name.
export const BASE_MIGRATIONS: readonly PgMigration[] = [
  {
    version: 1,
    description: 'meta, keys, tokens',
    sql: `
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE keys (
        name TEXT PRIMARY KEY,
        fingerprint TEXT NOT NULL UNIQUE,
        key_id TEXT NOT NULL,
        algorithm TEXT NOT NULL,
        user_id TEXT NOT NULL,
        key_created_at BIGINT NOT NULL,
        public_key BYTEA NOT NULL,
        sealed_secret BYTEA NOT NULL,
        wrapped_data_key BYTEA NOT NULL,
        origin TEXT NOT NULL,
        state TEXT NOT NULL,
        created_at BIGINT NOT NULL
      );
      CREATE TABLE tokens (
        accessor TEXT PRIMARY KEY,
        token_hash BYTEA NOT NULL UNIQUE,
        policies JSONB NOT NULL,
        display_name TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT,
        revoked_at BIGINT,
        parent_accessor TEXT,
        meta JSONB NOT NULL
      );
      CREATE INDEX tokens_parent ON tokens (parent_accessor);
    `,
  },
  {
    version: 2,
    description: 'key purposes',
    // Keys made before purposes existed keep signing every kind (docs/policy.md "Key purposes").
    sql: `ALTER TABLE keys ADD COLUMN purposes TEXT NOT NULL DEFAULT '${ALL_PURPOSES_COLUMN}';`,
  },
  // 3–4: key versions and subkeys (src/store/key-version-rows.ts).
  ...keyVersionSchemaFor('postgres'),
  {
    version: 5,
    description: 'key backends',
    // Keys made before backends existed are sealed in the store (docs/key-backends.md).
    sql: `ALTER TABLE keys ADD COLUMN backend TEXT NOT NULL DEFAULT 'sealed';
      ALTER TABLE keys ADD COLUMN token_ref TEXT;
      ALTER TABLE key_versions ADD COLUMN token_ref TEXT;`,
  },
];

/** Every sub-store's migrations; a new sub-store appends its list here (see README.md). */
/** 30: approval requests, approvers' decisions, vetting-record index (src/store/approval-types.ts). */
export const APPROVAL_MIGRATIONS: readonly PgMigration[] = [{ version: 30, description: "approval requests, approvers' decisions, vetting-record index", sql: approvalSchema('BIGINT') }];

export const MIGRATIONS: readonly PgMigration[] = [
  ...BASE_MIGRATIONS,
  ...LOG_MIGRATIONS,
  ...AUTH_MIGRATIONS,
  ...POLICY_MIGRATIONS,
  ...APPROVAL_MIGRATIONS,
  { version: REQUEST_ANSWER_MIGRATION.version, description: REQUEST_ANSWER_MIGRATION.description, sql: REQUEST_ANSWER_MIGRATION.postgres },
];

export async function migrate(db: PgDatabase, migrations: readonly PgMigration[] = MIGRATIONS): Promise<void> {
  const versions = migrations.map((m) => m.version);
  if (new Set(versions).size !== versions.length) throw new Error('duplicate PostgreSQL migration version');
  await db.withAdvisoryLock(ADVISORY_LOCKS.migrate, async (session) => {
    await session.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)');
    const applied = new Set((await session.query<{ version: number }>('SELECT version FROM schema_migrations')).map((r) => r.version));
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      if (applied.has(m.version)) continue;
      await session.query('BEGIN');
      try {
        await session.query(m.sql);
        await session.query('INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)', [m.version, Date.now()]);
        await session.query('COMMIT');
      } catch (err) {
        await session.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    }
  });
}
