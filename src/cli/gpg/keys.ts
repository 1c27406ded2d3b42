// Which signet key a gpg key specification names, as gpg users type it: the signet key name, a
// v4 fingerprint (spaces and 0x allowed), a long (16 hex) key ID, an email address (bare or in
// <>), or a full user ID ("Name <mail>", or "=Name <mail>" for gpg's exact match). Unlike gpg,
// there is no substring search and no "first match wins": an ambiguous or partial name is an
// error, so a typo never signs with the wrong key.
import { SignetError } from '../../errors.js';
import type { KeyInfo } from '../../client/client.js';
import { isValidName } from '../../names.js';

export type KeySummary = Pick<KeyInfo, 'name' | 'fingerprint' | 'user_id' | 'state'>;


function emailOf(userId: string): string | undefined {
  const m = /<([^<>\s]+@[^<>\s]+)>\s*$/.exec(userId);
  if (m) return m[1]!.toLowerCase();
  const bare = userId.trim();
  return /^[^<>\s]+@[^<>\s]+$/.test(bare) ? bare.toLowerCase() : undefined;
}

/** Only the active keys among several matches; one revoked and one active key is not ambiguous. */
function pick<K extends KeySummary>(spec: string, matches: K[]): K {
  if (matches.length === 1) return matches[0]!;
  if (matches.length === 0) throw new SignetError('KEY_NOT_FOUND', `no signet key matches ${JSON.stringify(spec)}`);
  const active = matches.filter((k) => k.state === 'active');
  if (active.length === 1) return active[0]!;
  throw new SignetError(
    'USAGE',
    `${JSON.stringify(spec)} matches several keys (${matches.map((k) => k.name).join(', ')}); use the key name or fingerprint`,
  );
}

export function selectKey<K extends KeySummary>(keys: readonly K[], rawSpec: string): K {
  // gpg's trailing "!" forces that exact (sub)key; signet keys have no subkeys.
  const spec = rawSpec.trim().replace(/!$/, '');
  if (spec === '') throw new SignetError('USAGE', 'empty key specification');
  const byName = keys.find((k) => k.name === spec);
  if (byName) return byName;

  const hex = spec.replace(/^0x/i, '').replace(/\s+/g, '').toUpperCase();
  if (/^[0-9A-F]+$/.test(hex) && !spec.includes('@')) {
    if (hex.length === 40 || hex.length === 64) return pick(spec, keys.filter((k) => k.fingerprint.toUpperCase() === hex));
    if (hex.length === 16) return pick(spec, keys.filter((k) => k.fingerprint.toUpperCase().endsWith(hex)));
    if (hex.length === 8) {
      throw new SignetError('USAGE', `short key IDs are ambiguous (${spec}); use the fingerprint, the long key ID or the key name`);
    }
  }
  if (spec.startsWith('=')) {
    const uid = spec.slice(1);
    return pick(spec, keys.filter((k) => k.user_id === uid));
  }
  const email = spec.startsWith('<') && spec.endsWith('>') ? spec.slice(1, -1).toLowerCase() : /^[^<>\s]+@[^<>\s]+$/.test(spec) ? spec.toLowerCase() : undefined;
  if (email !== undefined) return pick(spec, keys.filter((k) => emailOf(k.user_id) === email));
  // "Name <mail>" (what git passes when user.signingkey is unset): the whole user ID.
  if (/<[^<>]+>\s*$/.test(spec)) return pick(spec, keys.filter((k) => k.user_id.toLowerCase() === spec.toLowerCase()));
  throw new SignetError('KEY_NOT_FOUND', `no signet key matches ${JSON.stringify(spec)}`);
}

/** When the token may sign but not list keys, a spec that is a valid key name is used as is. */
export function isKeyName(spec: string): boolean {
  return isValidName(spec);
}
