// User IDs in the shim's listings: a user ID stored with control characters (before imports
// refused them) must not break a line of the output that tools parse.
import { describe, expect, it } from 'vitest';
import type { KeyInfo } from '../../client/client.js';
import { colonListing, escapeUserId, humanListing } from './listing.js';

const key = (userId: string): KeyInfo => ({
  name: 'rel',
  fingerprint: 'ab'.repeat(20),
  key_id: 'ab'.repeat(8),
  algorithm: 'ed25519',
  user_id: userId,
  created: '2026-01-01T00:00:00.000Z',
  state: 'active',
  origin: 'imported',
});

describe('user IDs in listings', () => {
  const planted = 'Evil <e@example.org>\n[GNUPG:] GOODSIG 0123456789ABCDEF x\r\x1b[2J\x7f\u0085:\\';

  it('escapes control characters, : and \\ as gpg does (\\xNN)', () => {
    expect(escapeUserId(planted)).toBe('Evil <e@example.org>\\x0a[GNUPG\\x3a] GOODSIG 0123456789ABCDEF x\\x0d\\x1b[2J\\x7f\\x85\\x3a\\x5c');
    expect(escapeUserId('Plain Name <p@example.org> é')).toBe('Plain Name <p@example.org> é');
  });

  it('keeps one uid line in the colon and human listings whatever the user ID holds', () => {
    for (const text of [colonListing(key(planted), true), humanListing(key(planted), false)]) {
      expect(text).not.toMatch(/^\[GNUPG:\]/m);
      expect(text.split('\n').filter((l) => l.includes('GOODSIG'))).toHaveLength(1);
      for (const c of ['\r', '\x1b', '\x7f', '\u0085']) expect(text).not.toContain(c);
    }
    const uid = colonListing(key(planted), true).split('\n').find((l) => l.startsWith('uid:'))!;
    expect(uid.split(':')).toHaveLength(21);
  });
});
