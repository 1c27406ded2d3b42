// The auth tables' rows as both engines return them, the one mapping to records, and the schema
// (same table and column names on both engines, so `signet store migrate` copies them by name).
import { Buffer } from 'node:buffer';
import type { RoleKind, RoleRecord, SecretIdRecord, WrappedRecord } from './auth-types.js';
import type { RowDecoders } from './rows.js';

type Int = number | string;
type Json<T> = T | string;

const json = <T>(v: Json<T>): T => (typeof v === 'string' ? (JSON.parse(v) as T) : v);

export interface RoleRow {
  kind: string;
  name: string;
  role_id: string;
  policies: Json<string[]>;
  token_ttl_ms: Int;
  config: Json<Record<string, unknown>>;
  created_at: Int;
}

export interface SecretIdRow {
  accessor: string;
  role_name: string;
  secret_hash: Uint8Array;
  uses_left: Int;
  expires_at: Int;
  created_at: Int;
  cidrs: Json<string[]>;
}

export interface WrappedRow {
  accessor: string;
  token_hash: Uint8Array;
  creation_path: string;
  creator_accessor: string;
  sealed: Uint8Array;
  created_at: Int;
  expires_at: Int;
  unwrapped_at: Int | null;
}

export function roleFromRow(r: RoleRow | undefined, d: RowDecoders): RoleRecord | undefined {
  if (!r) return undefined;
  return {
    kind: r.kind as RoleKind,
    name: r.name,
    roleId: r.role_id,
    policies: json(r.policies),
    tokenTtlMs: d.int(r.token_ttl_ms),
    config: json(r.config),
    createdAt: d.int(r.created_at),
  };
}

export function secretIdFromRow(r: SecretIdRow | undefined, d: RowDecoders): SecretIdRecord | undefined {
  if (!r) return undefined;
  return {
    accessor: r.accessor,
    roleName: r.role_name,
    secretHash: Buffer.from(r.secret_hash),
    usesLeft: d.int(r.uses_left),
    expiresAt: d.int(r.expires_at),
    createdAt: d.int(r.created_at),
    cidrs: json(r.cidrs),
  };
}

export function wrappedFromRow(r: WrappedRow | undefined, d: RowDecoders): WrappedRecord | undefined {
  if (!r) return undefined;
  return {
    accessor: r.accessor,
    tokenHash: Buffer.from(r.token_hash),
    creationPath: r.creation_path,
    creatorAccessor: r.creator_accessor,
    sealed: Buffer.from(r.sealed),
    createdAt: d.int(r.created_at),
    expiresAt: d.int(r.expires_at),
    unwrappedAt: r.unwrapped_at === null ? null : d.int(r.unwrapped_at),
  };
}

export function roleValues(r: RoleRecord): unknown[] {
  return [r.kind, r.name, r.roleId, JSON.stringify(r.policies), r.tokenTtlMs, JSON.stringify(r.config), r.createdAt];
}

export function secretIdValues(s: SecretIdRecord): unknown[] {
  return [s.accessor, s.roleName, s.secretHash, s.usesLeft, s.expiresAt, s.createdAt, JSON.stringify(s.cidrs)];
}

export function wrappedValues(w: WrappedRecord): unknown[] {
  return [w.accessor, w.tokenHash, w.creationPath, w.creatorAccessor, w.sealed, w.createdAt, w.expiresAt, w.unwrappedAt];
}

/** How long wrapped rows and failure windows are kept after they stop mattering (tidy). */
export const AUTH_TIDY_GRACE_MS = 24 * 60 * 60 * 1000;

// Schema, per engine type vocabulary: {blob} BLOB/BYTEA, {int} INTEGER/BIGINT, {json} TEXT/JSONB.
export const AUTH_SCHEMA: ReadonlyArray<{ version: number; description: string; sql: string }> = [
  {
    version: 20,
    description: 'auth: roles (AppRole, JWT) and secret_ids',
    sql: `
      CREATE TABLE auth_roles (
        kind TEXT NOT NULL,
        name TEXT NOT NULL,
        role_id TEXT NOT NULL UNIQUE,
        policies {json} NOT NULL,
        token_ttl_ms {int} NOT NULL,
        config {json} NOT NULL,
        created_at {int} NOT NULL,
        PRIMARY KEY (kind, name)
      );
      CREATE TABLE auth_secret_ids (
        accessor TEXT PRIMARY KEY,
        role_name TEXT NOT NULL,
        secret_hash {blob} NOT NULL UNIQUE,
        uses_left {int} NOT NULL,
        expires_at {int} NOT NULL,
        created_at {int} NOT NULL,
        cidrs {json} NOT NULL
      );
      CREATE INDEX auth_secret_ids_role ON auth_secret_ids (role_name);
    `,
  },
  {
    version: 21,
    description: 'auth: response-wrapped responses (sealed under their wrapping token)',
    sql: `
      CREATE TABLE auth_wrapped (
        accessor TEXT PRIMARY KEY,
        token_hash {blob} NOT NULL UNIQUE,
        creation_path TEXT NOT NULL,
        creator_accessor TEXT NOT NULL,
        sealed {blob} NOT NULL,
        created_at {int} NOT NULL,
        expires_at {int} NOT NULL,
        unwrapped_at {int}
      );
    `,
  },
  {
    version: 22,
    description: 'auth: login-failure counters per scope (role + source) and window',
    sql: `
      CREATE TABLE auth_login_failures (
        scope TEXT NOT NULL,
        window_start {int} NOT NULL,
        failures {int} NOT NULL,
        PRIMARY KEY (scope, window_start)
      );
    `,
  },
];

export function authSchemaFor(engine: 'sqlite' | 'postgres'): Array<{ version: number; description: string; sql: string }> {
  const types = engine === 'sqlite' ? { blob: 'BLOB', int: 'INTEGER', json: 'TEXT' } : { blob: 'BYTEA', int: 'BIGINT', json: 'JSONB' };
  return AUTH_SCHEMA.map((m) => ({ ...m, sql: m.sql.replace(/\{(blob|int|json)\}/g, (_, t: keyof typeof types) => types[t]) }));
}
