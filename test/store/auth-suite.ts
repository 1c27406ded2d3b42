// The auth sub-store cases of the Store suite (store-suite.ts runs them for every engine).
import { randomBytes } from 'node:crypto';
import { expect, it } from 'vitest';
import type { RoleRecord, SecretIdRecord, WrappedRecord } from '../../src/store/auth-types.js';
import type { Store } from '../../src/store/types.js';

export function roleRecord(name: string, overrides: Partial<RoleRecord> = {}): RoleRecord {
  return {
    kind: 'approle',
    name,
    roleId: `${name}-${randomBytes(8).toString('hex')}`,
    policies: ['p1', `role:${name}`],
    tokenTtlMs: 1_200_000,
    config: { secret_id_ttl_ms: 600_000, secret_id_uses: 1 },
    createdAt: 1_700_000_000_000,
    ...overrides,
  };
}

export function secretIdRecord(accessor: string, roleName: string, overrides: Partial<SecretIdRecord> = {}): SecretIdRecord {
  return {
    accessor,
    roleName,
    secretHash: randomBytes(32),
    usesLeft: 1,
    expiresAt: 1_700_000_600_000,
    createdAt: 1_700_000_000_000,
    cidrs: [],
    ...overrides,
  };
}

export function wrappedRecord(accessor: string, overrides: Partial<WrappedRecord> = {}): WrappedRecord {
  return {
    accessor,
    tokenHash: randomBytes(32),
    creationPath: 'auth/approle/role/ci/secret-id',
    creatorAccessor: 'admin',
    sealed: randomBytes(80),
    createdAt: 1_700_000_000_000,
    expiresAt: 1_700_000_060_000,
    unwrappedAt: null,
    ...overrides,
  };
}

const T0 = 1_700_000_000_000;

export function defineAuthStoreCases(get: () => { store: Store; reopen: () => Promise<Store> }): void {
  it('auth roles: insert, get by name and role_id, list per kind, ROLE_EXISTS, delete with secret_ids', async () => {
    const { store } = get();
    const ci = roleRecord('ci');
    const jwt = roleRecord('ci', { kind: 'jwt', config: { issuer: 'https://gitlab.example.org', bound_claims: { ref_protected: 'true' } } });
    await store.auth.insertRole(ci);
    await store.auth.insertRole(jwt);
    await store.auth.insertRole(roleRecord('b-role'));
    expect(await store.auth.getRole('approle', 'ci')).toEqual(ci);
    expect(await store.auth.getRole('jwt', 'ci')).toEqual(jwt);
    expect(await store.auth.getRoleByRoleId(ci.roleId)).toEqual(ci);
    expect(await store.auth.getRoleByRoleId('nope')).toBeUndefined();
    expect((await store.auth.listRoles('approle')).map((r) => r.name)).toEqual(['b-role', 'ci']);
    await expect(store.auth.insertRole(roleRecord('ci'))).rejects.toMatchObject({ code: 'ROLE_EXISTS' });
    await expect(store.auth.insertRole(roleRecord('other', { roleId: ci.roleId }))).rejects.toMatchObject({ code: 'ROLE_EXISTS' });
    await store.auth.insertSecretId(secretIdRecord('s1', 'ci'));
    expect(await store.auth.deleteRole('approle', 'ci')).toBe(true);
    expect(await store.auth.deleteRole('approle', 'ci')).toBe(false);
    expect(await store.auth.listSecretIds('ci')).toEqual([]);
    expect(await store.auth.getRole('jwt', 'ci')).toEqual(jwt);
  });

  it('auth secret_ids: single use under concurrency, bound to the role, refused once expired; persisted', async () => {
    const { store } = get();
    const once = secretIdRecord('once', 'ci');
    const twice = secretIdRecord('twice', 'ci', { usesLeft: 2 });
    await store.auth.insertSecretId(once);
    await store.auth.insertSecretId(twice);
    // Wrong role: not consumed.
    expect(await store.auth.consumeSecretId(once.secretHash, 'other', T0)).toBeUndefined();
    const results = await Promise.all(Array.from({ length: 8 }, () => store.auth.consumeSecretId(once.secretHash, 'ci', T0)));
    expect(results.filter((r) => r !== undefined)).toHaveLength(1);
    expect(results.find((r) => r !== undefined)).toEqual(once);
    expect((await store.auth.consumeSecretId(twice.secretHash, 'ci', T0))?.usesLeft).toBe(2);
    // Expired (expiresAt is exclusive) even with a use left.
    expect(await store.auth.consumeSecretId(twice.secretHash, 'ci', twice.expiresAt)).toBeUndefined();
    const reopened = await get().reopen();
    expect((await reopened.auth.listSecretIds('ci')).map((s) => [s.accessor, s.usesLeft])).toEqual([
      ['once', 0],
      ['twice', 1],
    ]);
    expect(await reopened.auth.consumeSecretId(once.secretHash, 'ci', T0)).toBeUndefined();
    expect(await reopened.auth.deleteSecretId('ci', 'twice')).toBe(true);
    expect(await reopened.auth.deleteSecretId('ci', 'twice')).toBe(false);
  });

  it('auth wrapped: taken exactly once under concurrency, sealed bytes erased, expiry, unknown', async () => {
    const { store } = get();
    const w = wrappedRecord('w1');
    await store.auth.insertWrapped(w);
    const results = await Promise.all(Array.from({ length: 6 }, () => store.auth.takeWrapped(w.tokenHash, T0 + 1000)));
    expect(results.filter((r) => r.outcome === 'ok')).toHaveLength(1);
    expect(results.filter((r) => r.outcome === 'used')).toHaveLength(5);
    const ok = results.find((r) => r.outcome === 'ok');
    expect(ok?.outcome === 'ok' && ok.record.sealed.equals(w.sealed)).toBe(true);
    const again = await (await get().reopen()).auth.takeWrapped(w.tokenHash, T0 + 2000);
    expect(again.outcome).toBe('used');
    expect(again.outcome !== 'unknown' && again.record.sealed.length).toBe(0);
    expect(again.outcome !== 'unknown' && again.record.unwrappedAt).toBe(T0 + 1000);

    const late = wrappedRecord('w2');
    const s = get().store;
    await s.auth.insertWrapped(late);
    expect((await s.auth.takeWrapped(late.tokenHash, late.expiresAt)).outcome).toBe('expired');
    expect((await s.auth.takeWrapped(late.tokenHash, T0)).outcome).toBe('expired'); // erased: no late success
    expect((await s.auth.takeWrapped(randomBytes(32), T0)).outcome).toBe('unknown');
  });

  it('auth login failures: atomic increments per scope and window; tidy drops old rows', async () => {
    const { store } = get();
    const counts = await Promise.all(Array.from({ length: 10 }, () => store.auth.recordLoginFailure('role:x@127.0.0.1', T0)));
    expect(counts.sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(await store.auth.loginFailures('role:x@127.0.0.1', T0)).toBe(10);
    expect(await store.auth.loginFailures('role:x@127.0.0.1', T0 + 300_000)).toBe(0);
    expect(await store.auth.loginFailures('source:127.0.0.1', T0)).toBe(0);
    await store.auth.insertSecretId(secretIdRecord('old', 'ci', { expiresAt: T0 }));
    await store.auth.insertSecretId(secretIdRecord('live', 'ci', { expiresAt: T0 + 10 * 86_400_000 }));
    expect(await store.auth.tidy(T0 + 2 * 86_400_000)).toBe(2);
    expect((await store.auth.listSecretIds('ci')).map((s) => s.accessor)).toEqual(['live']);
  });
}
