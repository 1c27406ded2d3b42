// AppRole roles, secret_ids and login; response wrapping; token list, lookup and revoke.
// Admin operations need the admin policy; login and unwrap authenticate by what they are given.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { accessorBody, accessorParams, createRoleBody, loginBody, secretAccessorParams, secretIdBody } from '../../api/schemas.js';
import { APPROLE_BOUNDS, checkCidrs } from '../../auth/approle.js';
import { formatDuration, parseDuration } from '../../auth/duration.js';
import { presentedToken, tokenView } from '../../auth/tokens.js';
import { WRAP_TTL_BOUNDS } from '../../auth/wrapping.js';
import { SignetError } from '../../errors.js';
import { ADMIN_POLICY } from '../../policy/authorize.js';
import type { RoleRecord, SecretIdRecord } from '../../store/auth-types.js';
import type { RouteContext, RouteModule } from '../context.js';
import { parse } from '../validation.js';
import { audited, loginResponse, roleParams, withRetryAfter, writeRolePolicy } from '../auth-common.js';

// Moved to src/server/auth-common.ts (route modules do not import each other); re-exported.
export { audited, loginResponse, policyName, roleParams, withRetryAfter, writeRolePolicy } from '../auth-common.js';

/** What a wrapped secret_id says it came from; clients check it (wrap substitution). */
export function secretIdCreationPath(role: string): string {
  return `auth/approle/role/${role}/secret-id`;
}

export function roleView(role: RoleRecord): Record<string, unknown> {
  return {
    name: role.name,
    role_id: role.roleId,
    policies: [...role.policies],
    token_ttl: formatDuration(role.tokenTtlMs),
    ...(role.kind === 'approle'
      ? {
          secret_id_ttl: formatDuration(Number(role.config.secret_id_ttl_ms)),
          secret_id_uses: Number(role.config.secret_id_uses),
          bound_cidrs: [...((role.config.bound_cidrs as string[] | undefined) ?? [])],
        }
      : {}),
    created: new Date(role.createdAt).toISOString(),
  };
}

function secretIdView(s: SecretIdRecord): Record<string, unknown> {
  return { accessor: s.accessor, uses_left: s.usesLeft, expires: new Date(s.expiresAt).toISOString(), created: new Date(s.createdAt).toISOString(), cidrs: [...s.cidrs] };
}

function wrapTtlFrom(request: FastifyRequest, bodyValue: string | number | undefined): number | undefined {
  const raw = request.headers['x-signet-wrap-ttl'];
  const header = Array.isArray(raw) ? raw[0] : raw;
  if (header !== undefined && bodyValue !== undefined) throw new SignetError('BAD_REQUEST', 'give the wrap TTL once: X-Signet-Wrap-TTL or wrap_ttl');
  const value = header ?? bodyValue;
  return value === undefined ? undefined : parseDuration(value, 'wrap_ttl', WRAP_TTL_BOUNDS);
}

async function createRole(ctx: RouteContext, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const { name } = parse(roleParams, request.params, 'BAD_REQUEST');
  const body = parse(createRoleBody, request.body, 'BODY_INVALID');
  const admin = await ctx.authorize(request, { op: 'admin', what: 'manage roles' });
  if (body.policies === undefined && body.policy === undefined) throw new SignetError('BODY_INVALID', 'policies or policy is required');
  const tokenTtlMs = body.token_ttl === undefined ? undefined : parseDuration(body.token_ttl, 'token_ttl', APPROLE_BOUNDS.tokenTtlMs);
  const secretIdTtlMs = body.secret_id_ttl === undefined ? undefined : parseDuration(body.secret_id_ttl, 'secret_id_ttl', APPROLE_BOUNDS.secretIdTtlMs);
  const policies = [...(body.policies ?? [])];
  const boundCidrs = checkCidrs(body.bound_cidrs ?? [], 'bound_cidrs');
  // All or nothing: the document is validated first; the role is created (ROLE_EXISTS decided
  // atomically by the store); only then is the document stored as policy NAME, and if that
  // fails the role is removed again. A taken name never overwrites anyone's policy.
  if (body.policy !== undefined) {
    ctx.policies.validate(name, body.policy);
    policies.push(name);
  }
  const role = await ctx.auth.approle.createRole(name, {
    policies,
    ...(tokenTtlMs !== undefined ? { tokenTtlMs } : {}),
    ...(secretIdTtlMs !== undefined ? { secretIdTtlMs } : {}),
    ...(body.secret_id_uses !== undefined ? { secretIdUses: body.secret_id_uses } : {}),
    boundCidrs,
  });
  if (body.policy !== undefined) await writeRolePolicy(ctx, 'approle', name, body.policy);
  request.signetAudit = { event: 'role.create', role: name, policies: role.policies, by: admin.accessor };
  return reply.status(201).send(roleView(role));
}

