// The store fixtures every engine suite uses: a fresh database that can be closed and opened
// again (persistence checks), and the throwaway PostgreSQL cluster a test file shares.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { Store } from '../../src/store/types.js';
import { startPgCluster, type PgCluster } from '../helpers/postgres.js';

export interface StoreFixture {
  readonly store: Store;
  /** Close and open the same database again (persistence checks). */
  reopen(): Promise<Store>;
  cleanup(): Promise<void>;
}

function reopenable(open: () => Store, removeFiles: () => void = () => undefined): StoreFixture {
  let current = open();
  return {
    get store() {
      return current;
    },
    async reopen() {
      await current.close();
      current = open();
      await current.migrate();
      return current;
    },
    async cleanup() {
      await current.close();
      removeFiles();
    },
  };
}

/** A new SQLite database in a temp dir of its own (removed by cleanup). */
export async function sqliteFixture(): Promise<StoreFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'signet-store-'));
  const path = join(dir, 'signet.db');
  return reopenable(
    () => SqliteStore.open(path),
    () => rmSync(dir, { recursive: true, force: true }),
  );
}

/** A new database on the file's PostgreSQL cluster. */
export async function postgresFixture(cluster: PgCluster): Promise<StoreFixture> {
  const url = await cluster.createDatabase();
  return reopenable(() => PostgresStore.open(url));
}

/** Starts one throwaway cluster for the test file (beforeAll) and removes it afterwards. */
export function usePgCluster(): () => PgCluster {
  let cluster: PgCluster | undefined;
  beforeAll(async () => {
    cluster = await startPgCluster();
  }, 120_000);
  afterAll(() => {
    cluster?.destroy();
  });
  return () => {
    if (!cluster) throw new Error('the PostgreSQL cluster is not started yet');
    return cluster;
  };
}
