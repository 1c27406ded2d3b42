// Random credentials handed out once (secret_ids, wrapping tokens; tokens in tokens.ts) and the
// only forms they are kept in: a SHA-256 hash to look them up by. 256 random bits, so a plain
// hash is enough (no salt or slow hash: there is nothing to guess). Each kind has its own prefix,
// which makes a leaked credential greppable and stops one kind from being accepted as another.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Secret, constantTimeEqual } from '../secret.js';

export const SECRET_ID_PREFIX = 'sgs.';
export const WRAPPING_TOKEN_PREFIX = 'sgw.';

const BODY = /^[A-Za-z0-9_-]{43}$/;
/** Longest presented credential we even hash. */
export const MAX_CREDENTIAL_LENGTH = 256;

export function newCredential(prefix: string): Secret {
  return new Secret(prefix + randomBytes(32).toString('base64url'));
}

/** True when `presented` has the shape of a credential of this kind (no secret-dependent branch). */
export function wellFormed(prefix: string, presented: string): boolean {
  return presented.length === prefix.length + 43 && presented.startsWith(prefix) && BODY.test(presented.slice(prefix.length));
}

export function credentialHash(secret: Secret | string): Buffer {
  const bytes = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret.reveal();
  return createHash('sha256').update(bytes).digest();
}

/** A record found by hash must carry exactly that hash; compared in constant time. */
export function sameHash(stored: Uint8Array, computed: Uint8Array): boolean {
  return constantTimeEqual(stored, computed);
}

/** Public handles (accessors) and role_ids: random, not secret. An accessor is 96 random bits
 *  in lowercase hex: people type it as a command argument (`signet token revoke ACCESSOR`), where
 *  base64url's leading `-` (1 in 64) would read as an option. */
export function newAccessor(): string {
  return randomBytes(12).toString('hex');
}

export function newRoleId(): string {
  return randomUUID();
}
