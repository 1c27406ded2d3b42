import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { Store } from '../../src/store/types.js';
import { definePolicyStoreSuite } from './policy-suite.js';

definePolicyStoreSuite('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'signet-policy-'));
  const path = join(dir, 'signet.db');
  let current: Store = SqliteStore.open(path);
  return {
    get store() {
      return current;
    },
    async reopen() {
      await current.close();
      current = SqliteStore.open(path);
      await current.migrate();
      return current;
    },
    async cleanup() {
      await current.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
