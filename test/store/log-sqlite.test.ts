import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { commitIntegration } from '../../src/store/sqlite/log-store.js';
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

describe('sqlite commitIntegration (the append thread writes the integrator step)', () => {
  it('applies only over the tree the step extended, and writes nothing otherwise', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'signet-log-sqlite-cas-'));
    const store = SqliteStore.open(join(dir, 'signet.db'));
    try {
      await store.migrate();
      const db = new Database(join(dir, 'signet.db'));
      const hash = (b: number) => Buffer.alloc(32, b);
      const commit = (before: { size: number; root: Buffer } | undefined, size: number, first: number) => ({
        before,
        first,
        hashes: Buffer.concat([hash(size), hash(size + 100)]),
        size,
        root: hash(size),
        checkpoint: `cp ${size}\n`,
        now: 1,
      });
      commitIntegration(db, commit(undefined, 1, 0));
      // A stale writer that saw no tree, or the wrong root, is refused; nothing lands.
      for (const stale of [commit(undefined, 2, 2), commit({ size: 1, root: hash(9) }, 2, 2), commit({ size: 2, root: hash(2) }, 3, 2)]) {
        expect(() => commitIntegration(db, stale)).toThrow(expect.objectContaining({ code: 'TLOG_INCONSISTENT' }));
      }
      expect(db.prepare('SELECT count(*) FROM tlog_hashes').pluck().get()).toBe(2);
      commitIntegration(db, commit({ size: 1, root: hash(1) }, 2, 2));
      expect(await store.log.treeState()).toMatchObject({ size: 2n, checkpoint: 'cp 2\n' });
      expect((await store.log.readHashes([3n]))[0]?.equals(hash(102))).toBe(true);
      db.close();
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
