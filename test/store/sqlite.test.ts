import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/index.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { sqliteFixture } from './fixtures.js';
import { defineStoreSuite } from './store-suite.js';

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

  it('refuses unknown store URLs and unreadable paths with stable codes', async () => {
    await expect(openStore('mysql://x', { dataDir: '/tmp' })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    await expect(openStore('sqlite:', { dataDir: '/tmp' })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    await expect(openStore('sqlite:/nonexistent-dir/x/signet.db', { dataDir: '/tmp' })).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
  });
});
