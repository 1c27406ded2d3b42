// The LogStore and LogService suite every engine runs (SQLite, PostgreSQL): dense sequencing,
// integration that matches an in-memory tree, proofs, persistence, the sealed log key, and the
// refusal to sign over altered stored hashes.
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Secret } from '../../src/secret.js';
import type { Store } from '../../src/store/types.js';
import { openCheckpoint } from '../../src/tlog/checkpoint.js';
import { LogService } from '../../src/tlog/service.js';
import { MemoryTree, storedHashIndex } from '../../src/tlog/tree.js';
import { verifyConsistency, verifyInclusion } from '../../src/tlog/verify.js';
import { hashLeaf } from '../../src/tlog/rfc6962.js';

export interface LogFixture {
  store: Store;
  /** Another store on the same database (a second node; SQLite: a second connection). */
  openPeer(): Promise<Store>;
  reopen(): Promise<Store>;
  /** Run raw SQL on the database behind the store (tamper tests). */
  exec(sql: string, params: unknown[]): Promise<void>;
  cleanup(): Promise<void>;
}

const entry = (i: number): Buffer => Buffer.from(`entry ${i} ${randomBytes(4).toString('hex')}`);

export function defineLogSuite(engine: string, makeFixture: () => Promise<LogFixture>): void {
  describe(`LogStore suite: ${engine}`, () => {
    let f: LogFixture;
    const master = new Secret(randomBytes(32));

    beforeEach(async () => {
      f = await makeFixture();
      await f.store.migrate();
    });
    afterEach(async () => f.cleanup());

    it('sequences batches densely and in order, and reads them back', async () => {
      expect(await f.store.log.sequencedSize()).toBe(0n);
      const a = [entry(0), entry(1), entry(2)];
      const b = [entry(3)];
      expect(await f.store.log.append(a, 1)).toBe(0n);
      expect(await f.store.log.append(b, 2)).toBe(3n);
      expect(await f.store.log.sequencedSize()).toBe(4n);
      expect((await f.store.log.readEntries(1n, 4n)).map(String)).toEqual([...a.slice(1), ...b].map(String));
      expect(await f.store.log.readEntries(2n, 2n)).toEqual([]);
      await expect(f.store.log.readEntries(2n, 6n)).rejects.toMatchObject({ code: 'TLOG_VERIFY_FAILED', message: expect.stringContaining('entry 4') });
      // Entries are opaque bytes: NULs, invalid UTF-8, newlines and empty entries read back exactly.
      const odd = [Buffer.from([0, 1, 0xff, 0xfe, 0x0a, 0]), Buffer.alloc(0), Buffer.from([0xc3, 0x28]), randomBytes(3000)];
      expect(await f.store.log.append(odd, 3)).toBe(4n);
      expect((await f.store.log.readEntries(4n, 8n)).map((e) => e.toString('hex'))).toEqual(odd.map((e) => e.toString('hex')));
    });

    it('gives concurrent appenders on two connections unique, gap-free indices', async () => {
      const peer = await f.openPeer();
      try {
        const firsts = await Promise.all(
          Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? f.store : peer).log.append([entry(i), entry(i + 100)], i)),
        );
        const indices = firsts.flatMap((first) => [first, first + 1n]).sort((x, y) => (x < y ? -1 : 1));
        expect(indices).toEqual(Array.from({ length: 40 }, (_, i) => BigInt(i)));
        expect(await f.store.log.readEntries(0n, 40n)).toHaveLength(40);
      } finally {
        await peer.close();
      }
    });

    it('group-commits, integrates into the same tree as MemoryTree, and proves inclusion and consistency', async () => {
      const log = await LogService.open(f.store, master, { origin: 'test.example/log', integrateMaxEntries: 100 });
      const entries = Array.from({ length: 333 }, (_, i) => entry(i));
      const indices = await Promise.all(entries.map((e) => log.appendEncoded(e)));
      expect(indices).toEqual(entries.map((_, i) => BigInt(i)));
      const tree = await log.integrate();
      expect(tree?.size).toBe(333n);
      const memory = new MemoryTree();
      for (const e of entries) memory.append(e);
      const { checkpoint } = openCheckpoint((tree as { checkpoint: string }).checkpoint, log.verifier);
      expect(checkpoint.root.equals(memory.root())).toBe(true);
      for (const i of [0n, 1n, 200n, 332n]) {
        verifyInclusion(hashLeaf(entries[Number(i)] as Buffer), i, 333n, await log.inclusionProof(i, 333n), checkpoint.root);
      }
      for (const first of [1n, 100n, 256n]) {
        verifyConsistency(first, 333n, await log.consistencyProof(first, 333n), memory.root(first), checkpoint.root);
      }
      // Every integration step left a signed checkpoint in the history.
      const history = await f.store.log.listCheckpoints(0n, 333n, 100);
      expect(history.map((c) => c.size)).toEqual([0n, 100n, 200n, 300n, 333n]);
      await log.close();

      // Persistent: a restarted service signs with the same key and continues the tree.
      const store = await f.reopen();
      const again = await LogService.open(store, master, { origin: 'test.example/log' });
      expect(again.verifierKey).toBe(log.verifierKey);
      expect(await again.appendEncoded(entry(333))).toBe(333n);
      memory.append((await store.log.readEntries(333n, 334n))[0] as Buffer);
      expect((await again.integrate())?.root.equals(memory.root())).toBe(true);
      await again.close();
      await expect(LogService.open(store, master, { origin: 'other.example/log' })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
      await expect(LogService.open(store, new Secret(randomBytes(32)), { origin: 'test.example/log' })).rejects.toMatchObject({ code: 'KEY_DECRYPT_FAILED' });
    });

    it('refuses to sign a checkpoint over stored hashes that no longer match the signed root', async () => {
      const log = await LogService.open(f.store, master, { origin: 'test.example/log' });
      await Promise.all(Array.from({ length: 5 }, (_, i) => log.appendEncoded(entry(i))));
      await log.integrate();
      await f.exec('UPDATE tlog_hashes SET hash = $1 WHERE idx = $2', [randomBytes(32), Number(storedHashIndex(2, 0n))]);
      await log.appendEncoded(entry(5));
      await expect(log.integrate()).rejects.toMatchObject({ code: 'TLOG_INCONSISTENT' });
      expect((await f.store.log.treeState())?.size).toBe(5n);
      await log.close().catch(() => undefined);
    });

    it('nodes that configured no origin agree on the one the first generated', async () => {
      const peer = await f.openPeer();
      try {
        const [a, b] = await Promise.all([LogService.open(f.store, master), LogService.open(peer, master)]);
        expect(a.origin).toMatch(/^signet-[0-9a-f]{16}\.local\/log$/);
        expect(b.origin).toBe(a.origin);
        expect(b.verifierKey).toBe(a.verifierKey);
        await a.close();
        await b.close();
      } finally {
        await peer.close();
      }
    });

    it('lets one node integrate at a time; both serve the same checkpoint chain', async () => {
      const peer = await f.openPeer();
      try {
        const a = await LogService.open(f.store, master, { origin: 'test.example/log' });
        const b = await LogService.open(peer, master, { origin: 'test.example/log' });
        expect(b.verifierKey).toBe(a.verifierKey);
        for (let round = 0; round < 5; round++) {
          await Promise.all([a.appendEncoded(entry(round)), b.appendEncoded(entry(round + 50))]);
          await Promise.all([a.integrate(), b.integrate()]);
        }
        await a.integrate();
        const tree = await a.tree();
        expect(tree.size).toBe(10n);
        expect((await b.tree()).checkpoint).toBe(tree.checkpoint);
        const history = await f.store.log.listCheckpoints(0n, 10n, 100);
        for (let i = 1; i < history.length; i++) {
          const older = history[i - 1]!;
          const newer = history[i]!;
          verifyConsistency(older.size, newer.size, await a.consistencyProof(older.size, newer.size), older.root, newer.root);
        }
        await a.close();
        await b.close();
      } finally {
        await peer.close();
      }
    });
  });
}
