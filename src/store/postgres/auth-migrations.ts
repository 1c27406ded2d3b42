// The auth sub-store's PostgreSQL schema: the same tables and columns as the SQLite migrations
// 20–22 (both generated from src/store/auth-rows.ts), so `signet store migrate` copies them.
import { authSchemaFor } from '../auth-rows.js';
import type { PgMigration } from './migrations.js';

export const AUTH_MIGRATIONS: readonly PgMigration[] = authSchemaFor('postgres');
