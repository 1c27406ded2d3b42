// The auth sub-store on PostgreSQL, shared by every node: single-use operations are one
// conditional UPDATE (secret_ids) or a row-locking transaction (unwrap), so two nodes racing for
// the same secret get one success between them.
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
import { toSafeNumber, type PgDatabase } from './database.js';

const decoders = { int: (v: number | string) => toSafeNumber(v) };

export class PostgresAuthStore implements AuthStore {
  readonly #db: PgDatabase;

  constructor(db: PgDatabase) {
    this.#db = db;
  }

  async insertRole(role: RoleRecord): Promise<void> {
    await this.#db.query(
      'INSERT INTO auth_roles (kind, name, role_id, policies, token_ttl_ms, config, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)',
      roleValues(role),
      { constraint: ['ROLE_EXISTS', `a role named ${role.name} exists`] },
    );
  }

  async getRole(kind: RoleKind, name: string): Promise<RoleRecord | undefined> {
    return roleFromRow((await this.#db.query<RoleRow>('SELECT * FROM auth_roles WHERE kind = $1 AND name = $2', [kind, name]))[0], decoders);
  }

  async getRoleByRoleId(roleId: string): Promise<RoleRecord | undefined> {
    return roleFromRow((await this.#db.query<RoleRow>('SELECT * FROM auth_roles WHERE role_id = $1', [roleId]))[0], decoders);
  }

  async listRoles(kind: RoleKind): Promise<RoleRecord[]> {
    const rows = await this.#db.query<RoleRow>('SELECT * FROM auth_roles WHERE kind = $1 ORDER BY name COLLATE "C"', [kind]);
    return rows.map((r) => roleFromRow(r, decoders) as RoleRecord);
  }

  async deleteRole(kind: RoleKind, name: string): Promise<boolean> {
    return this.#db.transaction(async (tx) => {
      const deleted = await tx.query('DELETE FROM auth_roles WHERE kind = $1 AND name = $2 RETURNING name', [kind, name]);
      if (kind === 'approle') await tx.query('DELETE FROM auth_secret_ids WHERE role_name = $1', [name]);
      return deleted.length > 0;
    });
  }

  async insertSecretId(s: SecretIdRecord): Promise<void> {
    await this.#db.query(
      'INSERT INTO auth_secret_ids (accessor, role_name, secret_hash, uses_left, expires_at, created_at, cidrs) VALUES ($1, $2, $3, $4, $5, $6, $7)',
      secretIdValues(s),
      { constraint: ['BAD_REQUEST', 'a secret_id with this accessor or hash exists'] },
    );
  }

  async consumeSecretId(secretHash: Buffer, roleName: string, now: number): Promise<SecretIdRecord | undefined> {
    const [row] = await this.#db.query<SecretIdRow>(
      `UPDATE auth_secret_ids SET uses_left = uses_left - 1
       WHERE secret_hash = $1 AND role_name = $2 AND uses_left > 0 AND expires_at > $3 RETURNING *`,
      [secretHash, roleName, now],
    );
    const record = secretIdFromRow(row, decoders);
    return record && { ...record, usesLeft: record.usesLeft + 1 };
  }

  async listSecretIds(roleName: string): Promise<SecretIdRecord[]> {
    const rows = await this.#db.query<SecretIdRow>('SELECT * FROM auth_secret_ids WHERE role_name = $1 ORDER BY created_at, accessor COLLATE "C"', [roleName]);
    return rows.map((r) => secretIdFromRow(r, decoders) as SecretIdRecord);
  }

  async deleteSecretId(roleName: string, accessor: string): Promise<boolean> {
    return (await this.#db.query('DELETE FROM auth_secret_ids WHERE role_name = $1 AND accessor = $2 RETURNING accessor', [roleName, accessor])).length > 0;
  }

  async insertWrapped(w: WrappedRecord): Promise<void> {
    await this.#db.query(
      `INSERT INTO auth_wrapped (accessor, token_hash, creation_path, creator_accessor, sealed, created_at, expires_at, unwrapped_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      wrappedValues(w),
      { constraint: ['BAD_REQUEST', 'a wrapped response with this accessor or hash exists'] },
    );
  }

  async takeWrapped(tokenHash: Buffer, now: number): Promise<TakeWrappedResult> {
    // FOR UPDATE: a concurrent unwrap waits for our COMMIT, then reads the row as we left it.
    return this.#db.transaction(async (tx): Promise<TakeWrappedResult> => {
      const record = wrappedFromRow((await tx.query<WrappedRow>('SELECT * FROM auth_wrapped WHERE token_hash = $1 FOR UPDATE', [tokenHash]))[0], decoders);
      if (!record) return { outcome: 'unknown' };
      if (record.unwrappedAt !== null) return { outcome: 'used', record: { ...record, sealed: Buffer.alloc(0) } };
      // Erased on expiry: a node whose clock runs behind cannot hand it out later.
      if (record.expiresAt <= now || record.sealed.length === 0) {
        await tx.query("UPDATE auth_wrapped SET sealed = '\\x'::bytea WHERE accessor = $1", [record.accessor]);
        return { outcome: 'expired', record: { ...record, sealed: Buffer.alloc(0) } };
      }
      await tx.query("UPDATE auth_wrapped SET unwrapped_at = $1, sealed = '\\x'::bytea WHERE accessor = $2", [now, record.accessor]);
      return { outcome: 'ok', record };
    });
  }

  async loginFailures(scope: string, windowStart: number): Promise<number> {
    const [row] = await this.#db.query<{ failures: string }>('SELECT failures FROM auth_login_failures WHERE scope = $1 AND window_start = $2', [scope, windowStart]);
    return row ? toSafeNumber(row.failures) : 0;
  }

  async recordLoginFailure(scope: string, windowStart: number): Promise<number> {
    const [row] = await this.#db.query<{ failures: string }>(
      `INSERT INTO auth_login_failures (scope, window_start, failures) VALUES ($1, $2, 1)
       ON CONFLICT (scope, window_start) DO UPDATE SET failures = auth_login_failures.failures + 1 RETURNING failures`,
      [scope, windowStart],
    );
    return toSafeNumber((row as { failures: string }).failures);
  }

  async tidy(now: number): Promise<number> {
    return this.#db.transaction(async (tx) => {
      let n = (await tx.query('DELETE FROM auth_secret_ids WHERE expires_at <= $1 OR uses_left <= 0 RETURNING accessor', [now])).length;
      n += (await tx.query('DELETE FROM auth_wrapped WHERE expires_at <= $1 RETURNING accessor', [now - AUTH_TIDY_GRACE_MS])).length;
      n += (await tx.query('DELETE FROM auth_login_failures WHERE window_start <= $1 RETURNING scope', [now - AUTH_TIDY_GRACE_MS])).length;
      return n;
    });
  }
}
