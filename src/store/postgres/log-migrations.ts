// The transparency log's PostgreSQL schema: the same tables and column names as SQLite migration
// 10 (src/store/sqlite/migrations.ts), so `signet store migrate` copies them by name.
import type { PgMigration } from './migrations.js';

export const LOG_MIGRATIONS: readonly PgMigration[] = [
  {
    version: 10,
    description: 'transparency log: entries, sequencer, stored hashes, tree state, checkpoints',
    sql: `
      CREATE TABLE tlog_entries (idx BIGINT PRIMARY KEY, entry BYTEA NOT NULL, created_at BIGINT NOT NULL);
      CREATE TABLE tlog_sequence (id INTEGER PRIMARY KEY CHECK (id = 1), next_index BIGINT NOT NULL);
      CREATE TABLE tlog_hashes (idx BIGINT PRIMARY KEY, hash BYTEA NOT NULL);
      CREATE TABLE tlog_tree (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        size BIGINT NOT NULL,
        root BYTEA NOT NULL,
        checkpoint TEXT NOT NULL,
        updated_at BIGINT NOT NULL
      );
      CREATE TABLE tlog_checkpoints (size BIGINT PRIMARY KEY, root BYTEA NOT NULL, checkpoint TEXT NOT NULL, created_at BIGINT NOT NULL);
    `,
  },
];
