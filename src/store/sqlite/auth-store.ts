// The auth sub-store on SQLite. better-sqlite3 is synchronous and one process writes, so each
// method is one statement or one BEGIN IMMEDIATE transaction.
import type Database from 'better-sqlite3';
import { preparedStatements } from './statements.js';
import type { ErrorCode } from '../../errors.js';
import type { AuthStore, RoleKind, RoleRecord, SecretIdRecord, TakeWrappedResult, WrappedRecord } from '../auth-types.js';
import {
  AUTH_TIDY_GRACE_MS,
  roleFromRow,
  roleValues,
  secretIdFromRow,
  secretIdValues,
  wrappedFromRow,
  wrappedValues,
  type RoleRow,
  type SecretIdRow,
  type WrappedRow,
} from '../auth-rows.js';
import { runStatement } from './sqlite-store.js';

const decoders = { int: (v: number | string) => Number(v) };

export class SqliteAuthStore implements AuthStore {
  readonly #db: Database.Database;
  readonly #stmt: (sql: string) => Database.Statement;

  constructor(db: Database.Database) {
    this.#db = db;
    this.#stmt = preparedStatements(db);
  }

  #run<T>(fn: () => T, constraint?: [ErrorCode, string]): T {
    return runStatement(fn, constraint);
  }

  async insertRole(role: RoleRecord): Promise<void> {
    this.#run(
      () =>
        this.#stmt('INSERT INTO auth_roles (kind, name, role_id, policies, token_ttl_ms, config, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
          ...roleValues(role),
        ),
      ['ROLE_EXISTS', `a role named ${role.name} exists`],
    );
  }

  async getRole(kind: RoleKind, name: string): Promise<RoleRecord | undefined> {
    return this.#run(() => roleFromRow(this.#stmt('SELECT * FROM auth_roles WHERE kind = ? AND name = ?').get(kind, name) as RoleRow | undefined, decoders));
  }

  async getRoleByRoleId(roleId: string): Promise<RoleRecord | undefined> {
    return this.#run(() => roleFromRow(this.#stmt('SELECT * FROM auth_roles WHERE role_id = ?').get(roleId) as RoleRow | undefined, decoders));
  }

  async listRoles(kind: RoleKind): Promise<RoleRecord[]> {
    return this.#run(() =>
      (this.#stmt('SELECT * FROM auth_roles WHERE kind = ? ORDER BY name').all(kind) as RoleRow[]).map((r) => roleFromRow(r, decoders) as RoleRecord),
    );
  }

  async deleteRole(kind: RoleKind, name: string): Promise<boolean> {
    return this.#run(() =>
      this.#db
        .transaction(() => {
          const changes = this.#stmt('DELETE FROM auth_roles WHERE kind = ? AND name = ?').run(kind, name).changes;
          if (kind === 'approle') this.#stmt('DELETE FROM auth_secret_ids WHERE role_name = ?').run(name);
          return changes > 0;
        })
        .immediate(),
    );
  }

  async insertSecretId(s: SecretIdRecord): Promise<void> {
    this.#run(
      () =>
        this.#stmt(
          'INSERT INTO auth_secret_ids (accessor, role_name, secret_hash, uses_left, expires_at, created_at, cidrs) VALUES (?, ?, ?, ?, ?, ?, ?)',
        ).run(...secretIdValues(s)),
      ['BAD_REQUEST', 'a secret_id with this accessor or hash exists'],
    );
  }

  async consumeSecretId(secretHash: Buffer, roleName: string, now: number): Promise<SecretIdRecord | undefined> {
    return this.#run(() => {
      const row = this.#stmt(
        `UPDATE auth_secret_ids SET uses_left = uses_left - 1
         WHERE secret_hash = ? AND role_name = ? AND uses_left > 0 AND expires_at > ? RETURNING *`,
      ).get(secretHash, roleName, now) as SecretIdRow | undefined;
      const record = secretIdFromRow(row, decoders);
      return record && { ...record, usesLeft: record.usesLeft + 1 };
    });
  }

  async listSecretIds(roleName: string): Promise<SecretIdRecord[]> {
    return this.#run(() =>
      (this.#stmt('SELECT * FROM auth_secret_ids WHERE role_name = ? ORDER BY created_at, accessor').all(roleName) as SecretIdRow[]).map(
        (r) => secretIdFromRow(r, decoders) as SecretIdRecord,
      ),
    );
  }

  async deleteSecretId(roleName: string, accessor: string): Promise<boolean> {
    return this.#run(() => this.#stmt('DELETE FROM auth_secret_ids WHERE role_name = ? AND accessor = ?').run(roleName, accessor).changes > 0);
  }

  async insertWrapped(w: WrappedRecord): Promise<void> {
    this.#run(
      () =>
        this.#stmt(
          `INSERT INTO auth_wrapped (accessor, token_hash, creation_path, creator_accessor, sealed, created_at, expires_at, unwrapped_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        ).run(...wrappedValues(w)),
      ['BAD_REQUEST', 'a wrapped response with this accessor or hash exists'],
    );
  }

  async takeWrapped(tokenHash: Buffer, now: number): Promise<TakeWrappedResult> {
    return this.#run(() =>
      this.#db
        .transaction((): TakeWrappedResult => {
          const record = wrappedFromRow(this.#stmt('SELECT * FROM auth_wrapped WHERE token_hash = ?').get(tokenHash) as WrappedRow | undefined, decoders);
          if (!record) return { outcome: 'unknown' };
          if (record.unwrappedAt !== null) return { outcome: 'used', record: { ...record, sealed: Buffer.alloc(0) } };
          // Erased on expiry: a node whose clock runs behind cannot hand it out later.
          if (record.expiresAt <= now || record.sealed.length === 0) {
            this.#stmt("UPDATE auth_wrapped SET sealed = x'' WHERE accessor = ?").run(record.accessor);
            return { outcome: 'expired', record: { ...record, sealed: Buffer.alloc(0) } };
          }
          this.#stmt("UPDATE auth_wrapped SET unwrapped_at = ?, sealed = x'' WHERE accessor = ?").run(now, record.accessor);
          return { outcome: 'ok', record };
        })
        .immediate(),
    );
  }

  async loginFailures(scope: string, windowStart: number): Promise<number> {
    return this.#run(
      () =>
        (this.#stmt('SELECT failures FROM auth_login_failures WHERE scope = ? AND window_start = ?').get(scope, windowStart) as { failures: number } | undefined)
          ?.failures ?? 0,
    );
  }

  async recordLoginFailure(scope: string, windowStart: number): Promise<number> {
    return this.#run(
      () =>
        (
          this.#stmt(
            `INSERT INTO auth_login_failures (scope, window_start, failures) VALUES (?, ?, 1)
             ON CONFLICT (scope, window_start) DO UPDATE SET failures = failures + 1 RETURNING failures`,
          ).get(scope, windowStart) as { failures: number }
        ).failures,
    );
  }

  async tidy(now: number): Promise<number> {
    return this.#run(() =>
      this.#db
        .transaction(() => {
          let n = this.#stmt('DELETE FROM auth_secret_ids WHERE expires_at <= ? OR uses_left <= 0').run(now).changes;
          n += this.#stmt('DELETE FROM auth_wrapped WHERE expires_at <= ?').run(now - AUTH_TIDY_GRACE_MS).changes;
          n += this.#stmt('DELETE FROM auth_login_failures WHERE window_start <= ?').run(now - AUTH_TIDY_GRACE_MS).changes;
          return n;
        })
        .immediate(),
    );
  }
}
