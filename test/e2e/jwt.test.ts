// JWT (OIDC) roles against a local issuer on loopback: GitLab-style and GitHub-style bound
// claims, JWKS by URL and by file, and every refusal with its stable code.
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { generateKeyPair } from 'jose';
import { api, startTestServer, type TestServer } from '../helpers/server.js';
import { startIssuer, unsignedJwt, type TestIssuer } from '../helpers/oidc.js';

const GITLAB_CLAIMS = {
  sub: 'project_path:release/pkg:ref_type:branch:ref:main',
  project_path: 'release/pkg',
  ref: 'main',
  ref_type: 'branch',
  ref_protected: 'true',
  pipeline_source: 'push',
};

describe('JWT roles', () => {
  let t: TestServer;
  let issuer: TestIssuer;
  let now = Date.UTC(2026, 2, 1);
  const nowS = () => Math.floor(now / 1000);

  beforeAll(async () => {
    issuer = await startIssuer('https://signet.example.org');
    t = await startTestServer({ clock: () => now });
    const r = await api(t, 'POST', '/v1/auth/jwt/role/gitlab-rel', {
      token: t.adminToken,
      json: {
        policies: ['rel-ci'],
        issuer: issuer.url,
        audiences: ['https://signet.example.org'],
        jwks_url: issuer.jwksUrl,
        bound_claims: { project_path: 'release/pkg', ref_protected: 'true' },
        token_ttl: '10m',
      },
    });
    expect(r.status, r.text).toBe(201);
  }, 60_000);

  afterAll(async () => {
    await t?.close();
    await issuer?.close();
  });

  // Each test starts in a fresh login-failure window (the counters are per 5 minutes).
  beforeEach(() => {
    now += 15 * 60_000;
  });

  const login = (jwt: string, role = 'gitlab-rel') => api(t, 'POST', '/v1/auth/jwt/login', { json: { role, jwt } });

  it('a GitLab ID token with the bound project and a protected ref logs in; the token carries the role policies and claims', async () => {
    const r = await login(await issuer.sign(GITLAB_CLAIMS, { nowS: nowS() }));
    expect(r.status, r.text).toBe(200);
    expect(r.json).toMatchObject({ policies: ['rel-ci'], ttl: 600 });
    const self = await api(t, 'GET', '/v1/auth/token/lookup-self', { token: r.json.token });
    expect(self.json.meta).toMatchObject({ auth: 'jwt', role: 'gitlab-rel', 'claim.project_path': 'release/pkg', 'claim.ref_protected': 'true', sub: GITLAB_CLAIMS.sub });
    expect(issuer.fetches()).toBeGreaterThan(0);
    const read = await api(t, 'GET', '/v1/auth/jwt/role/gitlab-rel', { token: t.adminToken });
    expect(read.json).toMatchObject({ issuer: issuer.url, jwks_url: issuer.jwksUrl, bound_claims: { project_path: ['release/pkg'] }, clock_skew: '1m' });
  });

  it('wrong issuer, audience or bound claims: JWT_CLAIMS_MISMATCH', async () => {
    const cases = [
      { iss: 'https://gitlab.evil.example' },
      { aud: 'https://other.example.org' },
      { project_path: 'release/other' },
      { ref_protected: 'false' },
      { ref_protected: true }, // a boolean prints "true": accepted, see below
      { project_path: ['release/pkg'] },
    ];
    const codes: string[] = [];
    for (const c of cases) {
      now += 15 * 60_000; // a fresh login-failure window for each refusal
      codes.push((await login(await issuer.sign({ ...GITLAB_CLAIMS, ...c }, { nowS: nowS() }))).json?.error?.code ?? 'OK');
    }
    now += 15 * 60_000;
    expect(codes).toEqual(['JWT_CLAIMS_MISMATCH', 'JWT_CLAIMS_MISMATCH', 'JWT_CLAIMS_MISMATCH', 'JWT_CLAIMS_MISMATCH', 'OK', 'JWT_CLAIMS_MISMATCH']);
    const missing = await login(await issuer.sign({ ...GITLAB_CLAIMS, project_path: undefined }, { nowS: nowS() }));
    expect(missing.json.error.code).toBe('JWT_CLAIMS_MISMATCH');
    expect(missing.status).toBe(401);
  });

  it('expiry and clock skew: 60 s tolerated each way, beyond that JWT_EXPIRED / JWT_NOT_YET_VALID', async () => {
    const s = nowS();
    const expiredWithinSkew = await issuer.sign(GITLAB_CLAIMS, { nowS: s - 330 }); // exp = now - 30 s
    expect((await login(expiredWithinSkew)).status).toBe(200);
    const expired = await issuer.sign(GITLAB_CLAIMS, { nowS: s - 400 }); // exp = now - 100 s
    expect((await login(expired)).json.error.code).toBe('JWT_EXPIRED');
    const early = await issuer.sign(GITLAB_CLAIMS, { nowS: s + 30 }); // issuer clock 30 s ahead
    expect((await login(early)).status).toBe(200);
    const future = await issuer.sign(GITLAB_CLAIMS, { nowS: s + 120 }); // nbf and iat 2 min ahead
    expect((await login(future)).json.error.code).toBe('JWT_NOT_YET_VALID');
    const futureIat = await issuer.sign({ ...GITLAB_CLAIMS, nbf: s }, { nowS: s + 120 });
    expect((await login(futureIat)).json.error.code).toBe('JWT_NOT_YET_VALID');
  });

  it('unsigned (alg none), HMAC key confusion, a foreign key, tampering, garbage and missing exp: JWT_INVALID', async () => {
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const foreignKey = (await generateKeyPair('RS256')).privateKey;
    const payload = () => ({ iss: issuer.url, aud: 'https://signet.example.org', iat: nowS(), nbf: nowS(), exp: nowS() + 300, ...GITLAB_CLAIMS });
    const cases: Array<() => Promise<string>> = [
      async () => unsignedJwt(payload()),
      // HS256 keyed with the issuer's public key material (the classic RS/HS confusion).
      async () => {
        const head = `${b64({ alg: 'HS256', kid: 'k1', typ: 'JWT' })}.${b64(payload())}`;
        return `${head}.${createHmac('sha256', String(issuer.jwks.keys[0]!.n)).update(head).digest('base64url')}`;
      },
      () => issuer.sign(GITLAB_CLAIMS, { nowS: nowS(), key: foreignKey }),
      async () => {
        const [h, p, sig] = (await issuer.sign(GITLAB_CLAIMS, { nowS: nowS() })).split('.');
        return `${h}.${b64({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), ref: 'evil' })}.${sig}`;
      },
      async () => 'not.a.jwt',
      async () => 'garbage',
      () => issuer.sign(GITLAB_CLAIMS, { nowS: nowS(), omit: ['exp'] }),
      async () => `${await issuer.sign(GITLAB_CLAIMS, { nowS: nowS() })}.extra`,
    ];
    const results: string[] = [];
    const messages = new Set<string>();
    for (const make of cases) {
      now += 15 * 60_000; // a fresh login-failure window for each refusal
      const r = await login(await make());
      expect(r.status).toBe(401);
      results.push(r.json.error.code);
      messages.add(r.json.error.message);
    }
    expect(results).toEqual(Array(8).fill('JWT_INVALID'));
    // The message says nothing about which check failed.
    expect(messages.size).toBe(1);
  });

  it('GitHub-style role from a JWKS file: repository + ref bound; another repository or branch is refused', async () => {
    const r = await api(t, 'POST', '/v1/auth/jwt/role/gh-rel', {
      token: t.adminToken,
      json: { policies: ['rel-ci'], issuer: issuer.url, audiences: ['https://signet.example.org'], jwks: issuer.jwks, bound_claims: { repository: 'example/pkg', ref: ['refs/heads/main', 'refs/tags/v1'] } },
    });
    expect(r.status, r.text).toBe(201);
    expect(r.json.jwks_keys).toBe(1);
    const fetched = issuer.fetches();
    const claims = { sub: 'repo:example/pkg:ref:refs/heads/main', repository: 'example/pkg', ref: 'refs/heads/main' };
    expect((await login(await issuer.sign(claims, { nowS: nowS() }), 'gh-rel')).status).toBe(200);
    expect((await login(await issuer.sign({ ...claims, ref: 'refs/tags/v1' }, { nowS: nowS() }), 'gh-rel')).status).toBe(200);
    expect(issuer.fetches()).toBe(fetched); // the key set came from the role, not the network
    expect((await login(await issuer.sign({ ...claims, repository: 'example/fork' }, { nowS: nowS() }), 'gh-rel')).json.error.code).toBe('JWT_CLAIMS_MISMATCH');
    expect((await login(await issuer.sign({ ...claims, ref: 'refs/heads/dev' }, { nowS: nowS() }), 'gh-rel')).json.error.code).toBe('JWT_CLAIMS_MISMATCH');
    // A token for the GitHub role does not open the GitLab role.
    expect((await login(await issuer.sign(claims, { nowS: nowS() }))).json.error.code).toBe('JWT_CLAIMS_MISMATCH');
  });

  it('refuses role settings that would trust too much, and an unreachable key set is JWKS_UNAVAILABLE (503)', async () => {
    const base = { policies: ['x'], issuer: issuer.url, audiences: ['a'], jwks_url: issuer.jwksUrl, bound_claims: { project_path: 'p' } };
    const bad = [
      { ...base, bound_claims: {} },
      { ...base, jwks: issuer.jwks },
      { ...base, jwks_url: 'http://jwks.example.org/keys' },
      { ...base, issuer: 'http://gitlab.example.org' },
      { ...base, algorithms: ['HS256'] },
      { ...base, algorithms: ['none'] },
      { ...base, jwks_url: undefined, jwks: { keys: [{ ...issuer.jwks.keys[0], d: 'private' }] } },
      { ...base, clock_skew: '10m' },
      { ...base, audiences: [] },
    ];
    for (const body of bad) {
      const r = await api(t, 'POST', '/v1/auth/jwt/role/bad', { token: t.adminToken, json: body });
      expect([r.status, JSON.stringify(body)]).toEqual([400, JSON.stringify(body)]);
    }
    const badPolicy = await api(t, 'POST', '/v1/auth/jwt/role/bad', { token: t.adminToken, json: { ...base, policies: undefined, policy: 'rules: [{keys: [rel], kinds: [sgin]}]' } });
    expect(badPolicy.json.error.code).toBe('POLICY_INVALID');
    expect((await api(t, 'GET', '/v1/auth/jwt/role/bad', { token: t.adminToken })).json.error.code).toBe('ROLE_NOT_FOUND');
    const withPolicy = await api(t, 'POST', '/v1/auth/jwt/role/withdoc', { token: t.adminToken, json: { ...base, policies: undefined, policy: 'rules: [{keys: [rel], kinds: [detached]}]' } });
    expect(withPolicy.json.policies).toEqual(['withdoc']);
    expect((await api(t, 'GET', '/v1/sys/policies/withdoc', { token: t.adminToken })).status).toBe(200);
    const down = await api(t, 'POST', '/v1/auth/jwt/role/down', { token: t.adminToken, json: { ...base, jwks_url: 'http://127.0.0.1:9/jwks' } });
    expect(down.status).toBe(201);
    const r = await login(await issuer.sign({ ...GITLAB_CLAIMS, aud: 'a', project_path: 'p' }, { nowS: nowS() }), 'down');
    expect(r.status).toBe(503);
    expect(r.json.error.code).toBe('JWKS_UNAVAILABLE');
    expect((await login('x', 'no-such-role')).json.error.code).toBe('LOGIN_FAILED');
  });

  it('failed JWT logins are rate-limited per role and source', async () => {
    const wrong = await issuer.sign({ ...GITLAB_CLAIMS, project_path: 'release/other' }, { nowS: nowS() });
    for (let i = 0; i < 5; i++) expect((await login(wrong)).json.error.code).toBe('JWT_CLAIMS_MISMATCH');
    const res = await fetch(new URL('/v1/auth/jwt/login', t.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ role: 'gitlab-rel', jwt: await issuer.sign(GITLAB_CLAIMS, { nowS: nowS() }) }),
    });
    expect(res.status).toBe(429);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('LOGIN_RATE_LIMITED');
    const retryAfter = Number(res.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(300);
    // The audit stream has the refusals with the reason, never the JWT.
    const { readFileSync } = await import('node:fs');
    const audit = readFileSync(`${t.dataDir}/audit.log`, 'utf8');
    expect(audit).toContain('bound_claim:project_path');
    expect(audit).not.toContain(wrong);
    expect(audit).not.toContain(wrong.split('.')[2]!);
  });
});
