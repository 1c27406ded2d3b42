// AppRole (Vault's model): a role has a public role_id; an operator issues secret_ids for it
// (single use and short-lived by default); a login with role_id + secret_id returns a token bound
// to the role's policies, with the role's token TTL. Failures say nothing about which half was
// wrong (LOGIN_FAILED), and count towards the login rate limit.
import { SignetError } from '../errors.js';
import { CidrError, CidrSet, parseCidr } from '../policy/cidr.js';
import type { Secret } from '../secret.js';
import type { RoleRecord, SecretIdRecord } from '../store/auth-types.js';
import type { Store, TokenRecord } from '../store/types.js';
import { MAX_CREDENTIAL_LENGTH, SECRET_ID_PREFIX, credentialHash, newAccessor, newCredential, newRoleId, sameHash, wellFormed } from './credentials.js';
import type { LoginLimiter } from './login-limiter.js';
import type { TokenService } from './tokens.js';
import { NAME_PATTERN, isValidName, nameRule } from '../names.js';

export const APPROLE_DEFAULTS = {
  tokenTtlMs: 20 * 60_000,
  secretIdTtlMs: 10 * 60_000,
  secretIdUses: 1,
} as const;

import { APPROLE_BOUNDS } from '../api/limits.js';
export { APPROLE_BOUNDS };

const TIDY_EVERY_MS = 10 * 60_000;

/** Role names: the one name rule (src/names.ts); names end up in paths, logs and policy text. */
export const ROLE_NAME_PATTERN = NAME_PATTERN;

export interface RoleOptions {
  readonly policies: readonly string[];
  readonly tokenTtlMs?: number;
  readonly secretIdTtlMs?: number;
  readonly secretIdUses?: number;
  /** Source blocks every login of the role must come from (socket address); empty = any. */
  readonly boundCidrs?: readonly string[];
}

export interface AppRoleConfig {
  readonly secret_id_ttl_ms: number;
  readonly secret_id_uses: number;
  readonly bound_cidrs?: readonly string[];
}

const MAX_CIDRS = 32;

/** Parse and normalise CIDR blocks (BAD_REQUEST naming the bad one). */
export function checkCidrs(texts: readonly string[], what: string): string[] {
  if (texts.length > MAX_CIDRS) throw new SignetError('BAD_REQUEST', `${what}: at most ${MAX_CIDRS} blocks`);
  return texts.map((t) => {
    try {
      return parseCidr(t).source;
    } catch (err) {
      if (err instanceof CidrError) throw new SignetError('BAD_REQUEST', `${what}: ${JSON.stringify(t)}: ${err.message}`);
      throw err;
    }
  });
}

function allows(cidrs: readonly string[] | undefined, source: string): boolean {
  return cidrs === undefined || cidrs.length === 0 || CidrSet.parse(cidrs).matches(source);
}

export interface IssuedSecretId {
  readonly secretId: Secret;
  readonly record: SecretIdRecord;
}

export class AppRoleService {
  readonly #store: Store;
  readonly #tokens: TokenService;
  readonly #limiter: LoginLimiter;
  readonly #now: () => number;
  #lastTidy = -Infinity;

  constructor(store: Store, tokens: TokenService, limiter: LoginLimiter, now: () => number = Date.now) {
    this.#store = store;
    this.#tokens = tokens;
    this.#limiter = limiter;
    this.#now = now;
  }

  async createRole(name: string, options: RoleOptions): Promise<RoleRecord> {
    checkRoleName(name);
    const boundCidrs = checkCidrs(options.boundCidrs ?? [], 'bound_cidrs');
    const config: AppRoleConfig = {
      secret_id_ttl_ms: options.secretIdTtlMs ?? APPROLE_DEFAULTS.secretIdTtlMs,
      secret_id_uses: options.secretIdUses ?? APPROLE_DEFAULTS.secretIdUses,
      ...(boundCidrs.length > 0 ? { bound_cidrs: boundCidrs } : {}),
    };
    const role: RoleRecord = {
      kind: 'approle',
      name,
      roleId: newRoleId(),
      policies: [...new Set(options.policies)],
      tokenTtlMs: options.tokenTtlMs ?? APPROLE_DEFAULTS.tokenTtlMs,
      config: { ...config },
      createdAt: this.#now(),
    };
    await this.#store.auth.insertRole(role);
    return role;
  }

