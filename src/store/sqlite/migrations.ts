// Numbered schema migrations. Each runs once, in its own transaction; adding a table is adding an
// entry. The PostgreSQL store keeps its own list with the same version numbers and meaning.
import { approvalSchema } from '../approval-types.js';
import { authSchemaFor } from '../auth-rows.js';
import { ALL_PURPOSES_COLUMN } from '../rows.js';
import { keyVersionSchemaFor } from '../key-version-rows.js';
import { REQUEST_ANSWER_MIGRATION } from '../request-types.js';

export interface Migration {
  readonly version: number;
  readonly description: string;
  readonly sqlite: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'meta, keys, tokens',
    sqlite: `
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE keys (
        name TEXT PRIMARY KEY,
        fingerprint TEXT NOT NULL UNIQUE,
        key_id TEXT NOT NULL,
        algorithm TEXT NOT NULL,
        user_id TEXT NOT NULL,
        key_created_at INTEGER NOT NULL,
        public_key BLOB NOT NULL,
        sealed_secret BLOB NOT NULL,
        wrapped_data_key BLOB NOT NULL,
        origin TEXT NOT NULL,
        state TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
      CREATE TABLE tokens (
        accessor TEXT PRIMARY KEY,
        token_hash BLOB NOT NULL UNIQUE,
        policies TEXT NOT NULL,
        display_name TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER,
        revoked_at INTEGER,
        parent_accessor TEXT,
        meta TEXT NOT NULL
      );
      CREATE INDEX tokens_parent ON tokens (parent_accessor);
    `,
  },
  {
    version: 2,
    description: 'key purposes',
    // Keys made before purposes existed keep signing every kind (docs/policy.md "Key purposes").
    sqlite: `ALTER TABLE keys ADD COLUMN purposes TEXT NOT NULL DEFAULT '${ALL_PURPOSES_COLUMN}';`,
  },
  // 3–4: key versions and subkeys (src/store/key-version-rows.ts holds the schema for both engines).
  ...keyVersionSchemaFor('sqlite').map((m) => ({ version: m.version, description: m.description, sqlite: m.sql })),
  {
    version: 5,
    description: 'key backends',
    // Keys made before backends existed are sealed in the store (docs/key-backends.md).
    sqlite: `ALTER TABLE keys ADD COLUMN backend TEXT NOT NULL DEFAULT 'sealed';
      ALTER TABLE keys ADD COLUMN token_ref TEXT;
      ALTER TABLE key_versions ADD COLUMN token_ref TEXT;`,
  },
  {
    version: 10,
    description: 'transparency log: entries, sequencer, stored hashes, tree state, checkpoints',
    // tlog_sequence is the sequencing coordinator (next index), tlog_tree the integration state;
    // two rows, so appenders and the integrator never wait on each other (Tessera SeqCoord/IntCoord).
    // Both rows are created by the first append/integration (empty tables copy cleanly between
    // engines with `signet store migrate`).
    sqlite: `
      CREATE TABLE tlog_entries (idx INTEGER PRIMARY KEY, entry BLOB NOT NULL, created_at INTEGER NOT NULL);
      CREATE TABLE tlog_sequence (id INTEGER PRIMARY KEY CHECK (id = 1), next_index INTEGER NOT NULL);
      CREATE TABLE tlog_hashes (idx INTEGER PRIMARY KEY, hash BLOB NOT NULL);
      CREATE TABLE tlog_tree (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        size INTEGER NOT NULL,
        root BLOB NOT NULL,
        checkpoint TEXT NOT NULL,
        updated_at INTEGER NOT NULL
      );
      CREATE TABLE tlog_checkpoints (size INTEGER PRIMARY KEY, root BLOB NOT NULL, checkpoint TEXT NOT NULL, created_at INTEGER NOT NULL);
    `,
  },
  {
    version: 25,
    description: 'policies and rate-limit counters',
    sqlite: `
      CREATE TABLE policies (name TEXT PRIMARY KEY, text TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
      CREATE TABLE rate_limits (bucket TEXT PRIMARY KEY, window_start INTEGER NOT NULL, count INTEGER NOT NULL);
    `,
  },
  {
    version: 30,
    description: 'approval requests, approvers\' decisions, vetting-record index',
    sqlite: approvalSchema('INTEGER'),
  },
  // 20–22: auth (src/store/auth-rows.ts holds the schema for both engines).
  ...authSchemaFor('sqlite').map((m) => ({ version: m.version, description: m.description, sqlite: m.sql })),
  // 35–39: pull mode.
  { version: REQUEST_ANSWER_MIGRATION.version, description: REQUEST_ANSWER_MIGRATION.description, sqlite: REQUEST_ANSWER_MIGRATION.sqlite },
];
