// The PolicyAuthorizer on a real (SQLite) store with a controllable clock: every deny dimension,
// admin, unions, rate windows and their fallbacks, cache revalidation, broken stored policies.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import type { TokenRecord } from '../store/types.js';
import { PolicyAuthorizer, type Action } from './authorize.js';
import { PolicyService } from './service.js';

function tok(policies: string[], role?: string): TokenRecord {
  return {
    accessor: 'acc',
    tokenHash: Buffer.alloc(32),
    policies,
    displayName: 'test token',
    createdAt: 0,
    expiresAt: null,
    revokedAt: null,
    parentAccessor: null,
    meta: role ? { role } : {},
  };
}

const sign = (over: Partial<Extract<Action, { op: 'sign' }>> = {}): Action => ({ op: 'sign', key: 'rel', kind: 'rpm', name: 'pkg-a', mode: 'content', ...over });
const here = { source: '10.1.2.3' };

describe('PolicyAuthorizer', () => {
  let dir: string;
  let store: SqliteStore;
  let now: number;
  let policies: PolicyService;
  let authz: PolicyAuthorizer;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'signet-authz-'));
    store = SqliteStore.open(join(dir, 's.db'));
    await store.migrate();
    now = 1_700_000_000_000;
    policies = new PolicyService(store, { now: () => now, revalidateMs: 1000 });
    authz = new PolicyAuthorizer(policies, store.policies, () => now);
  });

  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function denied(token: TokenRecord, action: Action, context = here): Promise<{ code: string; message: string }> {
    try {
      await authz.authorize(token, action, context);
    } catch (err) {
      return err as { code: string; message: string };
    }
    throw new Error('allowed');
  }

  it('names the first missing grant: key, kind, name, mode, source', async () => {
    await policies.write('ci', "rules: [{keys: [rel], kinds: [rpm], names: ['pkg-*'], cidrs: [10.0.0.0/8], mode: [content]}]");
    await policies.write('others', "rules: [{keys: [secret-key], kinds: [git], names: ['classified-*']}]");
    const t = tok(['ci'], 'ci');
    expect(await authz.authorize(t, sign(), here)).toEqual({ rule: 'ci#0' });
    const cases: Array<[Action, string, string]> = [
      [sign({ key: 'b' }), here.source, 'role ci may not use key b'],
      [sign({ kind: 'git' }), here.source, 'role ci may not use key rel for git'],
      [sign({ name: 'evil' }), here.source, 'role ci may not sign "evil" with key rel for rpm'],
      [sign({ mode: 'midstate' }), here.source, 'role ci may not use midstate mode with key rel'],
      [sign(), '192.0.2.1', 'role ci may not use key rel from 192.0.2.1'],
      [sign(), 'garbage', 'role ci may not use key rel from garbage'],
    ];
    for (const [action, source, message] of cases) {
      const err = await denied(t, action, { source });
      expect(err.code).toBe('POLICY_DENIED');
      expect(err.message).toBe(message);
    }
    expect((await denied(tok(['ci']), { op: 'admin', what: 'create keys' })).message).toBe('token test token may not create keys (admin policy required)');
  });

  it('admin may do everything; no policies, unknown names and an empty list grant nothing', async () => {
    expect(await authz.authorize(tok(['admin']), sign({ key: 'anything', kind: 'git' }), here)).toEqual({ rule: 'admin' });
    expect(await authz.authorize(tok(['admin']), { op: 'admin' }, here)).toEqual({ rule: 'admin' });
    for (const t of [tok([]), tok(['nope']), tok(['nope', 'also-nope'])]) {
      expect((await denied(t, sign())).code).toBe('POLICY_DENIED');
      expect((await denied(t, { op: 'keys.read', key: 'rel' })).code).toBe('POLICY_DENIED');
      expect(await authz.permits(t, { op: 'keys.read', key: 'rel' }, here)).toBe(false);
    }
  });

  it('uses an unlimited granting rule before a rated one, then the next rated rule with room', async () => {
    await policies.write('mix', 'rules: [{keys: [rel], kinds: [rpm], rate: 1/1h}, {keys: [rel], kinds: [rpm], rate: 2/1h}]');
    const t = tok(['mix']);
    expect((await authz.authorize(t, sign(), here)).rule).toBe('mix#0');
    expect((await authz.authorize(t, sign(), here)).rule).toBe('mix#1');
    expect((await authz.authorize(t, sign(), here)).rule).toBe('mix#1');
    const limited = await denied(t, sign());
    expect(limited.code).toBe('RATE_LIMITED');
    expect(limited.message).toContain(new Date(now + 3_600_000).toISOString());
    // permits() never counts.
    expect(await authz.permits(t, sign(), here)).toBe(true);
    now += 3_600_000;
    expect((await authz.authorize(t, sign(), here)).rule).toBe('mix#0');

    await policies.write('free', 'rules: [{keys: [rel], kinds: [rpm]}]');
    const both = tok(['mix', 'free']);
    for (let i = 0; i < 5; i++) expect((await authz.authorize(both, sign(), here)).rule).toBe('free#0');
  });

  it('sees a change made by another node after the revalidation time, and a broken stored policy grants nothing', async () => {
    await policies.write('ci', 'rules: [{keys: [rel], kinds: [rpm]}]');
    const t = tok(['ci']);
    expect((await authz.authorize(t, sign(), here)).rule).toBe('ci#0');
    // Another node narrows the policy directly in the shared store.
    await store.policies.put('ci', 'rules: [{keys: [rel], kinds: [sums]}]', now);
    now += 999;
    expect((await authz.authorize(t, sign(), here)).rule).toBe('ci#0');
    now += 1;
    expect((await denied(t, sign())).code).toBe('POLICY_DENIED');
    // A stored text that does not parse (written by a newer or older version) denies.
    await store.policies.put('ci', 'rules: [{keys: [rel], kinds: [rpm], future_field: 1}]', now);
    now += 1000;
    expect((await denied(t, sign())).code).toBe('POLICY_DENIED');
    // Deleted elsewhere: denied after revalidation.
    await policies.write('ci', 'rules: [{keys: [rel], kinds: [rpm]}]');
    await store.policies.delete('ci');
    expect((await authz.authorize(t, sign(), here)).rule).toBe('ci#0');
    now += 1000;
    expect((await denied(t, sign())).code).toBe('POLICY_DENIED');
  });

  it('reads keys a rule names (globs too), nothing else', async () => {
    await policies.write('ci', "rules: [{keys: ['rel-*'], kinds: [rpm], cidrs: [10.0.0.0/8]}]");
    const t = tok(['ci']);
    expect(await authz.permits(t, { op: 'keys.read', key: 'rel-2025' }, here)).toBe(true);
    expect(await authz.permits(t, { op: 'keys.read', key: 'rel' }, here)).toBe(false);
    expect((await denied(t, { op: 'keys.read', key: 'other' })).message).toBe('token test token may not read key other');
  });

  it('vet is its own grant, and the least demanding granting rule is used', async () => {
    await policies.write('vetter', "rules: [{kinds: [vet], names: ['nova-*']}]");
    await policies.write('signer', 'rules: [{keys: [rel], kinds: [detached]}]');
    await policies.write('gated', 'rules: [{keys: [rel], kinds: [detached], requires: [vetted], approvals: {required: 1, from: [a]}}, {keys: [rel], kinds: [detached], names: [open-*]}]');
    expect(await authz.authorize(tok(['vetter']), { op: 'vet', name: 'nova-1.tar.gz' }, here)).toEqual({ rule: 'vetter#0' });
    expect((await denied(tok(['vetter']), { op: 'vet', name: 'glance-1.tar.gz' })).code).toBe('POLICY_DENIED');
    // A signing grant is no vetting grant, and a vetting grant signs nothing.
    expect((await denied(tok(['signer']), { op: 'vet', name: 'nova-1.tar.gz' })).message).toBe('token test token may not submit vetting records for "nova-1.tar.gz"');
    expect((await denied(tok(['vetter']), sign({ kind: 'detached', name: 'nova-1.tar.gz' }))).code).toBe('POLICY_DENIED');
    const gated = await authz.authorize(tok(['gated']), sign({ kind: 'detached', name: 'x' }), here);
    expect(gated).toMatchObject({ rule: 'gated#0', vetted: true, approvals: { required: 1, from: ['a'] } });
    expect(await authz.authorize(tok(['gated']), sign({ kind: 'detached', name: 'open-1' }), here)).toEqual({ rule: 'gated#1' });
  });
});
