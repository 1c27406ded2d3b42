// Renewable tokens for long-running clients: renew-self extends a renewable token's expiry by
// its TTL (or an increment) up to its max TTL, never further and never shorter; other tokens
// (a role's login token, a plain token) cannot be renewed, nor can an expired or revoked one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveProcess, signet, type ServeProcess } from '../helpers/cli.js';
import { api, startTestServer, type TestServer } from '../helpers/server.js';

const H = 3_600_000;

describe('renewable tokens (API, moving clock)', () => {
  let t: TestServer;
  const t0 = Date.UTC(2026, 0, 1);
  let now = t0;

  beforeAll(async () => {
    t = await startTestServer({ clock: () => now });
    expect((await api(t, 'PUT', '/v1/sys/policies/apt', { token: t.adminToken, json: { policy: 'rules:\n  - keys: [release]\n    kinds: [apt]\n' } })).status).toBe(200);
  }, 60_000);
  afterAll(async () => t?.close());

  async function create(body: Record<string, unknown>): Promise<any> {
    const r = await api(t, 'POST', '/v1/auth/token/create', { token: t.adminToken, json: body });
    expect(r.status, r.text).toBe(201);
    return r.json;
  }
  const renew = (token: string, json: Record<string, unknown> = {}) => api(t, 'POST', '/v1/auth/token/renew-self', { token, json });
  const iso = (ms: number): string => new Date(ms).toISOString();

  it('extends by the TTL up to the max TTL, then the token expires', async () => {
    now = t0;
    const c = await create({ policies: ['apt'], ttl: '1h', renewable: true, max_ttl: '3h' });
    expect(c).toMatchObject({ renewable: true, expires: iso(t0 + H), max_expires: iso(t0 + 3 * H) });
    now = t0 + 50 * 60_000;
    let r = await renew(c.token);
    expect(r.status, r.text).toBe(200);
    expect(r.json).toMatchObject({ accessor: c.accessor, expires: iso(now + H), ttl: 3600, max_expires: iso(t0 + 3 * H) });
    expect(r.json.warning).toBeUndefined();
    // The new expiry holds: past the original one, the token still works.
    now = t0 + 90 * 60_000;
    expect((await api(t, 'GET', '/v1/auth/token/lookup-self', { token: c.token })).json.expires).toBe(iso(t0 + 110 * 60_000));
    // An increment cannot shorten it.
    r = await renew(c.token, { increment: '1s' });
    expect(r.json.expires).toBe(iso(t0 + 110 * 60_000));
    // Nor carry it past the max TTL.
    now = t0 + 100 * 60_000;
    r = await renew(c.token, { increment: '2h' });
    expect(r.status).toBe(200);
    expect(r.json.expires).toBe(iso(t0 + 3 * H));
    expect(r.json.warning).toMatch(/max TTL/);
    now = t0 + 3 * H;
    r = await renew(c.token);
    expect(r.status).toBe(401);
    expect(r.json.error.code).toBe('TOKEN_EXPIRED');
  });

  it('refuses to renew a plain token, a role login token, a revoked token; bad bodies', async () => {
    now = t0;
    const plain = await create({ policies: ['apt'], ttl: '1h' });
    expect(plain.renewable).toBe(false);
    let r = await renew(plain.token);
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe('TOKEN_NOT_RENEWABLE');
    expect((await api(t, 'GET', '/v1/auth/token/lookup-self', { token: plain.token })).json.expires).toBe(iso(t0 + H));

    // A CI job's short login token stays short.
    const role = await api(t, 'POST', '/v1/auth/approle/role/ci', { token: t.adminToken, json: { policies: ['apt'], token_ttl: '5m' } });
    const sid = await api(t, 'POST', '/v1/auth/approle/role/ci/secret-id', { token: t.adminToken, json: {} });
    const login = await api(t, 'POST', '/v1/auth/approle/login', { json: { role_id: role.json.role_id, secret_id: sid.json.secret_id } });
    expect(login.status, login.text).toBe(200);
    r = await renew(login.json.token);
    expect(r.json.error.code).toBe('TOKEN_NOT_RENEWABLE');

    const revoked = await create({ policies: ['apt'], ttl: '1h', renewable: true });
    expect(revoked.max_expires).toBe(iso(t0 + 32 * 24 * H));
    expect((await api(t, 'POST', '/v1/auth/token/revoke', { token: t.adminToken, json: { accessor: revoked.accessor } })).status).toBe(200);
    r = await renew(revoked.token);
    expect(r.json.error.code).toBe('TOKEN_REVOKED');

    for (const body of [
      { policies: ['apt'], ttl: '1h', max_ttl: '2h' },
      { policies: ['apt'], ttl: '1h', renewable: true, max_ttl: '367d' },
      { policies: ['apt'], ttl: '2h', renewable: true, max_ttl: '1h' },
    ]) {
      const bad = await api(t, 'POST', '/v1/auth/token/create', { token: t.adminToken, json: body });
      expect(bad.json.error.code, JSON.stringify(body)).toBe('BODY_INVALID');
    }
    // Creating stays admin-only, renewable or not.
    const bad = await api(t, 'POST', '/v1/auth/token/create', { token: plain.token, json: { policies: ['apt'], renewable: true } });
    expect(bad.status).toBe(403);
    const r2 = await renew(plain.token, { increment: '33d' });
    expect(r2.json.error.code).toBe('BODY_INVALID');
  });

  it('puts renewals and refused renewals on the audit log', async () => {
    now = t0;
    const c = await create({ policies: ['apt'], ttl: '1h', renewable: true, max_ttl: '2h' });
    const plain = await create({ policies: ['apt'], ttl: '1h' });
    await renew(c.token);
    await renew(plain.token);
    const { readFileSync } = await import('node:fs');
    const lines = readFileSync(`${t.dataDir}/audit.log`, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
    const renewals = lines.filter((l) => l.action?.op === 'token.renew');
    expect(renewals.find((l) => l.action.accessor === c.accessor)).toMatchObject({ decision: 'allow' });
    expect(renewals.find((l) => l.action.accessor === plain.accessor)).toMatchObject({ decision: 'deny', code: 'TOKEN_NOT_RENEWABLE' });
  });
});

describe('signet token create / renew', () => {
  let s: ServeProcess;
  beforeAll(async () => {
    s = await serveProcess();
  }, 60_000);
  afterAll(async () => s?.stop());

  it('creates a renewable token and renews it with the token itself', () => {
    const env = { SIGNET_ADDR: s.addr };
    const created = signet(['--json', '--token', s.token, 'token', 'create', '--policy', 'admin', '--ttl', '1h', '--renewable', '--max-ttl', '2h'], { env });
    expect(created.status, created.stderr).toBe(0);
    const c = JSON.parse(created.stdout);
    expect(c.renewable).toBe(true);
    const renewed = signet(['token', 'renew', '--increment', '90m'], { env: { ...env, SIGNET_TOKEN: c.token } });
    expect(renewed.status, renewed.stderr).toBe(0);
    expect(Date.parse(renewed.stdout.trim())).toBeGreaterThan(Date.parse(c.expires));
    const plain = signet(['token', 'create', '--policy', 'admin', '--ttl', '1h'], { env: { ...env, SIGNET_TOKEN: s.token } });
    expect(plain.status, plain.stderr).toBe(0);
    const refused = signet(['token', 'renew'], { env: { ...env, SIGNET_TOKEN: plain.stdout.trim() } });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/^signet: .*\(TOKEN_NOT_RENEWABLE\)\n$/);
    const usage = signet(['token', 'create', '--policy', 'admin', '--max-ttl', '2h'], { env: { ...env, SIGNET_TOKEN: s.token } });
    expect(usage.status).toBe(2);
  });
});
