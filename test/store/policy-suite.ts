// The policy sub-store on every engine: documents and rate-limit windows (atomic under
// concurrency, surviving a reopen).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import type { StoreFixture } from './fixtures.js';

export type PolicyStoreFixture = StoreFixture;

export function definePolicyStoreSuite(engine: string, makeFixture: () => Promise<PolicyStoreFixture>): void {
  describe(`policy store: ${engine}`, () => {
    let f: PolicyStoreFixture;

    beforeEach(async () => {
      f = await makeFixture();
      await f.store.migrate();
    });

    afterEach(async () => {
      await f.cleanup();
    });

    it('puts, replaces, lists in byte order, deletes', async () => {
      const p = f.store.policies;
      expect(await p.get('ci')).toBeUndefined();
      await p.put('ci', 'rules: [a]\n', 1000);
      await p.put('B-upper', 'x', 1001);
      await p.put('ci', 'rules: [b]\n', 2000);
      const ci = await p.get('ci');
      expect(ci).toEqual({ name: 'ci', text: 'rules: [b]\n', createdAt: 1000, updatedAt: 2000 });
      expect((await p.list()).map((r) => r.name)).toEqual(['B-upper', 'ci']);
      expect(await p.delete('ci')).toBe(true);
      expect(await p.delete('ci')).toBe(false);
      expect(await p.get('ci')).toBeUndefined();
    });

    it('keeps text byte-exact, including Unicode and comments', async () => {
      const text = '# politique — ünïcode\nrules:\n  - {keys: [rel], kinds: [rpm]}  # trailing\n';
      await f.store.policies.put('u', text, 5);
      expect((await f.store.policies.get('u'))!.text).toBe(text);
    });

    it('counts uses in a window, refuses past the limit without counting, opens a new window after it', async () => {
      const p = f.store.policies;
      const t0 = 1_700_000_000_000;
      expect(await p.consumeRate('b', 2, 1000, t0)).toEqual({ allowed: true, count: 1, windowStart: t0 });
      expect(await p.consumeRate('b', 2, 1000, t0 + 10)).toEqual({ allowed: true, count: 2, windowStart: t0 });
      expect(await p.consumeRate('b', 2, 1000, t0 + 999)).toEqual({ allowed: false, count: 2, windowStart: t0 });
      expect(await p.consumeRate('b', 2, 1000, t0 + 999)).toEqual({ allowed: false, count: 2, windowStart: t0 });
      // The window closes at windowStart + windowMs exactly.
      expect(await p.consumeRate('b', 2, 1000, t0 + 1000)).toEqual({ allowed: true, count: 1, windowStart: t0 + 1000 });
      // Buckets are independent.
      expect((await p.consumeRate('other', 1, 1000, t0)).allowed).toBe(true);
      expect((await p.consumeRate('other', 1, 1000, t0 + 1)).allowed).toBe(false);
    });

    it('never allows more than the limit under concurrency', async () => {
      const t0 = 1_700_000_000_000;
      const results = await Promise.all(Array.from({ length: 40 }, (_, i) => f.store.policies.consumeRate('hot', 7, 60_000, t0 + i)));
      expect(results.filter((r) => r.allowed)).toHaveLength(7);
    });

    it('keeps documents and windows across a reopen', async () => {
      const t0 = 1_700_000_000_000;
      await f.store.policies.put('keep', 'text', 1);
      expect((await f.store.policies.consumeRate('iso', 1, 30 * 86_400_000, t0)).allowed).toBe(true);
      const reopened = await f.reopen();
      expect((await reopened.policies.get('keep'))?.text).toBe('text');
      expect((await reopened.policies.consumeRate('iso', 1, 30 * 86_400_000, t0 + 86_400_000)).allowed).toBe(false);
      expect((await reopened.policies.consumeRate('iso', 1, 30 * 86_400_000, t0 + 30 * 86_400_000)).allowed).toBe(true);
    });
  });
}
