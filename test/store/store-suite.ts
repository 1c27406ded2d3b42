// The engine-independent Store suite: every engine (SQLite, PostgreSQL) runs exactly these tests.
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KeyRecord, Store, TokenRecord } from '../../src/store/types.js';
import { defineAuthStoreCases } from './auth-suite.js';

export type { StoreFixture } from './fixtures.js';
import type { StoreFixture } from './fixtures.js';

export function keyRecord(name: string, overrides: Partial<KeyRecord> = {}): KeyRecord {
  const fingerprint = randomBytes(20).toString('hex').toUpperCase();
  return {
    name,
    fingerprint,
    keyId: fingerprint.slice(24),
    algorithm: 'ed25519',
    userId: `${name} <${name}@example.org>`,
    keyCreatedAt: 1_700_000_000,
    publicKey: randomBytes(60),
    sealedSecret: randomBytes(80),
    wrappedDataKey: randomBytes(61),
    backend: 'sealed',
    tokenRef: null,
    origin: 'generated',
    state: 'active',
    purposes: ['detached', 'sums'],
    createdAt: 1_700_000_000_123,
    ...overrides,
  };
}

export function tokenRecord(accessor: string, overrides: Partial<TokenRecord> = {}): TokenRecord {
  return {
    accessor,
    tokenHash: randomBytes(32),
    policies: ['admin'],
    displayName: `token ${accessor}`,
    createdAt: 1_700_000_000_000,
    expiresAt: null,
    revokedAt: null,
    parentAccessor: null,
    meta: {},
    ...overrides,
  };
}