export const authRoutes: RouteModule = (app, ctx) => {
  app.post('/v1/auth/approle/role/:name', (request, reply) => createRole(ctx, request, reply));

  app.get('/v1/auth/approle/role', async (request) => {
    await ctx.authorize(request, { op: 'admin', what: 'manage roles' });
    return { roles: (await ctx.auth.approle.listRoles()).map(roleView) };
  });

  app.get('/v1/auth/approle/role/:name', async (request) => {
    const { name } = parse(roleParams, request.params, 'BAD_REQUEST');
    await ctx.authorize(request, { op: 'admin', what: 'manage roles' });
    return roleView(await ctx.auth.approle.getRole(name));
  });

  app.delete('/v1/auth/approle/role/:name', async (request) => {
    const { name } = parse(roleParams, request.params, 'BAD_REQUEST');
    await ctx.authorize(request, { op: 'admin', what: 'manage roles' });
    const { revokedTokens } = await ctx.auth.approle.deleteRole(name);
    request.signetAudit = { event: 'role.delete', role: name, revoked_tokens: revokedTokens };
    return { deleted: name, revoked_tokens: revokedTokens };
  });

  app.post('/v1/auth/approle/role/:name/secret-id', async (request, reply) => {
    const { name } = parse(roleParams, request.params, 'BAD_REQUEST');
    const body = parse(secretIdBody, request.body, 'BODY_INVALID');
    const admin = await ctx.authorize(request, { op: 'admin', what: 'manage roles' });
    const wrapTtlMs = wrapTtlFrom(request, body.wrap_ttl);
    const ttlMs = body.ttl === undefined ? undefined : parseDuration(body.ttl, 'ttl', APPROLE_BOUNDS.secretIdTtlMs);
    const issued = await ctx.auth.approle.issueSecretId(name, {
      ...(ttlMs !== undefined ? { ttlMs } : {}),
      ...(body.uses !== undefined ? { uses: body.uses } : {}),
      ...(body.cidrs !== undefined ? { cidrs: body.cidrs } : {}),
    });
    const response = { secret_id: issued.secretId.revealString(), secret_id_accessor: issued.record.accessor, ...secretIdView(issued.record) };
    request.signetAudit = { event: 'role.secret_id', role: name, secret_id_accessor: issued.record.accessor, wrapped: wrapTtlMs !== undefined };
    if (wrapTtlMs === undefined) return reply.status(201).send(response);
    const wrapped = await ctx.auth.wrapping.wrap(response, { ttlMs: wrapTtlMs, creationPath: secretIdCreationPath(name), creatorAccessor: admin.accessor });
    issued.secretId.wipe();
    request.signetAudit = { ...request.signetAudit, wrap_accessor: wrapped.accessor };
    return reply.status(201).send({
      wrap_info: {
        token: wrapped.token.revealString(),
        accessor: wrapped.accessor,
        ttl: Math.round((wrapped.expiresAt - wrapped.createdAt) / 1000),
        created: new Date(wrapped.createdAt).toISOString(),
        expires: new Date(wrapped.expiresAt).toISOString(),
        creation_path: wrapped.creationPath,
      },
    });
  });

  app.get('/v1/auth/approle/role/:name/secret-id', async (request) => {
    const { name } = parse(roleParams, request.params, 'BAD_REQUEST');
    await ctx.authorize(request, { op: 'admin', what: 'manage roles' });
    return { secret_ids: (await ctx.auth.approle.listSecretIds(name)).map(secretIdView) };
  });

  app.delete('/v1/auth/approle/role/:name/secret-id/:accessor', async (request) => {
    const { name, accessor } = parse(secretAccessorParams, request.params, 'BAD_REQUEST');
    await ctx.authorize(request, { op: 'admin', what: 'manage roles' });
    await ctx.auth.approle.destroySecretId(name, accessor);
    request.signetAudit = { event: 'role.secret_id.destroy', role: name, secret_id_accessor: accessor };
    return { destroyed: accessor };
  });

  app.post('/v1/auth/approle/login', async (request, reply) => {
    request.signetAudit = { event: 'login', method: 'approle' };
    const body = parse(loginBody, request.body, 'BODY_INVALID');
    const { token, record } = await withRetryAfter(reply, () =>
      audited(ctx, request, { op: 'login', method: 'approle' }, () => ctx.auth.approle.login(body.role_id, body.secret_id, ctx.source(request))),
    );
    request.signetAudit = { event: 'login', method: 'approle', role: record.meta.role, issued: record.accessor };
    return loginResponse(token.revealString(), record, ctx.auth.now());
  });

  app.post('/v1/sys/wrapping/unwrap', async (request) => {
    request.signetAudit = { event: 'unwrap' };
    const presented = presentedToken(request.raw.rawHeaders);
    const unwrapped = await audited(ctx, request, { op: 'unwrap' }, () =>
      ctx.auth.wrapping.unwrap(presented, (fields) => {
        request.signetAudit = { ...request.signetAudit, ...fields };
      }),
    );
    return { creation_path: unwrapped.creationPath, created: new Date(unwrapped.createdAt).toISOString(), data: unwrapped.data };
  });

  app.get('/v1/auth/token', async (request) => {
    await ctx.authorize(request, { op: 'admin', what: 'list tokens' });
    return { tokens: (await ctx.tokens.list()).map(tokenView) };
  });

  app.get('/v1/auth/token/lookup-self', async (request) => {
    return tokenView(await ctx.authenticate(request));
  });

  app.get('/v1/auth/token/lookup/:accessor', async (request) => {
    const { accessor } = parse(accessorParams, request.params, 'BAD_REQUEST');
    await ctx.authorize(request, { op: 'admin', what: 'look up other tokens' });
    return tokenView(await ctx.tokens.lookup(accessor));
  });

  app.post('/v1/auth/token/revoke', async (request) => {
    const { accessor } = parse(accessorBody, request.body, 'BODY_INVALID');
    await ctx.authorize(request, { op: 'admin', what: 'revoke other tokens' });
    const revoked = await ctx.tokens.revokeChecked(accessor, ADMIN_POLICY);
    request.signetAudit = { event: 'token.revoke', target: accessor, revoked: revoked.length };
    return { revoked };
  });

  app.post('/v1/auth/token/revoke-self', async (request) => {
    const self = await ctx.authenticate(request);
    const revoked = await ctx.tokens.revokeChecked(self.accessor, ADMIN_POLICY);
    request.signetAudit = { event: 'token.revoke', target: self.accessor, revoked: revoked.length };
    return { revoked };
  });
};
