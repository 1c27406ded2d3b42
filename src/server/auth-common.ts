// What the AppRole routes (routes/auth.ts) and the JWT routes (routes/jwt.ts) share: name
// schemas, the audited login step, the 429 with Retry-After, the all-or-nothing role policy write.
// Route modules do not import each other (eslint.config.js): what two routes share lives here.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { SignetError } from '../errors.js';
import type { RouteContext } from './context.js';

/** The name schemas are the API contract's (src/api/schemas.ts). */
export { policyName, roleParams } from '../api/schemas.js';

/** A throttled login answers 429 with Retry-After (seconds until the failure window turns). */
export async function withRetryAfter<T>(reply: FastifyReply, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    const retry = (err as { retryAfterS?: unknown }).retryAfterS;
    if (err instanceof SignetError && err.code === 'LOGIN_RATE_LIMITED' && typeof retry === 'number') void reply.header('retry-after', String(retry));
    throw err;
  }
}

/** Store a new role's policy document; on failure remove the role just created (all or nothing). */
export async function writeRolePolicy(ctx: RouteContext, kind: 'approle' | 'jwt', name: string, yamlText: string): Promise<void> {
  try {
    await ctx.policies.write(name, yamlText);
  } catch (err) {
    await ctx.store.auth.deleteRole(kind, name).catch(() => undefined);
    throw err;
  }
}

export function loginResponse(token: string, record: { accessor: string; policies: readonly string[]; expiresAt: number | null }, now: number): Record<string, unknown> {
  return {
    token,
    accessor: record.accessor,
    policies: [...record.policies],
    ttl: record.expiresAt === null ? null : Math.max(0, Math.round((record.expiresAt - now) / 1000)),
    expires: record.expiresAt === null ? null : new Date(record.expiresAt).toISOString(),
  };
}

/**
 * Run a login or unwrap and put the outcome on the audit stream before anything is answered: a
 * credential leaves only once its issue is on record (AUDIT_UNAVAILABLE otherwise).
 */
export async function audited<T extends object>(
  ctx: RouteContext,
  request: FastifyRequest,
  action: Record<string, string>,
  run: () => Promise<T>,
): Promise<T> {
  const base = { type: 'authz' as const, action, source: ctx.source(request), request_id: request.id, route: request.routeOptions.url ?? 'unmatched' };
  let result: T;
  try {
    result = await run();
  } catch (err) {
    // A refusal is a decision and goes on record; an outage (5xx) is not one.
    if (err instanceof SignetError && err.status < 500) {
      const reason = typeof request.signetAudit?.reason === 'string' ? request.signetAudit.reason : err.code;
      ctx.audit.record({ ...base, decision: 'deny', code: err.code, reason, ...wrapFields(request) });
    }
    throw err;
  }
  // A login's result carries the issued token's record; an unwrap's does not.
  const issued = (result as { record?: { accessor: string; meta: Readonly<Record<string, string>> } }).record;
  try {
    ctx.audit.record({
      ...base,
      decision: 'allow',
      ...(issued ? { token: issued.accessor, ...(issued.meta.role !== undefined ? { role: issued.meta.role } : {}) } : {}),
      ...wrapFields(request),
    });
  } catch (err) {
    // Fail closed: the credential is not returned, and a token issued off the record is void.
    if (issued) await ctx.tokens.revoke(issued.accessor).catch(() => undefined);
    throw err;
  }
  return result;
}

function wrapFields(request: FastifyRequest): { rule?: string } {
  const a = request.signetAudit;
  return typeof a?.wrap_accessor === 'string' ? { rule: `wrap:${a.wrap_accessor}` } : {};
}