export function defineStoreSuite(engine: string, makeFixture: () => Promise<StoreFixture>): void {
  describe(`Store suite: ${engine}`, () => {
    let f: StoreFixture;
    let store: Store;

    beforeEach(async () => {
      f = await makeFixture();
      store = f.store;
      await store.migrate();
    });

    afterEach(async () => {
      await f.cleanup();
    });

    it('migrates idempotently and answers ping', async () => {
      await store.migrate();
      await store.ping();
    });

    it('meta: get, put-if-absent, set', async () => {
      expect(await store.getMeta('origin')).toBeUndefined();
      expect(await store.putMetaIfAbsent('origin', 'a')).toBe('a');
      expect(await store.putMetaIfAbsent('origin', 'b')).toBe('a');
      await store.setMeta('origin', 'c');
      expect(await store.getMeta('origin')).toBe('c');
    });

    it('meta: concurrent put-if-absent has exactly one winner', async () => {
      const results = await Promise.all(Array.from({ length: 8 }, (_, i) => store.putMetaIfAbsent('claim', `n${i}`)));
      expect(new Set(results).size).toBe(1);
    });

    it('keys: insert, get by name and fingerprint, list sorted, byte-exact blobs', async () => {
      const b = keyRecord('b');
      const a = keyRecord('a', { algorithm: 'rsa4096', origin: 'imported' });
      await store.insertKey(b);
      await store.insertKey(a);
      expect(await store.getKey('a')).toEqual(a);
      expect(await store.getKeyByFingerprint(b.fingerprint)).toEqual(b);
      expect(await store.getKey('zzz')).toBeUndefined();
      expect(await store.getKeyByFingerprint('00'.repeat(20))).toBeUndefined();
      expect((await store.listKeys()).map((k) => k.name)).toEqual(['a', 'b']);
      // A key held by a token: no sealed material, its token reference instead.
      const t = keyRecord('t', { backend: 'pkcs11', tokenRef: '{"id":"00ff","label":"signet:t"}', sealedSecret: Buffer.alloc(0), wrappedDataKey: Buffer.alloc(0) });
      await store.insertKey(t);
      expect(await store.getKey('t')).toEqual(t);
    });

    it('keys: duplicate name or fingerprint is KEY_EXISTS and changes nothing', async () => {
      const a = keyRecord('a');
      await store.insertKey(a);
      await expect(store.insertKey(keyRecord('a'))).rejects.toMatchObject({ code: 'KEY_EXISTS' });
      await expect(store.insertKey(keyRecord('other', { fingerprint: a.fingerprint }))).rejects.toMatchObject({ code: 'KEY_EXISTS' });
      expect(await store.listKeys()).toEqual([a]);
    });

    it('keys: state changes; unknown key is KEY_NOT_FOUND', async () => {
      await store.insertKey(keyRecord('a'));
      await store.setKeyState('a', 'revoked');
      expect((await store.getKey('a'))?.state).toBe('revoked');
      await expect(store.setKeyState('nope', 'revoked')).rejects.toMatchObject({ code: 'KEY_NOT_FOUND' });
    });

    it('keys: purposes are stored, listed and replaced; unknown key is KEY_NOT_FOUND', async () => {
      await store.insertKey(keyRecord('p', { purposes: ['rpm', 'yum'] }));
      expect((await store.getKey('p'))?.purposes).toEqual(['rpm', 'yum']);
      await store.setKeyPurposes('p', ['detached']);
      expect((await store.getKey('p'))?.purposes).toEqual(['detached']);
      expect((await store.listKeys()).find((k) => k.name === 'p')?.purposes).toEqual(['detached']);
      await expect(store.setKeyPurposes('nope', ['rpm'])).rejects.toMatchObject({ code: 'KEY_NOT_FOUND' });
    });

    it('tokens: insert, look up by hash and accessor, list', async () => {
      const t = tokenRecord('acc1', { policies: ['role:ci', 'x'], meta: { role: 'ci', source: '127.0.0.1' }, expiresAt: 1_700_000_600_000 });
      await store.insertToken(t);
      expect(await store.getTokenByHash(t.tokenHash)).toEqual(t);
      expect(await store.getTokenByAccessor('acc1')).toEqual(t);
      expect(await store.getTokenByHash(randomBytes(32))).toBeUndefined();
      expect((await store.listTokens()).map((x) => x.accessor)).toEqual(['acc1']);
    });

    it('tokens: revocation cascades to every descendant and persists across reopen', async () => {
      await store.insertToken(tokenRecord('root'));
      await store.insertToken(tokenRecord('child', { parentAccessor: 'root' }));
      await store.insertToken(tokenRecord('grandchild', { parentAccessor: 'child' }));
      await store.insertToken(tokenRecord('sibling'));
      const revoked = await store.revokeToken('root', 1_700_000_999_000);
      expect(revoked.sort()).toEqual(['child', 'grandchild', 'root']);
      store = await f.reopen();
      for (const a of ['root', 'child', 'grandchild']) expect((await store.getTokenByAccessor(a))?.revokedAt).toBe(1_700_000_999_000);
      expect((await store.getTokenByAccessor('sibling'))?.revokedAt).toBeNull();
    });

    it('extends a live token only, only later, and a cached lookup sees it', async () => {
      await store.insertToken(tokenRecord('live', { expiresAt: 2_000 }));
      await store.insertToken(tokenRecord('gone', { expiresAt: 2_000, revokedAt: 1_500 }));
      await store.insertToken(tokenRecord('old', { expiresAt: 900 }));
      await store.insertToken(tokenRecord('forever', { expiresAt: null }));
      const hash = (await store.getTokenByAccessor('live'))!.tokenHash;
      expect((await store.getTokenByHash(hash))?.expiresAt).toBe(2_000);
      expect(await store.extendToken('live', 5_000, 1_000)).toBe(true);
      expect((await store.getTokenByHash(hash))?.expiresAt).toBe(5_000);
      expect(await store.extendToken('live', 4_000, 1_000)).toBe(false);
      expect(await store.extendToken('gone', 5_000, 1_000)).toBe(false);
      expect(await store.extendToken('old', 5_000, 1_000)).toBe(false);
      expect(await store.extendToken('forever', 5_000, 1_000)).toBe(false);
      expect(await store.extendToken('nobody', 5_000, 1_000)).toBe(false);
      store = await f.reopen();
      expect((await store.getTokenByAccessor('live'))?.expiresAt).toBe(5_000);
      expect((await store.getTokenByAccessor('forever'))?.expiresAt).toBeNull();
    });

    it('persists keys across reopen', async () => {
      const a = keyRecord('a');
      await store.insertKey(a);
      store = await f.reopen();
      expect(await store.getKey('a')).toEqual(a);
    });

    defineAuthStoreCases(() => ({ store, reopen: async () => (store = await f.reopen()) }));
  });
}
