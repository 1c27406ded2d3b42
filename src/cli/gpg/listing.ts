// `--list-secret-keys` / `--list-keys`, human and `--with-colons` (gpg's doc/DETAILS), enough for
// the tools that probe before signing (repo-add and makepkg run `gpg --list-secret-key KEY`).
// "Secret" keys are the server's: signet-gpg can ask for signatures with them; whether a given
// token may is the server's policy decision at signing time.
import type { KeyInfo } from '../../client/client.js';

// v6 keys (64-hex fingerprints) list with their RFC 9580 algorithm IDs, as gpg 2.5 would.
const PUBKEY_ALGO = { rsa4096: 1, ed25519: 22, 'ecdsa-p256': 19, ed448: 28, 'mldsa65-ed25519': 30, 'mldsa87-ed448': 31 } as const;
const KEY_BITS = { rsa4096: 4096, ed25519: 255, 'ecdsa-p256': 256, ed448: 448, 'mldsa65-ed25519': 255, 'mldsa87-ed448': 448 } as const;

function pubkeyAlgo(k: KeyInfo): number {
  return k.algorithm === 'ed25519' && k.fingerprint.length === 64 ? 27 : PUBKEY_ALGO[k.algorithm];
}

function epoch(iso: string): number {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? 0 : Math.floor(t / 1000);
}

function keyId(k: KeyInfo): string {
  // v4: the last 8 bytes of the fingerprint; v6: the first 8 (RFC 9580 §5.5.4.3).
  return (k.fingerprint.length === 64 ? k.fingerprint.slice(0, 16) : k.fingerprint.slice(-16)).toUpperCase();
}

/**
 * A user ID as gpg prints it in colon listings: control characters, `:` and `\\` as \xNN, so a
 * user ID (stored before imports refused control characters) can never break a line or a field.
 */
export function escapeUserId(userId: string): string {
  let out = '';
  for (const ch of userId) {
    const c = ch.charCodeAt(0);
    out += c < 0x20 || (c >= 0x7f && c <= 0x9f) || ch === ':' || ch === '\\' ? `\\x${c.toString(16).padStart(2, '0')}` : ch;
  }
  return out;
}

/** One key in gpg's colon format: sec|pub, fpr, uid. */
export function colonListing(k: KeyInfo, secret: boolean): string {
  const validity = k.state === 'active' ? 'u' : 'r';
  const created = epoch(k.created);
  const curve = k.algorithm === 'ed25519' ? 'ed25519' : k.algorithm === 'ecdsa-p256' ? 'nistp256' : '';
  const record = secret ? 'sec' : 'pub';
  // Fields (DETAILS): 1 type, 2 validity, 3 length, 4 algo, 5 keyid, 6 created, 7 expires, 8, 9
  // ownertrust, 10 uid, 11 sig class, 12 capabilities, 13-14, 15 serial/"+" for a secret key
  // available, 16 hash, 17 curve, 18 compliance, 19 updated, 20 origin.
  const head = [record, validity, KEY_BITS[k.algorithm], pubkeyAlgo(k), keyId(k), created, '', '', 'u', '', '', k.state === 'active' ? 'scSC' : 's', '', '', secret ? '+' : '', '', curve, '23', '', '0', ''];
  const lines = [head.join(':')];
  lines.push(`fpr:::::::::${k.fingerprint.toUpperCase()}:`);
  lines.push(['uid', validity, '', '', '', created, '', '', '', escapeUserId(k.user_id), '', '', '', '', '', '', '', '', '', '0', ''].join(':'));
  return `${lines.join('\n')}\n`;
}

export function humanListing(k: KeyInfo, secret: boolean): string {
  const date = new Date(epoch(k.created) * 1000).toISOString().slice(0, 10);
  const revoked = k.state === 'active' ? '' : ' [revoked]';
  return (
    `${secret ? 'sec' : 'pub'}   ${k.algorithm} ${date} [SC]${revoked}\n` +
    `      ${k.fingerprint.toUpperCase()}\n` +
    `uid           [${k.state === 'active' ? 'ultimate' : ' revoked'}] ${escapeUserId(k.user_id)}\n\n`
  );
}
