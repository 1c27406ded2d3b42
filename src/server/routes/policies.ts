// Policy management (admin only):
//   PUT    /v1/sys/policies/:name   {policy: "<YAML text>"}  -> the stored policy (all or nothing)
//   GET    /v1/sys/policies                                 -> {policies: [{name, builtin, rules, updated}]}
//   GET    /v1/sys/policies/:name                           -> {name, builtin, policy, rules, created, updated}
//   DELETE /v1/sys/policies/:name                           -> {deleted: name}
// and POST /v1/auth/token/create {policies, ttl?, display_name?, renewable?, max_ttl?} (admin
// only): a token bound to the given policy names, for operators, long-running clients and tests
// (roles issue theirs through login); POST /v1/auth/token/renew-self {increment?} renews the
// caller's own renewable token up to its max TTL (src/auth/renew.ts).
import { audited } from '../auth-common.js';
import { MAX_EXPIRES_META, renewableMeta, renewToken } from '../../auth/renew.js';
import { ADMIN_POLICY } from '../../policy/authorize.js';
import { createTokenBody, policyParams, renewBody, TOKEN_TTL as DURATION, writePolicyBody as writeBody } from '../../api/schemas.js';
import { POLICY_NAME } from '../../policy/document.js';
import { nameRule } from '../../names.js';
import type { PolicyView } from '../../policy/service.js';
import { SignetError } from '../../errors.js';
import type { RouteModule } from '../context.js';
import { parse } from '../validation.js';

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
/** Longest TTL for a token made here (a role's login has its own). */
const MAX_TOKEN_TTL_MS = 32 * 86_400_000;
/** Longest life of a renewable token (renewed up to it, then the client logs in again). */
const MAX_RENEWABLE_LIFE_MS = 366 * 86_400_000;
const durationMs = (d: string): number => {
  const m = DURATION.exec(d)!;
  return Number(m[1]) * UNIT_MS[m[2]!]!;
};

function policyName(params: unknown): string {
  const { name } = parse(policyParams, params, 'BAD_REQUEST');
  if (!POLICY_NAME.test(name)) throw new SignetError('POLICY_INVALID', `name: ${nameRule('policy')}`);
  return name;
}

function summary(p: PolicyView): Record<string, unknown> {
  return {
    name: p.name,
    builtin: p.builtin,
    rules: p.rules,
    ...(p.updatedAt !== null ? { updated: new Date(p.updatedAt).toISOString() } : {}),
  };
}

function full(p: PolicyView): Record<string, unknown> {
  return {
    ...summary(p),
    policy: p.text,
    ...(p.createdAt !== null ? { created: new Date(p.createdAt).toISOString() } : {}),
  };
}

export const policyRoutes: RouteModule = (app, ctx) => {
  app.put('/v1/sys/policies/:name', async (request) => {
    await ctx.authorize(request, { op: 'admin', what: 'write policies' });
    const name = policyName(request.params);
    const body = parse(writeBody, request.body, 'BODY_INVALID');
    const written = await ctx.policies.write(name, body.policy);
    request.signetAudit = { event: 'policy.write', policy: name, rules: written.rules };
    return full(written);
  });

  app.get('/v1/sys/policies', async (request) => {
    await ctx.authorize(request, { op: 'admin', what: 'list policies' });
    return { policies: (await ctx.policies.list()).map(summary) };
  });

  app.get('/v1/sys/policies/:name', async (request) => {
    await ctx.authorize(request, { op: 'admin', what: 'read policies' });
    return full(await ctx.policies.read(policyName(request.params)));
  });

  app.delete('/v1/sys/policies/:name', async (request) => {
    await ctx.authorize(request, { op: 'admin', what: 'delete policies' });
    const name = policyName(request.params);
    await ctx.policies.delete(name);
    request.signetAudit = { event: 'policy.delete', policy: name };
    return { deleted: name };
  });

  app.post('/v1/auth/token/create', async (request, reply) => {
    const parent = await ctx.authorize(request, { op: 'admin', what: 'create tokens' });
    const body = parse(createTokenBody, request.body, 'BODY_INVALID');
    const ttlMs = durationMs(body.ttl);
    if (ttlMs > MAX_TOKEN_TTL_MS) throw new SignetError('BODY_INVALID', 'ttl: at most 32d');
    if (body.max_ttl !== undefined && !body.renewable) throw new SignetError('BODY_INVALID', 'max_ttl: only for a renewable token');
    const maxTtlMs = body.renewable ? durationMs(body.max_ttl ?? '32d') : undefined;
    if (maxTtlMs !== undefined && maxTtlMs > MAX_RENEWABLE_LIFE_MS) throw new SignetError('BODY_INVALID', 'max_ttl: at most 366d');
    if (maxTtlMs !== undefined && maxTtlMs < ttlMs) throw new SignetError('BODY_INVALID', 'max_ttl: at least the ttl');
    const now = ctx.auth.now();
    const { token, record } = await ctx.tokens.issue({
      policies: body.policies,
      displayName: body.display_name ?? `token (${body.policies.join(',')})`,
      ttlMs,
      // A child of the creating token: revoking that one revokes this one too (docs/auth.md),
      // unless asked for an orphan.
      parentAccessor: body.orphan === true ? null : parent.accessor,
      meta: { created_by: parent.accessor, ...(maxTtlMs !== undefined ? renewableMeta(ttlMs, maxTtlMs, now) : {}) },
    });
    request.signetAudit = {
      event: 'token.create', accessor: record.accessor, policies: record.policies, admin: record.policies.includes(ADMIN_POLICY),
      ...(maxTtlMs !== undefined ? { renewable: true, max_ttl_s: maxTtlMs / 1000 } : {}),
    };
    return reply.status(201).send({
      token: token.revealString(),
      accessor: record.accessor,
      policies: record.policies,
      ttl: Math.round(ttlMs / 1000),
      expires: new Date(record.expiresAt!).toISOString(),
      renewable: maxTtlMs !== undefined,
      ...(maxTtlMs !== undefined ? { max_expires: new Date(Number(record.meta[MAX_EXPIRES_META])).toISOString() } : {}),
    });
  });

  app.post('/v1/auth/token/renew-self', async (request) => {
    const self = await ctx.authenticate(request);
    const body = parse(renewBody, request.body ?? {}, 'BODY_INVALID');
    const incrementMs = body.increment === undefined ? undefined : durationMs(body.increment);
    if (incrementMs !== undefined && incrementMs > MAX_TOKEN_TTL_MS) throw new SignetError('BODY_INVALID', 'increment: at most 32d');
    const now = ctx.auth.now();
    // On the audit log as a decision, like a login: who kept which token alive, and refusals.
    const { renewal } = await audited(ctx, request, { op: 'token.renew', accessor: self.accessor }, async () => ({
      renewal: await renewToken(ctx.store, self, incrementMs, now),
    }));
    request.signetAudit = { event: 'token.renew', accessor: self.accessor, expires: new Date(renewal.expiresAt).toISOString(), capped: renewal.capped };
    return {
      accessor: self.accessor,
      policies: [...self.policies],
      ttl: Math.max(0, Math.round((renewal.expiresAt - now) / 1000)),
      expires: new Date(renewal.expiresAt).toISOString(),
      max_expires: new Date(renewal.maxExpiresAt).toISOString(),
      ...(renewal.capped ? { warning: 'the expiry stops at the max TTL: log in again before then' } : {}),
    };
  });
};
