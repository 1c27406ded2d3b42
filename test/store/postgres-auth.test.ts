// The auth sub-store on PostgreSQL with several nodes: single-use secret_ids and unwrap-once hold
// across nodes sharing one database, failure counters add up, and `signet store migrate` copies
// the auth tables from SQLite.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importSqliteIntoPostgres } from '../../src/store/migrate/import-sqlite.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { usePgCluster } from './fixtures.js';
import { roleRecord, secretIdRecord, wrappedRecord } from './auth-suite.js';

const T0 = 1_700_000_000_000;
const pgCluster = usePgCluster();

describe('auth store on PostgreSQL, several nodes', () => {
  it('a 1-use secret_id and a wrapped response are taken once across 3 nodes; failure counts add up', async () => {
    const url = await pgCluster().createDatabase();
    const nodes = [PostgresStore.open(url), PostgresStore.open(url), PostgresStore.open(url)];
    try {
      await Promise.all(nodes.map((n) => n.migrate()));
      const s = secretIdRecord('s', 'ci');
      const w = wrappedRecord('w');
      await nodes[0]!.auth.insertSecretId(s);
      await nodes[1]!.auth.insertWrapped(w);
      const consumed = await Promise.all(nodes.flatMap((n) => [1, 2, 3, 4].map(() => n.auth.consumeSecretId(s.secretHash, 'ci', T0))));
      expect(consumed.filter((r) => r !== undefined)).toHaveLength(1);
      const taken = await Promise.all(nodes.flatMap((n) => [1, 2, 3, 4].map(() => n.auth.takeWrapped(w.tokenHash, T0 + 1))));
      expect(taken.filter((r) => r.outcome === 'ok')).toHaveLength(1);
      expect(taken.filter((r) => r.outcome === 'used')).toHaveLength(11);
      await Promise.all(nodes.flatMap((n) => [1, 2, 3].map(() => n.auth.recordLoginFailure('source:10.0.0.1', T0))));
      expect(await nodes[2]!.auth.loginFailures('source:10.0.0.1', T0)).toBe(9);
    } finally {
      await Promise.all(nodes.map((n) => n.close()));
    }
  });

  it('store migrate copies roles, secret_ids, wrapped responses and counters, and they work on PostgreSQL', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'signet-auth-migrate-'));
    const path = join(dir, 'signet.db');
    try {
      const lite = SqliteStore.open(path);
      await lite.migrate();
      const role = roleRecord('ci', { config: { secret_id_ttl_ms: 600_000, secret_id_uses: 1, nested: { a: [1, 'x'] } } });
      const jwtRole = roleRecord('gl', { kind: 'jwt', config: { issuer: 'https://gitlab.example.org', bound_claims: { project_path: ['a/b'] } } });
      const s = secretIdRecord('s', 'ci', { usesLeft: 2 });
      const w = wrappedRecord('w');
      await lite.auth.insertRole(role);
      await lite.auth.insertRole(jwtRole);
      await lite.auth.insertSecretId(s);
      await lite.auth.insertWrapped(w);
      await lite.auth.recordLoginFailure('source:10.0.0.1', T0);
      await lite.close();

      const url = await pgCluster().createDatabase();
      const report = await importSqliteIntoPostgres(path, url);
      expect(report.verified).toContain('auth');
      expect(report.tables).toMatchObject({ auth_roles: 2, auth_secret_ids: 1, auth_wrapped: 1, auth_login_failures: 1 });
      const pg = PostgresStore.open(url);
      try {
        expect(await pg.auth.getRoleByRoleId(role.roleId)).toEqual(role);
        expect(await pg.auth.getRole('jwt', 'gl')).toEqual(jwtRole);
        expect((await pg.auth.consumeSecretId(s.secretHash, 'ci', T0))?.usesLeft).toBe(2);
        expect((await pg.auth.takeWrapped(w.tokenHash, T0 + 1)).outcome).toBe('ok');
        expect(await pg.auth.loginFailures('source:10.0.0.1', T0)).toBe(1);
      } finally {
        await pg.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
