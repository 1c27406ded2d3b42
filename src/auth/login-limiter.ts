// Login-failure rate limiting, per role and source address, and per source address across roles
// (so role_ids cannot be sprayed from one host). Counters live in the Store, so they hold across
// restarts and across nodes sharing PostgreSQL. Windows are fixed (`windowMs`), and the previous
// window counts in proportion to how much of it still overlaps the last `windowMs` (a sliding
// window estimate), so a burst straddling a window edge is still limited.
// Only failures count; a throttled attempt is refused before any credential is looked at.
import { createHash } from 'node:crypto';
import { SignetError } from '../errors.js';
import type { AuthStore } from '../store/auth-types.js';

export interface LoginLimits {
  readonly windowMs: number;
  /** Failures allowed per (role, source) per window. */
  readonly perRoleAndSource: number;
  /** Failures allowed per source, all roles together, per window. */
  readonly perSource: number;
}

export const DEFAULT_LOGIN_LIMITS: LoginLimits = { windowMs: 5 * 60_000, perRoleAndSource: 5, perSource: 20 };

export interface LoginAttempt {
  /** `approle` or `jwt`. */
  readonly method: string;
  /** The role as presented (a role_id or a role name): hashed, never stored as given. */
  readonly role: string;
  /** Source address from the socket. */
  readonly source: string;
}

export class LoginLimiter {
  readonly #store: AuthStore;
  readonly #limits: LoginLimits;
  readonly #now: () => number;

  constructor(store: AuthStore, limits: LoginLimits = DEFAULT_LOGIN_LIMITS, now: () => number = Date.now) {
    this.#store = store;
    this.#limits = limits;
    this.#now = now;
  }

  #scopes(a: LoginAttempt): Array<{ scope: string; limit: number }> {
    // What the caller typed in the role field may be a secret pasted by mistake: keep a hash.
    const role = createHash('sha256').update(`${a.method}\0${a.role}`).digest('base64url').slice(0, 22);
    return [
      { scope: `role:${role}@${a.source}`, limit: this.#limits.perRoleAndSource },
      { scope: `source:${a.source}`, limit: this.#limits.perSource },
    ];
  }

  /** Throws LOGIN_RATE_LIMITED when either scope has used up its failures. */
  async check(attempt: LoginAttempt): Promise<void> {
    const now = this.#now();
    const { windowMs } = this.#limits;
    const current = Math.floor(now / windowMs) * windowMs;
    const overlap = 1 - (now - current) / windowMs;
    for (const { scope, limit } of this.#scopes(attempt)) {
      const [inCurrent, inPrevious] = await Promise.all([this.#store.loginFailures(scope, current), this.#store.loginFailures(scope, current - windowMs)]);
      if (inCurrent + Math.floor(inPrevious * overlap) >= limit) {
        const retryAfterS = Math.ceil((current + windowMs - now) / 1000);
        throw Object.assign(new SignetError('LOGIN_RATE_LIMITED', `too many failed logins; try again in ${retryAfterS}s`), { retryAfterS });
      }
    }
  }

  async recordFailure(attempt: LoginAttempt): Promise<void> {
    const windowStart = Math.floor(this.#now() / this.#limits.windowMs) * this.#limits.windowMs;
    for (const { scope } of this.#scopes(attempt)) await this.#store.recordLoginFailure(scope, windowStart);
  }
}
