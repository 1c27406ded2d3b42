// Who a token is for approvals: AppRole role, JWT subject (role without one), or the token's name.
import { describe, expect, it } from 'vitest';
import type { TokenRecord } from '../store/types.js';
import { identityOf } from './approvals.js';

const token = (displayName: string, meta: Record<string, string>): TokenRecord => ({
  accessor: 'a',
  tokenHash: Buffer.alloc(32),
  policies: [],
  displayName,
  createdAt: 0,
  expiresAt: null,
  revokedAt: null,
  parentAccessor: null,
  meta,
});

describe('identityOf', () => {
  it('names AppRole tokens by role, JWT tokens by subject, other tokens by display name', () => {
    expect(identityOf(token('approle', { auth: 'approle', role: 'release-ci' }))).toBe('release-ci');
    expect(identityOf(token('jwt gh', { auth: 'jwt', role: 'gh', sub: 'alice@example.org' }))).toBe('alice@example.org');
    expect(identityOf(token('jwt gh', { auth: 'jwt', role: 'gh' }))).toBe('gh');
    expect(identityOf(token('bob', {}))).toBe('bob');
  });
});
