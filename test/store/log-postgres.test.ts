// The LogStore suite on a real PostgreSQL (throwaway cluster), including two "nodes" (two stores,
// two pools) appending and integrating on one database.
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import type { Store } from '../../src/store/types.js';
import { startPgCluster, type PgCluster } from '../helpers/postgres.js';
import { defineLogSuite } from './log-suite.js';

let cluster: PgCluster;
beforeAll(async () => {
  cluster = await startPgCluster();
}, 120_000);
afterAll(() => cluster?.destroy());

defineLogSuite('postgres', async () => {
  const url = await cluster.createDatabase();
  let current: Store = PostgresStore.open(url);
  return {
    get store() {
      return current;
    },
    async openPeer() {
      const peer = PostgresStore.open(url);
      await peer.migrate();
      return peer;
    },
    async reopen() {
      await current.close();
      current = PostgresStore.open(url);
      await current.migrate();
      return current;
    },
    async exec(sql, params) {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(sql, params);
      } finally {
        await client.end();
      }
    },
    async cleanup() {
      await current.close();
    },
  };
});
