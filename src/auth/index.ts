// The auth services the server wires together (one clock for all, so tests can move time).
import type { Store } from '../store/types.js';
import { AppRoleService } from './approle.js';
import { JwtService } from './jwt.js';
import { DEFAULT_LOGIN_LIMITS, LoginLimiter, type LoginLimits } from './login-limiter.js';
import type { TokenService } from './tokens.js';
import { WrappingService } from './wrapping.js';

export interface AuthServices {
  readonly approle: AppRoleService;
  readonly wrapping: WrappingService;
  readonly jwt: JwtService;
  readonly limiter: LoginLimiter;
  readonly now: () => number;
}

export interface AuthOptions {
  readonly now?: () => number;
  readonly loginLimits?: LoginLimits;
}

export function createAuthServices(store: Store, tokens: TokenService, options: AuthOptions = {}): AuthServices {
  const now = options.now ?? Date.now;
  const limiter = new LoginLimiter(store.auth, options.loginLimits ?? DEFAULT_LOGIN_LIMITS, now);
  return {
    approle: new AppRoleService(store, tokens, limiter, now),
    wrapping: new WrappingService(store, now),
    jwt: new JwtService(store, tokens, limiter, now),
    limiter,
    now,
  };
}
