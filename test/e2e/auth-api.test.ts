// AppRole, response wrapping and tokens over HTTP, on a real server whose clock the test moves.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startTestServer, type TestServer } from '../helpers/server.js';

describe('auth API', () => {
  let t: TestServer;
  let now = Date.UTC(2026, 0, 1);
  let roleId = '';

  beforeAll(async () => {
    t = await startTestServer({ clock: () => now });
    const r = await api(t, 'POST', '/v1/auth/approle/role/ci', { token: t.adminToken, json: { policies: ['rel-ci'], token_ttl: '5m' } });
    expect(r.status).toBe(201);
    roleId = r.json.role_id;
  }, 60_000);

  afterAll(async () => {
    await t?.close();
  });

  function auditLines(): any[] {
    return readFileSync(join(t.dataDir, 'audit.log'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  }

  async function secretId(body: Record<string, unknown> = {}, headers: Record<string, string> = {}): Promise<any> {
    const r = await api(t, 'POST', '/v1/auth/approle/role/ci/secret-id', { token: t.adminToken, json: body, headers });
    expect(r.status, r.text).toBe(201);
    return r.json;
  }

  it('roles: create, read, list; bad names, unknown fields, duplicates and non-admins are refused', async () => {
    const read = await api(t, 'GET', '/v1/auth/approle/role/ci', { token: t.adminToken });
    expect(read.json).toMatchObject({ name: 'ci', role_id: roleId, policies: ['rel-ci'], token_ttl: '5m', secret_id_ttl: '10m', secret_id_uses: 1 });
    expect((await api(t, 'GET', '/v1/auth/approle/role', { token: t.adminToken })).json.roles.map((r: any) => r.name)).toEqual(['ci']);
    expect((await api(t, 'POST', '/v1/auth/approle/role/ci', { token: t.adminToken, json: { policies: ['x'] } })).json.error.code).toBe('ROLE_EXISTS');
    for (const name of ['a..b', '%2e%2e', 'A', 'a%2Fb', 'a%00b']) {
      const r = await api(t, 'POST', `/v1/auth/approle/role/${name}`, { token: t.adminToken, json: { policies: ['x'] } });
      expect([400, 404], name).toContain(r.status);
    }
    expect((await api(t, 'POST', '/v1/auth/approle/role/z', { token: t.adminToken, json: { policies: ['x'], sudo: true } })).json.error.code).toBe('BODY_INVALID');
    expect((await api(t, 'POST', '/v1/auth/approle/role/z', { token: t.adminToken, json: { policies: ['x'], token_ttl: '30d' } })).json.error.code).toBe('BAD_REQUEST');
    expect((await api(t, 'POST', '/v1/auth/approle/role/z', { token: t.adminToken, json: {} })).json.error.code).toBe('BODY_INVALID');
    expect((await api(t, 'GET', '/v1/auth/approle/role/nope', { token: t.adminToken })).json.error.code).toBe('ROLE_NOT_FOUND');
    expect((await api(t, 'POST', '/v1/auth/approle/role/z', { json: { policies: ['x'] } })).json.error.code).toBe('TOKEN_MISSING');
  });

  it('login: secret_id once, role token TTL and policies; the role token cannot administer', async () => {
    const s = await secretId();
    expect(s.secret_id).toMatch(/^sgs\./);
    const login = await api(t, 'POST', '/v1/auth/approle/login', { json: { role_id: roleId, secret_id: s.secret_id } });
    expect(login.status).toBe(200);
    expect(login.json).toMatchObject({ policies: ['rel-ci'], ttl: 300 });
    expect(login.json.token).toMatch(/^sgn\./);
    const again = await api(t, 'POST', '/v1/auth/approle/login', { json: { role_id: roleId, secret_id: s.secret_id } });
    expect(again.status).toBe(401);
    expect(again.json.error.code).toBe('LOGIN_FAILED');
    const self = await api(t, 'GET', '/v1/auth/token/lookup-self', { token: login.json.token });
    expect(self.json).toMatchObject({ accessor: login.json.accessor, policies: ['rel-ci'], meta: { role: 'ci', auth: 'approle' } });
    expect(self.text).not.toContain(login.json.token);
    for (const [method, path] of [['GET', '/v1/auth/token'], ['GET', '/v1/auth/approle/role'], ['POST', '/v1/auth/approle/role/ci/secret-id']] as const) {
      const r = await api(t, method, path, { token: login.json.token, ...(method === 'POST' ? { json: {} } : {}) });
      expect(r.status, path).toBe(403);
      expect(r.json.error.code).toBe('POLICY_DENIED');
    }
    now += 5 * 60_000;
    expect((await api(t, 'GET', '/v1/auth/token/lookup-self', { token: login.json.token })).json.error.code).toBe('TOKEN_EXPIRED');
  });

  it('role create with a policy document: stored as policy NAME and bound; a bad document creates nothing; the role signs only what it grants', async () => {
    const policy = 'rules:\n  - keys: [rel]\n    kinds: [detached]\n    names: ["pkg-*"]\n';
    const bad = await api(t, 'POST', '/v1/auth/approle/role/builder', { token: t.adminToken, json: { policy: 'rules:\n  - keys: [rel]\n    kinds: [sgin]\n' } });
    expect(bad.json.error.code).toBe('POLICY_INVALID');
    expect((await api(t, 'GET', '/v1/auth/approle/role/builder', { token: t.adminToken })).json.error.code).toBe('ROLE_NOT_FOUND');
    expect((await api(t, 'GET', '/v1/sys/policies/builder', { token: t.adminToken })).status).toBe(404);

    const role = await api(t, 'POST', '/v1/auth/approle/role/builder', { token: t.adminToken, json: { policy } });
    expect(role.status, role.text).toBe(201);
    expect(role.json.policies).toEqual(['builder']);
    expect((await api(t, 'GET', '/v1/sys/policies/builder', { token: t.adminToken })).json.policy).toBe(policy);
    // A taken name refuses and leaves the role's policy as it was.
    const wider = 'rules:\n  - keys: ["*"]\n    kinds: [detached, rpm]\n';
    expect((await api(t, 'POST', '/v1/auth/approle/role/builder', { token: t.adminToken, json: { policy: wider } })).json.error.code).toBe('ROLE_EXISTS');
    expect((await api(t, 'GET', '/v1/sys/policies/builder', { token: t.adminToken })).json.policy).toBe(policy);

    expect((await api(t, 'POST', '/v1/keys', { token: t.adminToken, json: { name: 'rel', algorithm: 'ed25519', user_id: 'Rel <rel@example.org>' } })).status).toBe(201);
    const s = await api(t, 'POST', '/v1/auth/approle/role/builder/secret-id', { token: t.adminToken, json: {} });
    const login = await api(t, 'POST', '/v1/auth/approle/login', { json: { role_id: role.json.role_id, secret_id: s.json.secret_id } });
    expect(login.json.policies).toEqual(['builder']);
    const ok = await api(t, 'POST', '/v1/sign/rel?name=pkg-1.0.tar', { token: login.json.token, body: 'artifact' });
    expect(ok.status, ok.text).toBe(200);
    const denied = await api(t, 'POST', '/v1/sign/rel?name=other.tar', { token: login.json.token, body: 'artifact' });
    expect(denied.status).toBe(403);
    expect(denied.json.error.code).toBe('POLICY_DENIED');
    // The login itself is on the audit stream, with the token's accessor and role.
    expect(auditLines().some((l) => l.action.op === 'login' && l.decision === 'allow' && l.token === login.json.accessor && l.role === 'builder')).toBe(true);
  });

  it('single use holds under concurrency over HTTP: 12 parallel logins with one secret_id, 12 parallel unwraps of one token', async () => {
    const s = await secretId();
    const logins = await Promise.all(Array.from({ length: 12 }, () => api(t, 'POST', '/v1/auth/approle/login', { json: { role_id: roleId, secret_id: s.secret_id } })));
    expect(logins.filter((r) => r.status === 200)).toHaveLength(1);
    // The others failed; once 5 had failed, the rest were throttled before being looked at.
    for (const r of logins.filter((x) => x.status !== 200)) expect(['LOGIN_FAILED', 'LOGIN_RATE_LIMITED']).toContain(r.json.error.code);
    now += 15 * 60_000; // out of the failure window those 11 refusals filled
    const w = await secretId({ wrap_ttl: '60s' });
    const unwraps = await Promise.all(Array.from({ length: 12 }, () => api(t, 'POST', '/v1/sys/wrapping/unwrap', { token: w.wrap_info.token })));
    expect(unwraps.filter((r) => r.status === 200)).toHaveLength(1);
    expect(new Set(unwraps.filter((r) => r.status !== 200).map((r) => r.json.error.code))).toEqual(new Set(['WRAPPING_TOKEN_USED']));
  });

  it('secret_id expiry follows the clock: 10 minutes by default, --ttl otherwise', async () => {
    const def = await secretId();
    const short = await secretId({ ttl: '30s', uses: 2 });
    expect(short.uses_left).toBe(2);
    now += 30_000;
    expect((await api(t, 'POST', '/v1/auth/approle/login', { json: { role_id: roleId, secret_id: short.secret_id } })).json.error.code).toBe('LOGIN_FAILED');
    now += 10 * 60_000 - 30_000;
    expect((await api(t, 'POST', '/v1/auth/approle/login', { json: { role_id: roleId, secret_id: def.secret_id } })).json.error.code).toBe('LOGIN_FAILED');
  });

  it('wrapping: header or body wrap TTL; unwrap once, then WRAPPING_TOKEN_USED with an audit record; expiry', async () => {
    const byHeader = await secretId({}, { 'x-signet-wrap-ttl': '60s' });
    expect(byHeader.secret_id).toBeUndefined();
    expect(byHeader.wrap_info).toMatchObject({ ttl: 60, creation_path: 'auth/approle/role/ci/secret-id' });
    expect(byHeader.wrap_info.token).toMatch(/^sgw\./);
    // A wrapping token is not an API token.
    expect((await api(t, 'GET', '/v1/auth/token/lookup-self', { token: byHeader.wrap_info.token })).json.error.code).toBe('TOKEN_INVALID');
    const first = await api(t, 'POST', '/v1/sys/wrapping/unwrap', { headers: { 'x-signet-token': byHeader.wrap_info.token } });
    expect(first.status).toBe(200);
    expect(first.json.creation_path).toBe('auth/approle/role/ci/secret-id');
    expect(first.json.data.secret_id).toMatch(/^sgs\./);
    const second = await api(t, 'POST', '/v1/sys/wrapping/unwrap', { token: byHeader.wrap_info.token });
    expect(second.status).toBe(400);
    expect(second.json.error.code).toBe('WRAPPING_TOKEN_USED');
    const access = t.logs.map((l) => JSON.parse(l)).filter((l) => l.event === 'unwrap' && l.wrap_accessor === byHeader.wrap_info.accessor);
    expect(access.map((l) => [l.outcome, l.reason ?? null])).toEqual([
      ['allowed', null],
      ['denied', 'already_unwrapped'],
    ]);
    const audit = auditLines().filter((l) => l.action.op === 'unwrap' && l.rule === `wrap:${byHeader.wrap_info.accessor}`);
    expect(audit.map((l) => [l.decision, l.code ?? null, l.reason ?? null])).toEqual([
      ['allow', null, null],
      ['deny', 'WRAPPING_TOKEN_USED', 'already_unwrapped'],
    ]);
    // The unwrapped secret_id logs in.
    expect((await api(t, 'POST', '/v1/auth/approle/login', { json: { role_id: roleId, secret_id: first.json.data.secret_id } })).status).toBe(200);

    // As curl sends it: Content-Type application/json and no body at all.
    const curlStyle = await secretId({}, { 'x-signet-wrap-ttl': '60s' });
    const curlUnwrap = await api(t, 'POST', '/v1/sys/wrapping/unwrap', { token: curlStyle.wrap_info.token, headers: { 'content-type': 'application/json' } });
    expect(curlUnwrap.status, JSON.stringify(curlUnwrap.json)).toBe(200);
    expect(curlUnwrap.json.data.secret_id).toMatch(/^sgs\./);
    // A route that needs fields still refuses an empty JSON body, with a stable code.
    const emptyLogin = await api(t, 'POST', '/v1/auth/approle/login', { headers: { 'content-type': 'application/json' } });
    expect(emptyLogin.status).toBe(400);
    expect(emptyLogin.json.error.code).toBe('BODY_INVALID');

    const byBody = await secretId({ wrap_ttl: 60 });
    now += 60_000;
    const late = await api(t, 'POST', '/v1/sys/wrapping/unwrap', { token: byBody.wrap_info.token });
    expect(late.json.error.code).toBe('WRAPPING_TOKEN_EXPIRED');
    expect((await api(t, 'POST', '/v1/auth/approle/role/ci/secret-id', { token: t.adminToken, json: { wrap_ttl: '60s' }, headers: { 'x-signet-wrap-ttl': '60s' } })).json.error.code).toBe('BAD_REQUEST');
    expect((await api(t, 'POST', '/v1/auth/approle/role/ci/secret-id', { token: t.adminToken, json: {}, headers: { 'x-signet-wrap-ttl': '2d' } })).json.error.code).toBe('BAD_REQUEST');
    expect((await api(t, 'POST', '/v1/sys/wrapping/unwrap', { token: 'sgw.' + 'Z'.repeat(43) })).json.error.code).toBe('WRAPPING_TOKEN_INVALID');
  });

  it('tokens: list shows accessors only; revoke by accessor; the first admin token is kept until another admin exists', async () => {
    const s = await secretId();
    const login = await api(t, 'POST', '/v1/auth/approle/login', { json: { role_id: roleId, secret_id: s.secret_id } });
    const list = await api(t, 'GET', '/v1/auth/token', { token: t.adminToken });
    expect(list.json.tokens.map((x: any) => x.accessor)).toContain(login.json.accessor);
    expect(list.text).not.toContain(login.json.token);
    expect(list.text).not.toContain(t.adminToken);
    expect(list.text).not.toMatch(/hash/);
    const revoked = await api(t, 'POST', '/v1/auth/token/revoke', { token: t.adminToken, json: { accessor: login.json.accessor } });
    expect(revoked.json.revoked).toEqual([login.json.accessor]);
    expect((await api(t, 'GET', '/v1/auth/token/lookup-self', { token: login.json.token })).json.error.code).toBe('TOKEN_REVOKED');
    expect((await api(t, 'POST', '/v1/auth/token/revoke', { token: t.adminToken, json: { accessor: 'nope' } })).json.error.code).toBe('TOKEN_NOT_FOUND');
    const lastAdmin = await api(t, 'POST', '/v1/auth/token/revoke-self', { token: t.adminToken });
    expect(lastAdmin.status).toBe(409);
    expect(lastAdmin.json.error.code).toBe('LAST_ADMIN_TOKEN');

    const ops = await api(t, 'POST', '/v1/auth/approle/role/ops', { token: t.adminToken, json: { policies: ['admin'] } });
    const opsSecret = await api(t, 'POST', '/v1/auth/approle/role/ops/secret-id', { token: t.adminToken, json: {} });
    const opsLogin = await api(t, 'POST', '/v1/auth/approle/login', { json: { role_id: ops.json.role_id, secret_id: opsSecret.json.secret_id } });
    const bootstrap = (await api(t, 'GET', '/v1/auth/token/lookup-self', { token: t.adminToken })).json.accessor;
    const done = await api(t, 'POST', '/v1/auth/token/revoke', { token: opsLogin.json.token, json: { accessor: bootstrap } });
    expect(done.json.revoked).toContain(bootstrap);
    expect((await api(t, 'GET', '/v1/auth/approle/role', { token: t.adminToken })).json.error.code).toBe('TOKEN_REVOKED');
  });
});

describe('auth API: CIDR-bound roles and secret_ids (source from the socket, not from headers)', () => {
  let t: TestServer;

  beforeAll(async () => {
    t = await startTestServer();
  }, 60_000);

  afterAll(async () => {
    await t?.close();
  });

  const forwarded = { 'x-forwarded-for': '10.1.2.3', 'x-real-ip': '10.1.2.3', forwarded: 'for=10.1.2.3' };

  it('a secret_id bound to 10.0.0.0/8 does not log in from loopback, even claiming 10.1.2.3 in headers; one bound to 127.0.0.0/8 does', async () => {
    const role = await api(t, 'POST', '/v1/auth/approle/role/ci', { token: t.adminToken, json: { policies: ['x'] } });
    const far = await api(t, 'POST', '/v1/auth/approle/role/ci/secret-id', { token: t.adminToken, json: { cidrs: ['10.0.0.0/8'], uses: 3 } });
    expect(far.json.cidrs).toEqual(['10.0.0.0/8']);
    const r = await api(t, 'POST', '/v1/auth/approle/login', { json: { role_id: role.json.role_id, secret_id: far.json.secret_id }, headers: forwarded });
    expect(r.json.error.code).toBe('LOGIN_FAILED');
    const near = await api(t, 'POST', '/v1/auth/approle/role/ci/secret-id', { token: t.adminToken, json: { cidrs: ['127.0.0.0/8', '::1/128'] } });
    const ok = await api(t, 'POST', '/v1/auth/approle/login', { json: { role_id: role.json.role_id, secret_id: near.json.secret_id }, headers: forwarded });
    expect(ok.status, ok.text).toBe(200);
    const self = await api(t, 'GET', '/v1/auth/token/lookup-self', { token: ok.json.token });
    expect(self.json.meta.source).toBe('127.0.0.1');
  });

  it('a role bound to 10.0.0.0/8 refuses logins from loopback without spending the secret_id; bad blocks are refused', async () => {
    const role = await api(t, 'POST', '/v1/auth/approle/role/remote', { token: t.adminToken, json: { policies: ['x'], bound_cidrs: ['10.0.0.0/8'] } });
    expect(role.json.bound_cidrs).toEqual(['10.0.0.0/8']);
    const s = await api(t, 'POST', '/v1/auth/approle/role/remote/secret-id', { token: t.adminToken, json: {} });
    expect((await api(t, 'POST', '/v1/auth/approle/login', { json: { role_id: role.json.role_id, secret_id: s.json.secret_id }, headers: forwarded })).json.error.code).toBe('LOGIN_FAILED');
    const list = await api(t, 'GET', '/v1/auth/approle/role/remote/secret-id', { token: t.adminToken });
    expect(list.json.secret_ids.map((x: any) => x.uses_left)).toEqual([1]);
    for (const bad of ['10.0.0.1/8', '300.0.0.0/8', '10.0.0.0/33', 'any', '']) {
      const r = await api(t, 'POST', '/v1/auth/approle/role/ci/secret-id', { token: t.adminToken, json: { cidrs: [bad] } });
      expect([bad, r.status]).toEqual([bad, 400]);
    }
    expect((await api(t, 'POST', '/v1/auth/approle/role/bad', { token: t.adminToken, json: { policies: ['x'], bound_cidrs: ['10.0.0.1/8'] } })).status).toBe(400);
  });
});

describe('auth API: audit sink failure', () => {
  it('login and unwrap answer 503 AUDIT_UNAVAILABLE and release no token or secret; logins work again once the sink recovers', async () => {
    const { mkdtempSync, rmSync, symlinkSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'signet-auth-audit-'));
    const dataDir = join(dir, 'data');
    const first = await startTestServer({ dataDir });
    let roleId = '';
    const secrets: string[] = [];
    let wrapping = '';
    try {
      roleId = (await api(first, 'POST', '/v1/auth/approle/role/ci', { token: first.adminToken, json: { policies: ['x'] } })).json.role_id;
      for (let i = 0; i < 2; i++) secrets.push((await api(first, 'POST', '/v1/auth/approle/role/ci/secret-id', { token: first.adminToken, json: {} })).json.secret_id);
      wrapping = (await api(first, 'POST', '/v1/auth/approle/role/ci/secret-id', { token: first.adminToken, json: { wrap_ttl: '1h' } })).json.wrap_info.token;
    } finally {
      await first.close();
    }
    rmSync(join(dataDir, 'audit.log'));
    symlinkSync('/dev/full', join(dataDir, 'audit.log')); // every write fails with ENOSPC
    const t = await startTestServer({ dataDir });
    try {
      const login = await api(t, 'POST', '/v1/auth/approle/login', { json: { role_id: roleId, secret_id: secrets[0] } });
      expect([login.status, login.json.error.code]).toEqual([503, 'AUDIT_UNAVAILABLE']);
      expect(login.text).not.toContain('sgn.');
      const unwrap = await api(t, 'POST', '/v1/sys/wrapping/unwrap', { token: wrapping });
      expect([unwrap.status, unwrap.json.error.code]).toEqual([503, 'AUDIT_UNAVAILABLE']);
      expect(unwrap.text).not.toContain('sgs.');
      // The token issued off the record was revoked.
      const issued = (await t.server.store.listTokens()).filter((x) => x.meta.role === 'ci');
      expect(issued.map((x) => x.revokedAt !== null)).toEqual([true]);
      rmSync(join(dataDir, 'audit.log'));
      const again = await api(t, 'POST', '/v1/auth/approle/login', { json: { role_id: roleId, secret_id: secrets[1] } });
      expect(again.status, again.text).toBe(200);
    } finally {
      await t.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
