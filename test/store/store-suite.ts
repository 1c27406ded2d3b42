// The engine-independent Store suite: every engine (SQLite, PostgreSQL) runs exactly these tests.
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KeyRecord, Store, TokenRecord } from '../../src/store/types.js';
import type { KeyVersionRecord, SubkeyRecord } from '../../src/store/key-version-types.js';
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

    it('request answers: one claim per id, pending then done, expiry, release, purge', async () => {
      const id = randomBytes(32);
      const fp = randomBytes(32);
      expect(await store.requests.claim(id, fp, 1000, 2000)).toEqual({ state: 'claimed' });
      // A second claim of a live id: pending, with the first request's fingerprint.
      const pending = await store.requests.claim(id, randomBytes(32), 1001, 2001);
      expect(pending.state).toBe('pending');
      expect(Buffer.from((pending as { fingerprint: Buffer }).fingerprint).equals(fp)).toBe(true);
      await store.requests.complete(id, 200, Buffer.from('sealed answer'), 5000);
      const done = await store.requests.claim(id, fp, 1500, 2500);
      expect(done.state).toBe('done');
      expect((done as { status: number }).status).toBe(200);
      expect(Buffer.from((done as { answer: Buffer }).answer).toString()).toBe('sealed answer');
      // Released only while pending: a done answer stays.
      await store.requests.release(id);
      expect((await store.requests.claim(id, fp, 1600, 2600)).state).toBe('done');
      // Expired: the id can be claimed again.
      expect(await store.requests.claim(id, fp, 5000, 6000)).toEqual({ state: 'claimed' });
      await store.requests.release(id);
      expect(await store.requests.claim(id, fp, 5001, 6001)).toEqual({ state: 'claimed' });
      // Concurrent claims of a new id: exactly one winner.
      const fresh = randomBytes(32);
      const claims = await Promise.all([1, 2, 3, 4].map(() => store.requests.claim(fresh, fp, 1000, 9000)));
      expect(claims.filter((c) => c.state === 'claimed')).toHaveLength(1);
      expect(await store.requests.purge(10_000)).toBe(2);
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

    describe('key versions and subkeys', () => {
      const version = (name: string, overrides: Partial<KeyVersionRecord> = {}): KeyVersionRecord => {
        const fingerprint = randomBytes(20).toString('hex').toUpperCase();
        return {
          keyName: name, fingerprint, keyId: fingerprint.slice(24), algorithm: 'rsa4096', keyCreatedAt: 1_800_000_000,
          publicKey: randomBytes(70), sealedSecret: randomBytes(90), wrappedDataKey: randomBytes(61), backend: 'sealed', tokenRef: null,
          state: 'active', createdAt: 1_800_000_000_000, expiresAt: null, exportUntil: null, revocationCertificate: null,
          revocationReason: null, ...overrides,
        };
      };

      it('a new key is its own first version, with the same material', async () => {
        const k = keyRecord('v1');
        await store.insertKey(k);
        const [first, ...rest] = await store.keyVersions.list('v1');
        expect(rest).toEqual([]);
        expect(first).toMatchObject({ keyName: 'v1', fingerprint: k.fingerprint, backend: 'sealed', state: 'active', expiresAt: null });
        expect(first!.sealedSecret).toEqual(k.sealedSecret);
        expect(first!.publicKey).toEqual(k.publicKey);
        expect(await store.keyVersions.get(k.fingerprint)).toEqual(first);
      });

      it('rotation retires the current version and moves the name to the new one, atomically', async () => {
        const k = keyRecord('rot');
        await store.insertKey(k);
        const next = version('rot', { createdAt: k.createdAt + 1 });
        await store.keyVersions.rotate('rot', next, { fingerprint: k.fingerprint, exportUntil: 1_900_000_000_000 });
        const current = await store.getKey('rot');
        expect(current).toMatchObject({ fingerprint: next.fingerprint, keyId: next.keyId, algorithm: 'rsa4096', name: 'rot', purposes: k.purposes });
        expect(current!.sealedSecret).toEqual(next.sealedSecret);
        const versions = await store.keyVersions.list('rot');
        expect(versions.map((v) => [v.fingerprint, v.state, v.exportUntil])).toEqual([
          [next.fingerprint, 'active', null],
          [k.fingerprint, 'retired', 1_900_000_000_000],
        ]);
        // A stale rotation (from the old fingerprint) is refused and changes nothing.
        await expect(store.keyVersions.rotate('rot', version('rot'), { fingerprint: k.fingerprint, exportUntil: null })).rejects.toMatchObject({ code: 'KEY_VERSION_NOT_FOUND' });
        // A fingerprint already used by a version is refused, and the name is unchanged.
        await expect(store.keyVersions.rotate('rot', { ...version('rot'), fingerprint: k.fingerprint }, { fingerprint: next.fingerprint, exportUntil: null }))
          .rejects.toMatchObject({ code: 'KEY_EXISTS' });
        expect((await store.getKey('rot'))?.fingerprint).toBe(next.fingerprint);
        expect(await store.keyVersions.list('rot')).toHaveLength(2);
        await expect(store.keyVersions.rotate('nope', version('nope'), { fingerprint: k.fingerprint, exportUntil: null })).rejects.toMatchObject({ code: 'KEY_NOT_FOUND' });
      });

      it('updates a version and mirrors the current certificate to the name', async () => {
        const k = keyRecord('upd');
        await store.insertKey(k);
        const cert = randomBytes(99);
        await store.keyVersions.update(k.fingerprint, { publicKey: cert, expiresAt: 1_900_000_000, revocationCertificate: Buffer.from('rev') });
        expect((await store.getKey('upd'))?.publicKey).toEqual(cert);
        expect(await store.keyVersions.get(k.fingerprint)).toMatchObject({ expiresAt: 1_900_000_000, revocationCertificate: Buffer.from('rev'), state: 'active' });
        await store.keyVersions.update(k.fingerprint, { state: 'revoked', revocationReason: 'compromised' });
        expect(await store.keyVersions.get(k.fingerprint)).toMatchObject({ state: 'revoked', revocationReason: 'compromised', expiresAt: 1_900_000_000 });
        await expect(store.keyVersions.update('00'.repeat(20), { state: 'revoked' })).rejects.toMatchObject({ code: 'KEY_VERSION_NOT_FOUND' });
      });

      it('one active subkey per name; delete erases every secret and keeps certificates', async () => {
        const k = keyRecord('sub');
        await store.insertKey(k);
        const sub = (createdAt: number): SubkeyRecord => {
          const fingerprint = randomBytes(20).toString('hex').toUpperCase();
          return { fingerprint, keyName: 'sub', primaryFingerprint: k.fingerprint, keyId: fingerprint.slice(24), algorithm: 'ed25519',
            keyCreatedAt: 1_800_000_000, sealedSecret: randomBytes(40), wrappedDataKey: randomBytes(61), backend: 'sealed', state: 'active', createdAt };
        };
        const a = sub(1);
        const b = sub(2);
        await store.keyVersions.addSubkey(a, Buffer.from('cert-a'));
        await store.keyVersions.addSubkey(b, Buffer.from('cert-b'));
        expect((await store.keyVersions.listSubkeys('sub')).map((s) => [s.fingerprint, s.state])).toEqual([[b.fingerprint, 'active'], [a.fingerprint, 'retired']]);
        expect((await store.getKey('sub'))?.publicKey).toEqual(Buffer.from('cert-b'));
        await expect(store.keyVersions.addSubkey(a, Buffer.from('x'))).rejects.toMatchObject({ code: 'KEY_EXISTS' });
        await store.keyVersions.destroySecrets('sub');
        const gone = await store.getKey('sub');
        expect(gone).toMatchObject({ state: 'deleted', fingerprint: k.fingerprint });
        expect(gone!.sealedSecret.length).toBe(0);
        expect(gone!.publicKey).toEqual(Buffer.from('cert-b'));
        expect((await store.keyVersions.list('sub'))[0]!.sealedSecret).toBeNull();
        expect((await store.keyVersions.listSubkeys('sub')).every((s) => s.sealedSecret === null && s.wrappedDataKey === null)).toBe(true);
        await expect(store.keyVersions.destroySecrets('nope')).rejects.toMatchObject({ code: 'KEY_NOT_FOUND' });
      });
    });
  });
}
