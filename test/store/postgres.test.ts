// The Store suite on a real PostgreSQL (a throwaway cluster, test/helpers/postgres.ts), plus what
// only a networked, shared engine has: several stores migrating one database at once, outages.
import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { openStore } from '../../src/store/index.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { isConnectionFailure, translatePgError } from '../../src/store/postgres/errors.js';
import { MIGRATIONS, migrate } from '../../src/store/postgres/migrations.js';
import { keyValues } from '../../src/store/rows.js';
import { postgresFixture, usePgCluster } from './fixtures.js';
import { defineStoreSuite, keyRecord, tokenRecord } from './store-suite.js';

const pgCluster = usePgCluster();

defineStoreSuite('postgres', () => postgresFixture(pgCluster()));

describe('PostgreSQL specifics', () => {
  it('opens postgres:// URLs through openStore and refuses malformed ones', async () => {
    const url = await pgCluster().createDatabase();
    const store = await openStore(url, { dataDir: '/nonexistent' });
    try {
      expect(store.engine).toBe('postgres');
      await store.migrate();
      await store.ping();
    } finally {
      await store.close();
    }
    await expect(openStore('postgres://[bad', { dataDir: '/tmp' })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });

  it('several nodes migrating one database at once apply each migration exactly once', async () => {
    const url = await pgCluster().createDatabase();
    const stores = Array.from({ length: 5 }, () => PostgresStore.open(url));
    try {
      await Promise.all(stores.map((s) => s.migrate()));
      const rows = await stores[0]!.db.query<{ version: number; n: string }>('SELECT version, count(*) AS n FROM schema_migrations GROUP BY version');
      expect(rows.length).toBeGreaterThan(0);
      for (const r of rows) expect(r.n).toBe('1');
      // What one node writes, another reads at once.
      await stores[1]!.insertKey(keyRecord('shared'));
      expect((await stores[4]!.getKey('shared'))?.name).toBe('shared');
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  it('migration 2 gives keys made before purposes existed every kind', async () => {
    const url = await pgCluster().createDatabase();
    const store = PostgresStore.open(url);
    try {
      // The schema as it was before migration 2, with one key in it.
      await migrate(store.db, MIGRATIONS.filter((m) => m.version !== 2));
      await store.db.query(
        `INSERT INTO keys (name, fingerprint, key_id, algorithm, user_id, key_created_at, public_key, sealed_secret, wrapped_data_key, origin, state, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
        keyValues(keyRecord('legacy')).slice(0, 12),
      );
      await store.migrate();
      expect((await store.getKey('legacy'))?.purposes).toEqual(['detached', 'clearsign', 'rpm', 'yum', 'apt', 'pacman', 'sums', 'git']);
      // Migration 5: keys made before backends are sealed keys.
      expect(await store.getKey('legacy')).toMatchObject({ backend: 'sealed', tokenRef: null });
    } finally {
      await store.close();
    }
  });

  it('stores bytes byte-exact as BYTEA and times as BIGINT beyond 2^31', async () => {
    const url = await pgCluster().createDatabase();
    const store = PostgresStore.open(url);
    try {
      await store.migrate();
      const allBytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      const t = tokenRecord('big', { tokenHash: allBytes, createdAt: 4_102_444_800_000, expiresAt: 2 ** 52, meta: { 'key with space': 'värde', empty: '' } });
      await store.insertToken(t);
      expect(await store.getTokenByHash(allBytes)).toEqual(t);
      const cols = await store.db.query<{ column_name: string; data_type: string }>(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'tokens' AND column_name IN ('token_hash', 'created_at', 'policies')",
      );
      expect(Object.fromEntries(cols.map((c) => [c.column_name, c.data_type]))).toEqual({ token_hash: 'bytea', created_at: 'bigint', policies: 'jsonb' });
    } finally {
      await store.close();
    }
  });

  it('transactions commit all or nothing, and conflicting serializable ones are retried', async () => {
    const url = await pgCluster().createDatabase();
    const store = PostgresStore.open(url);
    try {
      await store.migrate();
      await expect(
        store.db.transaction(async (tx) => {
          await tx.query("INSERT INTO meta (key, value) VALUES ('half', 'written')");
          await tx.query("INSERT INTO meta (key, value) VALUES ('half', 'again')", [], { constraint: ['KEY_EXISTS', 'dup'] });
        }),
      ).rejects.toMatchObject({ code: 'KEY_EXISTS' });
      expect(await store.getMeta('half')).toBeUndefined();

      // Read-modify-write of one counter from 6 transactions at once: serialization failures
      // (40001) are retried, so no increment is lost.
      await store.setMeta('counter', '0');
      await Promise.all(
        Array.from({ length: 6 }, () =>
          store.db.transaction(
            async (tx) => {
              const [row] = await tx.query<{ value: string }>("SELECT value FROM meta WHERE key = 'counter'");
              await tx.query("UPDATE meta SET value = $1 WHERE key = 'counter'", [String(Number(row?.value) + 1)]);
            },
            { isolation: 'serializable', retries: 20 },
          ),
        ),
      );
      expect(await store.getMeta('counter')).toBe('6');
    } finally {
      await store.close();
    }
  });

  it('classifies connection failures, and only those, as unreachable', () => {
    for (const code of ['ECONNREFUSED', '57P01', '08006', '08001', '57P03']) expect(isConnectionFailure(Object.assign(new Error('x'), { code }))).toBe(true);
    expect(isConnectionFailure(new Error('Connection terminated unexpectedly'))).toBe(true);
    for (const code of ['23505', '42601', '22P02']) expect(isConnectionFailure(Object.assign(new Error('x'), { code }))).toBe(false);
    expect(translatePgError(Object.assign(new Error('dup'), { code: '23505' }), 'm', { constraint: ['KEY_EXISTS', 'k'] }).code).toBe('KEY_EXISTS');
    expect(translatePgError(Object.assign(new Error('full'), { code: '53100' }), 'm').code).toBe('DISK_FULL');
    expect(translatePgError(Object.assign(new Error('gone'), { code: '57P01' }), 'm').code).toBe('STORE_UNAVAILABLE');
  });

  it('an outage gives STORE_UNAVAILABLE, never a crash; the same store works again after restart', async () => {
    const url = await pgCluster().createDatabase();
    const store = PostgresStore.open(url, { connectTimeoutMs: 2_000 });
    const idleErrors: Error[] = [];
    const watcher = PostgresStore.open(url, { onConnectionError: (err) => idleErrors.push(err) });
    try {
      await store.migrate();
      await store.insertKey(keyRecord('before'));
      await watcher.ping(); // leaves an idle pooled connection for the server to drop
      // A statement in flight when the server goes down.
      const sleeping = new pg.Client({ connectionString: url });
      await sleeping.connect();
      sleeping.on('error', () => undefined);
      const inFlight = sleeping.query('SELECT pg_sleep(30)').then(
        () => 'finished',
        (err: unknown) => (isConnectionFailure(err) ? 'unavailable' : String(err)),
      );
      await new Promise((r) => setTimeout(r, 200));
      pgCluster().stop('fast');
      expect(await inFlight).toBe('unavailable');
      await expect(store.ping()).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
      await expect(store.getKey('before')).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
      await expect(store.insertKey(keyRecord('during'))).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
      expect(idleErrors.length).toBeGreaterThan(0);
      await sleeping.end().catch(() => undefined);

      pgCluster().start();
      await store.ping();
      expect((await store.getKey('before'))?.name).toBe('before');
      expect(await store.getKey('during')).toBeUndefined();
      await store.insertKey(keyRecord('after'));
      expect((await watcher.listKeys()).map((k) => k.name)).toEqual(['after', 'before']);
    } finally {
      if (!pgCluster().running) pgCluster().start();
      await store.close();
      await watcher.close();
    }
  }, 60_000);
});
