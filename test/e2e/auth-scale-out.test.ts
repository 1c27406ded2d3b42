// Auth on two signet nodes sharing one PostgreSQL: a secret wrapped on one node unwraps once on
// either, a single-use secret_id logs in once across both, failure counters and revocations are
// shared.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startTestServer, type TestServer } from '../helpers/server.js';
import { startPgCluster, type PgCluster } from '../helpers/postgres.js';

describe('auth across two nodes on PostgreSQL', () => {
  let cluster: PgCluster;
  let a: TestServer;
  let b: TestServer;
  let admin: string;
  let roleId: string;

  beforeAll(async () => {
    cluster = await startPgCluster();
    const url = await cluster.createDatabase();
    a = await startTestServer({ store: url, logLevel: 'warn' });
    b = await startTestServer({ store: url, logLevel: 'warn', masterKeyFile: join(a.dataDir, 'master.key') });
    admin = a.adminToken;
    roleId = (await api(a, 'POST', '/v1/auth/approle/role/ci', { token: admin, json: { policies: ['x'] } })).json.role_id;
  }, 120_000);

  afterAll(async () => {
    await a?.close();
    await b?.close();
    cluster?.destroy();
  });

  it('wrapped on node A, unwrapped concurrently on A and B: one wins, the other gets WRAPPING_TOKEN_USED; logins and revocation are shared', async () => {
    const w = await api(a, 'POST', '/v1/auth/approle/role/ci/secret-id', { token: admin, json: { wrap_ttl: '60s' } });
    const both = await Promise.all([api(b, 'POST', '/v1/sys/wrapping/unwrap', { token: w.json.wrap_info.token }), api(a, 'POST', '/v1/sys/wrapping/unwrap', { token: w.json.wrap_info.token })]);
    expect(both.map((r) => r.status).sort()).toEqual([200, 400]);
    expect(both.find((r) => r.status === 400)?.json.error.code).toBe('WRAPPING_TOKEN_USED');
    const secretId = both.find((r) => r.status === 200)?.json.data.secret_id as string;
    // The unwrapped secret_id logs in on either node, once.
    const logins = await Promise.all([a, b, a, b, a, b].map((n) => api(n, 'POST', '/v1/auth/approle/login', { json: { role_id: roleId, secret_id: secretId } })));
    expect(logins.filter((r) => r.status === 200)).toHaveLength(1);
    const token = logins.find((r) => r.status === 200)!.json;
    // Revoked on B, refused on A.
    expect((await api(a, 'GET', '/v1/auth/token/lookup-self', { token: token.token })).status).toBe(200);
    await api(b, 'POST', '/v1/auth/token/revoke', { token: admin, json: { accessor: token.accessor } });
    expect((await api(a, 'GET', '/v1/auth/token/lookup-self', { token: token.token })).json.error.code).toBe('TOKEN_REVOKED');
  });

  it('login failures on A and B add up against one (role, source) limit', async () => {
    const other = (await api(b, 'POST', '/v1/auth/approle/role/ci2', { token: admin, json: { policies: ['x'] } })).json.role_id as string;
    const bogus = 'sgs.' + 'Q'.repeat(43);
    for (const n of [a, b, a, b, a]) expect((await api(n, 'POST', '/v1/auth/approle/login', { json: { role_id: other, secret_id: bogus } })).json.error.code).toBe('LOGIN_FAILED');
    const good = await api(a, 'POST', '/v1/auth/approle/role/ci2/secret-id', { token: admin, json: {} });
    const limited = await api(b, 'POST', '/v1/auth/approle/login', { json: { role_id: other, secret_id: good.json.secret_id } });
    expect([limited.status, limited.json.error.code]).toEqual([429, 'LOGIN_RATE_LIMITED']);
  });
});
