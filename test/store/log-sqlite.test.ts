import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { Store } from '../../src/store/types.js';
import { defineLogSuite } from './log-suite.js';

defineLogSuite('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'signet-log-sqlite-'));
  const path = join(dir, 'signet.db');
  let current: Store = SqliteStore.open(path);
  return {
    get store() {
      return current;
    },
    async openPeer() {
      const peer = SqliteStore.open(path);
      await peer.migrate();
      return peer;
    },
    async reopen() {
      await current.close();
      current = SqliteStore.open(path);
      await current.migrate();
      return current;
    },
    async exec(sql, params) {
      const db = new Database(path);
      try {
        db.prepare(sql.replace(/\$\d+/g, '?')).run(...params);
      } finally {
        db.close();
      }
    },
    async cleanup() {
      await current.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
