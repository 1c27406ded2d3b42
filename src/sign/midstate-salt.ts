// Server-issued salts for v6 midstate signing (docs/midstate.md "v6 keys"). A v6 signature hashes
// its salt before the data (RFC 9580 §5.2.4), so the client must know the salt before it hashes:
// the server issues one (POST /v1/sign/:key/midstate/salt) as a token it can check without
// storing it: salt ‖ key ‖ hash ‖ expiry, MAC'd with a key derived from the master key (the same
// on every node). A token is good for one signature, for `SALT_TTL_MS`, for its key and hash;
// a reused, expired, edited or forged token is refused (MIDSTATE_INVALID). Single use is tracked
// in this node's memory until the token expires.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { SignetError } from '../errors.js';
import { newSalt, type HashAlgorithm } from '../openpgp/index.js';

export const SALT_TTL_MS = 5 * 60 * 1000;

export interface IssuedSalt {
  readonly salt: Buffer;
  readonly token: string;
  readonly expiresAt: number;
}

function invalid(why: string): SignetError {
  return new SignetError('MIDSTATE_INVALID', `salt token ${why}`);
}

export class SaltIssuer {
  readonly #macKey: Buffer;
  readonly #now: () => number;
  /** Tokens redeemed on this node, by MAC, until they expire. */
  readonly #used = new Map<string, number>();

  constructor(macKey: Buffer, now: () => number = Date.now) {
    if (macKey.length < 32) throw new SignetError('INTERNAL', 'salt MAC key too short');
    this.#macKey = macKey;
    this.#now = now;
  }

  #mac(payload: Buffer): Buffer {
    return createHmac('sha256', this.#macKey).update(payload).digest();
  }

  issue(key: string, hash: HashAlgorithm): IssuedSalt {
    const salt = newSalt(hash);
    const expiresAt = this.#now() + SALT_TTL_MS;
    // payload: nonce (16) ‖ expiry (8) ‖ salt length (1) ‖ salt ‖ hash ‖ 0 ‖ key name
    const head = Buffer.alloc(25);
    randomBytes(16).copy(head, 0);
    head.writeBigUInt64BE(BigInt(expiresAt), 16);
    head[24] = salt.length;
    const payload = Buffer.concat([head, salt, Buffer.from(`${hash}\0${key}`, 'utf8')]);
    return { salt, expiresAt, token: `${payload.toString('base64url')}.${this.#mac(payload).toString('base64url')}` };
  }

  /** The salt of a valid token for this key and hash; the token is spent. */
  redeem(token: string, key: string, hash: string): Buffer {
    const [p, m, extra] = token.split('.');
    if (p === undefined || m === undefined || extra !== undefined) throw invalid('is malformed');
    const payload = Buffer.from(p, 'base64url');
    const mac = Buffer.from(m, 'base64url');
    const expected = this.#mac(payload);
    if (payload.toString('base64url') !== p || mac.length !== expected.length || !timingSafeEqual(mac, expected)) throw invalid('is not one this server issued');
    if (payload.length < 26) throw invalid('is malformed');
    const expiresAt = Number(payload.readBigUInt64BE(16));
    const saltLength = payload[24]!;
    const salt = payload.subarray(25, 25 + saltLength);
    const [tokenHash, tokenKey] = payload.subarray(25 + saltLength).toString('utf8').split('\0');
    const now = this.#now();
    if (now > expiresAt) throw invalid('has expired; ask for a new salt');
    if (tokenKey !== key || tokenHash !== hash) throw invalid('was issued for another key or hash');
    for (const [id, until] of this.#used) if (until < now) this.#used.delete(id);
    const id = m;
    if (this.#used.has(id)) throw invalid('was used already; ask for a new salt');
    this.#used.set(id, expiresAt);
    return Buffer.from(salt);
  }
}
