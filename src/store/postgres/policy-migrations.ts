// Policies and rate-limit counters on PostgreSQL: the same tables and column names as SQLite
// migration 25 (src/store/sqlite/migrations.ts), so `signet store migrate` copies them by name.
import type { PgMigration } from './migrations.js';

export const POLICY_MIGRATIONS: readonly PgMigration[] = [
  {
    version: 25,
    description: 'policies and rate-limit counters',
    sql: `
      CREATE TABLE policies (name TEXT PRIMARY KEY, text TEXT NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);
      CREATE TABLE rate_limits (bucket TEXT PRIMARY KEY, window_start BIGINT NOT NULL, count BIGINT NOT NULL);
    `,
  },
];