  async getRole(name: string): Promise<RoleRecord> {
    const role = ROLE_NAME_PATTERN.test(name) ? await this.#store.auth.getRole('approle', name) : undefined;
    if (!role) throw new SignetError('ROLE_NOT_FOUND', `no role named ${name}`);
    return role;
  }

  listRoles(): Promise<RoleRecord[]> {
    return this.#store.auth.listRoles('approle');
  }

  /** Deletes the role and its secret_ids, and revokes the tokens its logins issued. */
  async deleteRole(name: string): Promise<{ revokedTokens: number }> {
    await this.getRole(name);
    if (!(await this.#store.auth.deleteRole('approle', name))) throw new SignetError('ROLE_NOT_FOUND', `no role named ${name}`);
    let revokedTokens = 0;
    for (const t of await this.#store.listTokens()) {
      if (t.meta.auth === 'approle' && t.meta.role === name && t.revokedAt === null) {
        revokedTokens += (await this.#tokens.revoke(t.accessor)).length;
      }
    }
    return { revokedTokens };
  }

  /** `cidrs`: source blocks this secret_id may log in from (in addition to the role's). */
  async issueSecretId(name: string, options: { ttlMs?: number; uses?: number; cidrs?: readonly string[] } = {}): Promise<IssuedSecretId> {
    const cidrs = checkCidrs(options.cidrs ?? [], 'cidrs');
    const role = await this.getRole(name);
    const config = role.config as unknown as AppRoleConfig;
    const secretId = newCredential(SECRET_ID_PREFIX);
    const createdAt = this.#now();
    const record: SecretIdRecord = {
      accessor: newAccessor(),
      roleName: role.name,
      secretHash: credentialHash(secretId),
      usesLeft: options.uses ?? config.secret_id_uses,
      expiresAt: createdAt + (options.ttlMs ?? config.secret_id_ttl_ms),
      createdAt,
      cidrs,
    };
    await this.#store.auth.insertSecretId(record);
    // Housekeeping rides on issuing: used-up and expired secret_ids, old wrapped rows and old
    // failure windows go, at most every 10 minutes per process.
    if (createdAt - this.#lastTidy >= TIDY_EVERY_MS) {
      this.#lastTidy = createdAt;
      await this.#store.auth.tidy(createdAt);
    }
    return { secretId, record };
  }

  async listSecretIds(name: string): Promise<SecretIdRecord[]> {
    await this.getRole(name);
    return this.#store.auth.listSecretIds(name);
  }

  async destroySecretId(name: string, accessor: string): Promise<void> {
    await this.getRole(name);
    if (!(await this.#store.auth.deleteSecretId(name, accessor))) throw new SignetError('NOT_FOUND', 'no secret_id with that accessor');
  }

  /** role_id + secret_id -> a token with the role's policies and TTL. */
  async login(roleId: string, secretId: string, source: string): Promise<{ token: Secret; record: TokenRecord }> {
    const attempt = { method: 'approle', role: roleId.slice(0, MAX_CREDENTIAL_LENGTH), source };
    await this.#limiter.check(attempt);
    const role = roleId.length <= 64 ? await this.#store.auth.getRoleByRoleId(roleId) : undefined;
    let used: SecretIdRecord | undefined;
    // The role's blocks are checked before the secret_id is touched (a login from elsewhere does
    // not consume it); a secret_id's own blocks after (a stolen one used from elsewhere is spent).
    const roleAllows = role !== undefined && allows((role.config as unknown as AppRoleConfig).bound_cidrs, source);
    if (role && roleAllows && role.kind === 'approle' && wellFormed(SECRET_ID_PREFIX, secretId)) {
      const hash = credentialHash(secretId);
      used = await this.#store.auth.consumeSecretId(hash, role.name, this.#now());
      if (used && (!sameHash(used.secretHash, hash) || !allows(used.cidrs, source))) used = undefined;
    }
    if (!role || !used) {
      await this.#limiter.recordFailure(attempt);
      throw new SignetError('LOGIN_FAILED', 'invalid role_id or secret_id');
    }
    return this.#tokens.issue({
      policies: role.policies,
      displayName: `approle ${role.name}`,
      ttlMs: role.tokenTtlMs,
      meta: { auth: 'approle', role: role.name, source, secret_id_accessor: used.accessor },
    });
  }
}

export function checkRoleName(name: string): void {
  if (!isValidName(name)) throw new SignetError('NAME_INVALID', nameRule('role'));
}
