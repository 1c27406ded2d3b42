// Renewable tokens, for long-running clients (a timer that re-signs a repository, a build
// daemon), after Vault's token renewal: a renewable token carries its TTL (the default
// increment) and a hard end, its max TTL; `renew-self` moves its expiry to now + increment,
// never past that end and never earlier than it already is. A token that stops being renewed
// expires as any other; at its end the client logs in again.
//
// Kept beside tokens.ts, not in it: the three fields live in the token's meta
// (`renewable`, `ttl_ms`, `max_expires`), so records, stores and views need nothing new.
import { SignetError } from '../errors.js';
import type { Store, TokenRecord } from '../store/types.js';

export const RENEWABLE_META = 'renewable';
export const TTL_META = 'ttl_ms';
export const MAX_EXPIRES_META = 'max_expires';

/** The meta of a renewable token made now with these TTLs. */
export function renewableMeta(ttlMs: number, maxTtlMs: number, now: number): Record<string, string> {
  return { [RENEWABLE_META]: 'true', [TTL_META]: String(ttlMs), [MAX_EXPIRES_META]: String(now + maxTtlMs) };
}

export interface Renewal {
  readonly record: TokenRecord;
  readonly expiresAt: number;
  readonly maxExpiresAt: number;
  /** The expiry stopped at the max TTL (the client must log in again before then). */
  readonly capped: boolean;
}

/** Renews `record` (the caller's own, already authenticated) by `incrementMs` or its TTL. */
export async function renewToken(store: Store, record: TokenRecord, incrementMs: number | undefined, now: number): Promise<Renewal> {
  const maxExpiresAt = Number(record.meta[MAX_EXPIRES_META]);
  const ttlMs = Number(record.meta[TTL_META]);
  if (record.meta[RENEWABLE_META] !== 'true' || record.expiresAt === null || !Number.isSafeInteger(maxExpiresAt) || !Number.isSafeInteger(ttlMs)) {
    throw new SignetError('TOKEN_NOT_RENEWABLE', 'this token is not renewable (create it with --renewable, or log in again)');
  }
  const wanted = now + (incrementMs ?? ttlMs);
  const expiresAt = Math.max(record.expiresAt, Math.min(wanted, maxExpiresAt));
  if (expiresAt > record.expiresAt && !(await store.extendToken(record.accessor, expiresAt, now))) {
    // Revoked or expired between authentication and now.
    throw new SignetError('TOKEN_REVOKED', 'the token is no longer valid');
  }
  return { record, expiresAt, maxExpiresAt, capped: wanted > maxExpiresAt };
}
