// JWT (OIDC) roles for CI identity tokens: role config (admin) and login.
import { APPROLE_BOUNDS } from '../../auth/approle.js';
import { formatDuration, parseDuration } from '../../auth/duration.js';
import { createJwtRoleBody, jwtLoginBody } from '../../api/schemas.js';
import { MAX_CLOCK_SKEW_MS, type JwtRoleConfig } from '../../auth/jwt.js';
import { SignetError } from '../../errors.js';
import type { RoleRecord } from '../../store/auth-types.js';
import type { RouteModule } from '../context.js';
import { parse } from '../validation.js';
import { audited, loginResponse, roleParams, withRetryAfter, writeRolePolicy } from '../auth-common.js';

export function jwtRoleView(role: RoleRecord): Record<string, unknown> {
  const c = role.config as unknown as JwtRoleConfig;
  return {
    name: role.name,
    policies: [...role.policies],
    token_ttl: formatDuration(role.tokenTtlMs),
    issuer: c.issuer,
    audiences: [...c.audiences],
    ...(c.jwks_url !== undefined ? { jwks_url: c.jwks_url } : { jwks_keys: c.jwks?.keys.length ?? 0 }),
    bound_claims: c.bound_claims,
    algorithms: [...c.algorithms],
    clock_skew: formatDuration(c.clock_skew_ms),
    created: new Date(role.createdAt).toISOString(),
  };
}

export const jwtRoutes: RouteModule = (app, ctx) => {
  app.post('/v1/auth/jwt/role/:name', async (request, reply) => {
    const { name } = parse(roleParams, request.params, 'BAD_REQUEST');
    const body = parse(createJwtRoleBody, request.body, 'BODY_INVALID');
    const admin = await ctx.authorize(request, { op: 'admin', what: 'manage roles' });
    if (body.policies === undefined && body.policy === undefined) throw new SignetError('BODY_INVALID', 'policies or policy is required');
    const tokenTtlMs = body.token_ttl === undefined ? undefined : parseDuration(body.token_ttl, 'token_ttl', APPROLE_BOUNDS.tokenTtlMs);
    const clockSkewMs = body.clock_skew === undefined ? undefined : parseDuration(body.clock_skew, 'clock_skew', { minMs: 0, maxMs: MAX_CLOCK_SKEW_MS });
    const options = {
      policies: [...(body.policies ?? [])],
      issuer: body.issuer,
      audiences: body.audiences,
      boundClaims: body.bound_claims,
      ...(tokenTtlMs !== undefined ? { tokenTtlMs } : {}),
      ...(clockSkewMs !== undefined ? { clockSkewMs } : {}),
      ...(body.jwks_url !== undefined ? { jwksUrl: body.jwks_url } : {}),
      ...(body.jwks !== undefined ? { jwks: body.jwks } : {}),
      ...(body.algorithms !== undefined ? { algorithms: body.algorithms } : {}),
    };
    if (body.policy !== undefined) {
      // All or nothing, as for AppRoles: valid document, then the role, then the document stored.
      ctx.policies.validate(name, body.policy);
      options.policies.push(name);
    }
    const role = await ctx.auth.jwt.createRole(name, options);
    if (body.policy !== undefined) await writeRolePolicy(ctx, 'jwt', name, body.policy);
    request.signetAudit = { event: 'role.create', method: 'jwt', role: name, policies: role.policies, by: admin.accessor };
    return reply.status(201).send(jwtRoleView(role));
  });

  app.get('/v1/auth/jwt/role', async (request) => {
    await ctx.authorize(request, { op: 'admin', what: 'manage roles' });
    return { roles: (await ctx.auth.jwt.listRoles()).map(jwtRoleView) };
  });

  app.get('/v1/auth/jwt/role/:name', async (request) => {
    const { name } = parse(roleParams, request.params, 'BAD_REQUEST');
    await ctx.authorize(request, { op: 'admin', what: 'manage roles' });
    return jwtRoleView(await ctx.auth.jwt.getRole(name));
  });

  app.delete('/v1/auth/jwt/role/:name', async (request) => {
    const { name } = parse(roleParams, request.params, 'BAD_REQUEST');
    await ctx.authorize(request, { op: 'admin', what: 'manage roles' });
    const { revokedTokens } = await ctx.auth.jwt.deleteRole(name);
    request.signetAudit = { event: 'role.delete', method: 'jwt', role: name, revoked_tokens: revokedTokens };
    return { deleted: name, revoked_tokens: revokedTokens };
  });

  app.post('/v1/auth/jwt/login', async (request, reply) => {
    request.signetAudit = { event: 'login', method: 'jwt' };
    const body = parse(jwtLoginBody, request.body, 'BODY_INVALID');
    // The role field as typed may be a secret pasted in the wrong place: it reaches the audit and
    // server logs only when it names an existing JWT role.
    const known = await ctx.auth.jwt.getRole(body.role).then(
      (role) => role.name,
      (err: unknown) => {
        if (err instanceof SignetError && err.code === 'ROLE_NOT_FOUND') return undefined;
        throw err;
      },
    );
    const role: Record<string, string> = known !== undefined ? { role: known } : {};
    request.signetAudit = { event: 'login', method: 'jwt', ...role };
    const { token, record } = await withRetryAfter(reply, () =>
      audited(ctx, request, { op: 'login', method: 'jwt', ...role }, () =>
        ctx.auth.jwt.login(body.role, body.jwt, ctx.source(request), (reason) => {
          request.signetAudit = { ...request.signetAudit, reason };
        }),
      ),
    );
    request.signetAudit = { event: 'login', method: 'jwt', ...role, issued: record.accessor };
    return loginResponse(token.revealString(), record, ctx.auth.now());
  });
};
