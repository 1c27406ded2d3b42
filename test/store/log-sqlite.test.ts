import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { commitIntegration, extendFromStore, integrationInputFrom } from '../../src/store/sqlite/log-store.js';
import type { LogIntegrationInput, LogIntegrationOutput } from '../../src/store/log-types.js';
import { Secret } from '../../src/secret.js';
import type { ExtendedTree } from '../../src/tlog/integrate.js';
import { LogService } from '../../src/tlog/service.js';
import { MemoryTree } from '../../src/tlog/tree.js';
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

describe('sqlite integration off the event loop (the checkpoint thread reads and hashes the step)', () => {
  const master = new Secret(randomBytes(32));
  const entry = (i: number): Buffer => Buffer.from(`entry ${i} ${randomBytes(4).toString('hex')}`);

  /** The store, with each integration step given the input the checkpoint thread makes
   *  (extendFromStore on a second connection, as the main thread reads its reply), after `tweak`. */
  function extendingElsewhere(store: SqliteStore, path: string, tweak: (e: ExtendedTree) => ExtendedTree = (e) => e): Store {
    const db = new Database(path);
    const log = new Proxy(store.log, {
      get(target, prop) {
        if (prop === 'integrate') {
          return (max: number, step: (input: LogIntegrationInput) => LogIntegrationOutput | undefined) =>
            target.integrate(max, () => {
              const made = integrationInputFrom(extendFromStore(db, max));
              return step(made.extended === undefined ? made : { ...made, extended: tweak(made.extended) });
            });
        }
        const value = Reflect.get(target, prop, target) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    return new Proxy(store, {
      get(target, prop) {
        if (prop === 'log') return log;
        const value = Reflect.get(target, prop, target) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  }

  async function withStore(fn: (store: SqliteStore, path: string) => Promise<void>): Promise<void> {
    const dir = mkdtempSync(join(tmpdir(), 'signet-log-sqlite-ext-'));
    const path = join(dir, 'signet.db');
    const store = SqliteStore.open(path);
    try {
      await store.migrate();
      await fn(store, path);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('integrates to the same tree as MemoryTree across several steps', async () => {
    await withStore(async (store, path) => {
      const log = await LogService.open(extendingElsewhere(store, path), master, { origin: 'test.example/log', integrateMaxEntries: 7 });
      const entries = Array.from({ length: 30 }, (_, i) => entry(i));
      const memory = new MemoryTree();
      for (const e of entries) memory.append(e);
      await Promise.all(entries.slice(0, 11).map((e) => log.appendEncoded(e)));
      await log.integrate();
      await Promise.all(entries.slice(11).map((e) => log.appendEncoded(e)));
      const tree = await log.integrate();
      expect(tree?.size).toBe(30n);
      expect(tree?.root.equals(memory.root())).toBe(true);
      await log.close();
    });
  });

  it('refuses an extension whose root does not follow from the signed tree, or with hashes missing', async () => {
    for (const [tweak, code] of [
      [(e: ExtendedTree) => ({ ...e, root: randomBytes(32) }), 'TLOG_INCONSISTENT'],
      [(e: ExtendedTree) => ({ ...e, hashes: e.hashes.slice(1) }), 'INTERNAL'],
    ] as const) {
      await withStore(async (store, path) => {
        const first = await LogService.open(store, master, { origin: 'test.example/log' });
        await Promise.all(Array.from({ length: 5 }, (_, i) => first.appendEncoded(entry(i))));
        await first.integrate();
        await first.close();
        const log = await LogService.open(extendingElsewhere(store, path, tweak), master, { origin: 'test.example/log' });
        await log.appendEncoded(entry(5));
        await expect(log.integrate()).rejects.toMatchObject({ code });
        expect((await store.log.treeState())?.size).toBe(5n);
        await log.close().catch(() => undefined);
      });
    }
  });
});
