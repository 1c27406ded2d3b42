// Policies and rate limits on two signet nodes sharing one PostgreSQL: a rate window is one
// window for the whole cluster, and a policy changed on one node applies on the other within the
// cache's revalidation time (1 s).
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startTestServer, type TestServer } from '../helpers/server.js';
import { startPgCluster, type PgCluster } from '../helpers/postgres.js';

describe('policies on two nodes (PostgreSQL)', () => {
  let cluster: PgCluster;
  let a: TestServer;
  let b: TestServer;

  beforeAll(async () => {
    cluster = await startPgCluster();
    const url = await cluster.createDatabase();
    a = await startTestServer({ store: url, logLevel: 'warn' });
    b = await startTestServer({ store: url, logLevel: 'warn', masterKeyFile: join(a.dataDir, 'master.key') });
  }, 120_000);

  afterAll(async () => {
    await b?.close();
    await a?.close();
    cluster?.destroy();
  });

  it('share one rate window and see each other’s policy changes', async () => {
    const admin = a.adminToken;
    expect((await api(a, 'POST', '/v1/keys', { token: admin, json: { name: 'rel', algorithm: 'ed25519', user_id: 'r <r@example.org>' } })).status).toBe(201);
    const w = await api(a, 'PUT', '/v1/sys/policies/ci', { token: admin, json: { policy: 'rules: [{keys: [rel], kinds: [detached], rate: 5/1h}]' } });
    expect(w.status).toBe(200);
    const tok = (await api(a, 'POST', '/v1/auth/token/create', { token: admin, json: { policies: ['ci'] } })).json.token as string;

    const replies = await Promise.all(
      Array.from({ length: 14 }, (_, i) => api(i % 2 === 0 ? a : b, 'POST', `/v1/sign/rel?name=n${i}`, { token: tok, body: Buffer.from(`artifact ${i}`) })),
    );
    const statuses = replies.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 200)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(9);
    expect(replies.filter((r) => r.status === 429).every((r) => r.json.error.code === 'RATE_LIMITED')).toBe(true);

    // A policy written on node a (no rate, another kind) is what node b enforces within ~1 s.
    await api(a, 'PUT', '/v1/sys/policies/ci', { token: admin, json: { policy: 'rules: [{keys: [rel], kinds: [sums]}]' } });
    const deadline = Date.now() + 5000;
    // (A sums body must be a checksum list: the server checks it.)
    const sums = Buffer.from(`${'0'.repeat(64)}  s\n`);
    let onB = await api(b, 'POST', '/v1/sign/rel?name=s&kind=sums', { token: tok, body: sums });
    while (onB.status !== 200 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      onB = await api(b, 'POST', '/v1/sign/rel?name=s&kind=sums', { token: tok, body: sums });
    }
    expect(onB.status).toBe(200);
    expect((await api(b, 'POST', '/v1/sign/rel?name=s', { token: tok, body: Buffer.from('x') })).json.error.code).toBe('POLICY_DENIED');
  });
});
