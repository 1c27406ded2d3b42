// Approval requests on every engine: one decision per identity, exactly one transition to
// approved under concurrent approvers, rejection and expiry close a request, a request is used once.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NewApprovalRequest } from '../../src/store/approval-types.js';
import type { StoreFixture } from './fixtures.js';

const request = (id: string, over: Partial<NewApprovalRequest> = {}): NewApprovalRequest => ({
  id,
  requesterIdentity: 'ci',
  requesterAccessor: 'acc-ci',
  key: 'rel',
  kind: 'detached',
  name: 'nova-1.0.0.tar.gz',
  mode: 'content',
  digestAlg: 'sha256',
  digestHex: 'ab'.repeat(32),
  packages: null,
  rule: 'rel#0',
  required: 2,
  approvers: ['alice', 'bob', 'carol'],
  createdAt: 1000,
  expiresAt: 10_000,
  ...over,
});

export function defineApprovalStoreSuite(engine: string, makeFixture: () => Promise<StoreFixture>): void {
  describe(`approval store: ${engine}`, () => {
    let f: StoreFixture;
    beforeEach(async () => {
      f = await makeFixture();
      await f.store.migrate();
    });
    afterEach(async () => {
      await f.cleanup();
    });

    it('three approvers at once on a 2-of-3 request: one transition to approved, used exactly once', async () => {
      const a = f.store.approvals;
      const id = '0'.repeat(31) + '1';
      await a.createRequest(request(id));
      const results = await Promise.allSettled(['alice', 'bob', 'carol'].map((identity) => a.decide(id, { identity, decision: 'approve', comment: null, at: 2000 })));
      const ok = results.filter((r) => r.status === 'fulfilled');
      // Two approvals close it; the third finds it approved.
      expect(ok).toHaveLength(2);
      expect(results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason.code)).toEqual(['REQUEST_CLOSED']);
      const after = await a.getRequest(id);
      expect(after?.state).toBe('approved');
      expect(after?.decisions).toHaveLength(2);
      const consumed = await Promise.all([a.consume(id), a.consume(id), a.consume(id)]);
      expect(consumed.filter(Boolean)).toHaveLength(1);
      expect((await a.getRequest(id))?.state).toBe('signed');
    });

    it('refuses a second decision by the same identity, a decision after expiry, and anything after a rejection', async () => {
      const a = f.store.approvals;
      const id = '0'.repeat(31) + '2';
      await a.createRequest(request(id));
      await a.decide(id, { identity: 'alice', decision: 'approve', comment: 'ok', at: 2000 });
      await expect(a.decide(id, { identity: 'alice', decision: 'approve', comment: null, at: 2001 })).rejects.toMatchObject({ code: 'APPROVAL_DUPLICATE' });
      await expect(a.decide(id, { identity: 'bob', decision: 'approve', comment: null, at: 10_000 })).rejects.toMatchObject({ code: 'REQUEST_EXPIRED' });
      expect((await a.decide(id, { identity: 'carol', decision: 'reject', comment: 'no', at: 3000 })).state).toBe('rejected');
      await expect(a.decide(id, { identity: 'bob', decision: 'approve', comment: null, at: 3001 })).rejects.toMatchObject({ code: 'REQUEST_CLOSED' });
      expect(await a.consume(id)).toBe(false);
      await expect(a.decide('f'.repeat(32), { identity: 'bob', decision: 'approve', comment: null, at: 1 })).rejects.toMatchObject({ code: 'REQUEST_NOT_FOUND' });
      const pending = await a.listRequests({ pending: true, now: 3000, limit: 10 });
      expect(pending).toEqual([]);
      expect((await a.listRequests({ pending: false, now: 3000, limit: 10 })).map((r) => r.id)).toEqual([id]);
    });

    it('indexes vetting records by digest: only passing ones, newest first', async () => {
      const a = f.store.approvals;
      await a.recordVetting('cd'.repeat(32), 3, 'pass', 1);
      await a.recordVetting('cd'.repeat(32), 5, 'fail', 2);
      await a.recordVetting('cd'.repeat(32), 9, 'pass', 3);
      expect(await a.passingVettings('cd'.repeat(32))).toEqual([9, 3]);
      expect(await a.passingVettings('ef'.repeat(32))).toEqual([]);
    });
  });
}
