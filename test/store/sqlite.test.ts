import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/index.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { sqliteFixture } from './fixtures.js';
import Database from 'better-sqlite3';
import { keyValues } from '../../src/store/rows.js';
import { MIGRATIONS } from '../../src/store/sqlite/migrations.js';
import { defineStoreSuite, keyRecord } from './store-suite.js';

defineStoreSuite('sqlite', sqliteFixture);

describe('SQLite specifics', () => {
  it('creates the database 0600 in WAL mode from a store URL', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'signet-sqlite-'));
    try {
      const store = (await openStore('', { dataDir: dir })) as SqliteStore;
      await store.migrate();
      expect(statSync(join(dir, 'signet.db')).mode & 0o777).toBe(0o600);
      expect(store.journalMode()).toBe('wal');
      await store.close();
      const explicit = await openStore(`sqlite:${join(dir, 'other.db')}`, { dataDir: dir });
      await explicit.migrate();
      await explicit.close();
      expect(statSync(join(dir, 'other.db')).isFile()).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('migration 2 gives keys made before purposes existed every kind', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'signet-sqlite-'));
    try {
      // A database as the first schema left it, with one key.
      const path = join(dir, 'old.db');
      const db = new Database(path);
      db.exec(MIGRATIONS.find((m) => m.version === 1)!.sqlite);
      db.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)');
      db.prepare('INSERT INTO schema_migrations VALUES (1, 0)').run();
      const k = keyRecord('legacy');
      db.prepare('INSERT INTO keys VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').run(...keyValues(k).slice(0, 12));
      db.close();
      const store = await openStore(`sqlite:${path}`, { dataDir: dir });
      await store.migrate();
      expect((await store.getKey('legacy'))?.purposes).toEqual(['detached', 'clearsign', 'rpm', 'yum', 'apt', 'pacman', 'sums', 'git']);
      // Migration 5: keys made before backends are sealed keys.
      expect(await store.getKey('legacy')).toMatchObject({ backend: 'sealed', tokenRef: null });
      await store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses unknown store URLs and unreadable paths with stable codes', async () => {
    await expect(openStore('mysql://x', { dataDir: '/tmp' })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    await expect(openStore('sqlite:', { dataDir: '/tmp' })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    await expect(openStore('sqlite:/nonexistent-dir/x/signet.db', { dataDir: '/tmp' })).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
  });
});
