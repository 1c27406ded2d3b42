// No secret in clear: after a full auth flow (AppRole with and without wrapping, unwrap twice,
// failed logins, JWT login, token list and revoke) at trace log level, no secret_id, wrapping
// token, API token, JWT or presented-but-wrong secret appears in the server log, the audit log,
// an error response, or any file of the data dir (DATA/admin-token holds the admin token by design).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startTestServer, type TestServer } from '../helpers/server.js';
import { startIssuer, type TestIssuer } from '../helpers/oidc.js';

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : e.isFile() ? [join(dir, e.name)] : []));
}

/** The forms a credential could leak in: as issued, its random part, and that part decoded. */
function forms(secret: string): Array<string | Buffer> {
  const body = secret.includes('.') && /^sg[nsw]\./.test(secret) ? secret.slice(4) : secret;
  const out: Array<string | Buffer> = [secret, body];
  if (/^[A-Za-z0-9_-]{43}$/.test(body)) {
    const raw = Buffer.from(body, 'base64url');
    out.push(raw, raw.toString('hex'), raw.toString('base64'));
  }
  return out;
}

describe('auth: no secret in clear', () => {
  let t: TestServer;
  let issuer: TestIssuer;
  const secrets: string[] = [];
  const errorBodies: string[] = [];

  beforeAll(async () => {
    issuer = await startIssuer('signet');
    t = await startTestServer({ logLevel: 'trace' });
    const call = async (...args: Parameters<typeof api>) => {
      const r = await api(...args);
      if (r.status >= 400) errorBodies.push(r.text);
      return r;
    };
    const role = await call(t, 'POST', '/v1/auth/approle/role/ci', { token: t.adminToken, json: { policy: 'rules:\n  - keys: [rel]\n    kinds: [detached]\n' } });
    const plain = await call(t, 'POST', '/v1/auth/approle/role/ci/secret-id', { token: t.adminToken, json: { uses: 2 } });
    secrets.push(plain.json.secret_id);
    const wrapped = await call(t, 'POST', '/v1/auth/approle/role/ci/secret-id', { token: t.adminToken, json: {}, headers: { 'x-signet-wrap-ttl': '60s' } });
    secrets.push(wrapped.json.wrap_info.token);
    const unwrapped = await call(t, 'POST', '/v1/sys/wrapping/unwrap', { headers: { 'x-signet-token': wrapped.json.wrap_info.token } });
    secrets.push(unwrapped.json.data.secret_id);
    await call(t, 'POST', '/v1/sys/wrapping/unwrap', { token: wrapped.json.wrap_info.token });
    const unused = await call(t, 'POST', '/v1/auth/approle/role/ci/secret-id', { token: t.adminToken, json: { wrap_ttl: '1h' } });
    secrets.push(unused.json.wrap_info.token);

    const login = await call(t, 'POST', '/v1/auth/approle/login', { json: { role_id: role.json.role_id, secret_id: plain.json.secret_id } });
    secrets.push(login.json.token);
    const login2 = await call(t, 'POST', '/v1/auth/approle/login', { json: { role_id: role.json.role_id, secret_id: unwrapped.json.data.secret_id } });
    secrets.push(login2.json.token);
    const wrong = 'sgs.' + 'W'.repeat(20) + 'rongSecretPresented42xyz';
    secrets.push(wrong);
    await call(t, 'POST', '/v1/auth/approle/login', { json: { role_id: role.json.role_id, secret_id: wrong } });
    // Role_id and secret_id swapped by mistake: the secret lands in the role field.
    await call(t, 'POST', '/v1/auth/approle/login', { json: { role_id: plain.json.secret_id, secret_id: role.json.role_id } });

    await call(t, 'POST', '/v1/auth/jwt/role/gl', {
      token: t.adminToken,
      json: { policies: ['ci'], issuer: issuer.url, audiences: ['signet'], jwks_url: issuer.jwksUrl, bound_claims: { project_path: 'release/pkg' } },
    });
    const jwt = await issuer.sign({ project_path: 'release/pkg' });
    secrets.push(jwt);
    const jwtLogin = await call(t, 'POST', '/v1/auth/jwt/login', { json: { role: 'gl', jwt } });
    secrets.push(jwtLogin.json.token);
    const badJwt = await issuer.sign({ project_path: 'other/pkg' });
    secrets.push(badJwt);
    await call(t, 'POST', '/v1/auth/jwt/login', { json: { role: 'gl', jwt: badJwt } });

    await call(t, 'POST', '/v1/keys', { token: t.adminToken, json: { name: 'rel', algorithm: 'ed25519', user_id: 'R <r@example.org>' } });
    await call(t, 'POST', '/v1/sign/rel?name=a.txt', { token: login.json.token, body: 'artifact' });
    await call(t, 'GET', '/v1/auth/token', { token: t.adminToken });
    await call(t, 'GET', '/v1/auth/token/lookup-self', { token: login2.json.token });
    await call(t, 'POST', '/v1/auth/token/revoke', { token: t.adminToken, json: { accessor: login.json.accessor } });
    await call(t, 'GET', '/v1/auth/token/lookup-self', { token: login.json.token });
    await call(t, 'GET', '/v1/keys', { token: `${login2.json.token.slice(0, -2)}zz` });
  }, 60_000);

  afterAll(async () => {
    await t?.close();
    await issuer?.close();
  });

  it('the flow really ran (every credential was issued)', () => {
    expect(secrets).toHaveLength(10);
    for (const s of secrets) expect(typeof s === 'string' && s.length > 40).toBe(true);
    expect(t.logs.length).toBeGreaterThan(20);
    expect(errorBodies.length).toBeGreaterThanOrEqual(5);
  });

  it('server log, audit log and error responses hold no credential in any form', () => {
    const text = [...t.logs, readFileSync(join(t.dataDir, 'audit.log'), 'utf8'), ...errorBodies].join('\n');
    expect(text).toContain('already_unwrapped');
    for (const s of secrets) for (const f of forms(s)) if (typeof f === 'string') expect(text.includes(f), `${s.slice(0, 8)}… leaked`).toBe(false);
    // Nor the JWT signature alone.
    for (const s of secrets.filter((x) => x.split('.').length === 3 && !x.startsWith('sg'))) expect(text.includes(s.split('.')[2]!)).toBe(false);
  });

  it('no file in the data dir holds a credential (the store keeps hashes; wrapped secrets are sealed)', async () => {
    await t.server.close().catch(() => undefined); // checkpoint the WAL into the database file
    // The scanner finds what is there: the admin token file holds the admin token by design.
    const adminFile = readFileSync(join(t.dataDir, 'admin-token'));
    for (const f of forms(t.adminToken).slice(0, 2)) expect(adminFile.includes(Buffer.from(f as string))).toBe(true);
    const files = filesUnder(t.dataDir).filter((f) => !f.endsWith('admin-token'));
    expect(files.some((f) => f.endsWith('signet.db'))).toBe(true);
    for (const file of files) {
      const bytes = readFileSync(file);
      for (const s of secrets) {
        for (const f of forms(s)) expect(bytes.includes(typeof f === 'string' ? Buffer.from(f) : f), `${s.slice(0, 8)}… in ${file}`).toBe(false);
      }
    }
  });
});
