// The policy sub-store on PostgreSQL, and what only a shared engine has: two nodes (two stores,
// two pools) counting against one rate window.
import { describe, expect, it } from 'vitest';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { postgresFixture, usePgCluster } from './fixtures.js';
import { definePolicyStoreSuite } from './policy-suite.js';

const pgCluster = usePgCluster();

definePolicyStoreSuite('postgres', () => postgresFixture(pgCluster()));

describe('policy store: two PostgreSQL nodes', () => {
  it('share one rate window: concurrent uses from both nodes never exceed the limit', async () => {
    const url = await pgCluster().createDatabase();
    const a = PostgresStore.open(url);
    const b = PostgresStore.open(url);
    try {
      await Promise.all([a.migrate(), b.migrate()]);
      const t0 = 1_700_000_000_000;
      const results = await Promise.all(
        Array.from({ length: 60 }, (_, i) => (i % 2 === 0 ? a : b).policies.consumeRate('shared', 25, 3_600_000, t0 + i)),
      );
      expect(results.filter((r) => r.allowed)).toHaveLength(25);
      // Both nodes see the same closed window, and a policy written on one is read on the other.
      expect((await a.policies.consumeRate('shared', 25, 3_600_000, t0 + 100)).allowed).toBe(false);
      expect((await b.policies.consumeRate('shared', 25, 3_600_000, t0 + 100)).allowed).toBe(false);
      await a.policies.put('ci', 'rules: []', 1);
      expect((await b.policies.get('ci'))?.text).toBe('rules: []');
    } finally {
      await a.close();
      await b.close();
    }
  });
});
