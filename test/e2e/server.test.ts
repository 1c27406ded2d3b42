// The HTTP server over real HTTP on loopback: every bad input gets its stable code, and
// signatures made through the API verify with real gpg.
import { statSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTools } from '../helpers/tools.js';
import { Gpg } from '../helpers/gpg.js';
import { api, startTestServer, type TestServer } from '../helpers/server.js';

describe('signet server', () => {
  let t: TestServer;
  let gpg: Gpg;

  beforeAll(async () => {
    requireTools('gpg');
    t = await startTestServer({ limits: { maxArtifactBytes: 1024 * 1024 } });
    gpg = new Gpg();
    for (const [name, algorithm] of [
      ['ed', 'ed25519'],
      ['rsa', 'rsa4096'],
    ] as const) {
      const r = await api(t, 'POST', '/v1/keys', { token: t.adminToken, json: { name, algorithm, user_id: `Test ${name} <${name}@example.org>` } });
      expect(r.status, r.text).toBe(201);
      const pub = await api(t, 'GET', `/v1/keys/${name}/public`, { token: t.adminToken });
      expect(pub.status).toBe(200);
      expect(pub.text).toMatch(/^-----BEGIN PGP PUBLIC KEY BLOCK-----/);
      gpg.importKey(pub.text);
    }
  }, 120_000);

  afterAll(async () => {
    gpg?.close();
    await t?.close();
  });

  it('initialises the data dir on first start with private permissions', () => {
    expect(t.adminToken).toMatch(/^sgn\.[A-Za-z0-9_-]{43}$/);
    expect(statSync(t.dataDir).mode & 0o777).toBe(0o700);
    expect(statSync(join(t.dataDir, 'master.key')).mode & 0o777).toBe(0o600);
    expect(statSync(join(t.dataDir, 'admin-token')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(t.dataDir, 'admin-token'), 'utf8').trim()).toBe(t.adminToken);
  });

  it('answers health, readiness and metrics', async () => {
    expect((await api(t, 'GET', '/healthz')).json).toEqual({ status: 'ok' });
    expect((await api(t, 'GET', '/readyz')).status).toBe(200);
    const m = await api(t, 'GET', '/metrics');
    expect(m.status).toBe(200);
    expect(m.text).toMatch(/signet_http_requests_total\{route="\/v1\/keys",method="POST",status="201"\} 2/);
  });

  it('counts signatures and their latency by key and kind in /metrics', async () => {
    const value = async (series: string): Promise<number> => {
      const text = (await api(t, 'GET', '/metrics')).text;
      const line = text.split('\n').find((l) => l.startsWith(`${series} `));
      return line === undefined ? 0 : Number(line.slice(series.length + 1));
    };
    const count = 'signet_signatures_total{key="ed",kind="sums"}';
    const latency = 'signet_sign_duration_seconds_count{key="ed",kind="sums"}';
    const other = 'signet_signatures_total{key="rsa",kind="sums"}';
    const before = [await value(count), await value(latency), await value(other)];
    for (let i = 0; i < 3; i++) expect((await api(t, 'POST', '/v1/sign/ed?kind=sums', { token: t.adminToken, body: `${'0'.repeat(63)}${i}  f${i}\n` })).status).toBe(200);
    expect((await api(t, 'POST', '/v1/sign/rsa?kind=sums', { token: t.adminToken, body: `${'0'.repeat(64)}  f\n` })).status).toBe(200);
    expect([await value(count), await value(latency), await value(other)]).toEqual([before[0]! + 3, before[1]! + 3, before[2]! + 1]);
  });

  it('an upload cut short signs nothing, is no internal error, and the server goes on', async () => {
    const { port } = new URL(t.url);
    const signed = () => t.logs.filter((l) => l.includes('"route":"/v1/sign/:key"') && l.includes('"log_index"')).length;
    const before = signed();
    await new Promise<void>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () => {
        socket.write(`POST /v1/sign/ed?name=cut.bin HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${t.adminToken}\r\nContent-Type: application/octet-stream\r\nContent-Length: 100000\r\n\r\n`);
        socket.write(Buffer.alloc(5000, 1), () => setTimeout(() => socket.destroy(), 50));
      });
      socket.on('close', () => resolve());
      socket.on('error', reject);
    });
    // The server notices the cut when the socket closes; give it that moment.
    await new Promise((r) => setTimeout(r, 300));
    expect(t.logs.some((l) => l.includes('internal error'))).toBe(false);
    expect(signed()).toBe(before);
    expect((await api(t, 'POST', '/v1/sign/ed?name=after.bin', { token: t.adminToken, body: 'after' })).status).toBe(200);
  });

  it('puts every one of many concurrent signatures on record in the audit log, once', async () => {
    const names = Array.from({ length: 24 }, (_, i) => `audit-${i}.bin`);
    const answers = await Promise.all(names.map((n) => api(t, 'POST', `/v1/sign/ed?name=${n}`, { token: t.adminToken, body: n })));
    expect(answers.map((a) => a.status)).toEqual(names.map(() => 200));
    const lines = readFileSync(join(t.dataDir, 'audit.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    for (const n of names) {
      const mine = lines.filter((l) => l.action?.name === n);
      expect(mine).toHaveLength(1);
      expect(mine[0]).toMatchObject({ type: 'authz', decision: 'allow', rule: 'admin', action: { op: 'sign', key: 'ed' } });
    }
  });

  it('lists keys without secrets', async () => {
    const r = await api(t, 'GET', '/v1/keys', { token: t.adminToken });
    expect(r.status).toBe(200);
    expect(r.json.keys.map((k: { name: string }) => k.name).sort()).toEqual(['ed', 'rsa']);
    for (const k of r.json.keys) {
      expect(Object.keys(k).sort()).toEqual(['algorithm', 'backend', 'created', 'fingerprint', 'key_id', 'name', 'origin', 'profile', 'purposes', 'state', 'user_id']);
      // Keys created without purposes may sign every kind (docs/policy.md "Key purposes").
      expect(k.purposes).toEqual(['detached', 'clearsign', 'rpm', 'yum', 'apt', 'pacman', 'sums', 'git']);
      expect(k.fingerprint).toMatch(/^[0-9A-F]{40}$/);
    }
  });

  for (const key of ['ed', 'rsa']) {
    it(`${key}: detached binary, armored and cleartext signatures verify with gpg; tampered data does not`, async () => {
      const data = Buffer.from(`release ${key} ${Date.now()}\n`);
      const bin = await api(t, 'POST', `/v1/sign/${key}?name=release.tar.gz`, { token: t.adminToken, body: data });
      expect(bin.status, bin.text).toBe(200);
      expect(bin.json.artifact.sha256).toMatch(/^[0-9a-f]{64}$/);
      const sig = Buffer.from(bin.json.signature, 'base64');
      expect(gpg.verifyDetached(sig, data).ok).toBe(true);
      expect(gpg.verifyDetached(sig, Buffer.concat([data, Buffer.from('x')])).ok).toBe(false);

      const arm = await api(t, 'POST', `/v1/sign/${key}?armor=1`, { token: t.adminToken, body: data });
      expect(arm.json.armored).toMatch(/^-----BEGIN PGP SIGNATURE-----/);
      expect(gpg.verifyDetached(arm.json.armored, data).ok).toBe(true);

      const text = 'Origin: signet\n-dash line\nFrom here  \ntrailing tab\t\nUnicode: äöü ✓\nno final newline';
      const clear = await api(t, 'POST', `/v1/sign/${key}?clear=1`, { token: t.adminToken, body: text });
      expect(clear.status, clear.text).toBe(200);
      expect(clear.json.cleartext).toMatch(/^-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA(256|512)\n/);
      expect(gpg.verifyClearsigned(clear.json.cleartext).ok).toBe(true);
      expect(gpg.verifyClearsigned(clear.json.cleartext.replace('Origin: signet', 'Origin: evil')).ok).toBe(false);
    });
  }

  it('refuses a signature from the other key', async () => {
    const data = Buffer.from('artifact');
    const ed = await api(t, 'POST', '/v1/sign/ed', { token: t.adminToken, body: data });
    const other = new Gpg();
    try {
      const pub = await api(t, 'GET', '/v1/keys/rsa/public', { token: t.adminToken });
      other.importKey(pub.text);
      const r = other.verifyDetached(Buffer.from(ed.json.signature, 'base64'), data);
      expect(r.ok).toBe(false);
      expect(r.statusLines.some((l) => l.includes('NO_PUBKEY') || l.includes('ERRSIG'))).toBe(true);
    } finally {
      other.close();
    }
  });

  describe('bad input gets a stable code', () => {
    const cases: Array<[string, () => Promise<{ status: number; json: any }>, number, string]> = [
      ['no token', () => api(t, 'GET', '/v1/keys'), 401, 'TOKEN_MISSING'],
      ['malformed token', () => api(t, 'GET', '/v1/keys', { token: 'nope' }), 401, 'TOKEN_INVALID'],
      ['unknown token', () => api(t, 'GET', '/v1/keys', { token: `sgn.${'A'.repeat(43)}` }), 401, 'TOKEN_INVALID'],
      ['not a bearer header', () => api(t, 'GET', '/v1/keys', { headers: { authorization: 'Basic Zm9vOmJhcg==' } }), 401, 'TOKEN_INVALID'],
      ['oversized token', () => api(t, 'GET', '/v1/keys', { token: `sgn.${'A'.repeat(5000)}` }), 401, 'TOKEN_INVALID'],
      ['unknown key', () => api(t, 'POST', '/v1/sign/nokey', { token: t.adminToken, body: 'x' }), 404, 'KEY_NOT_FOUND'],
      ['invalid key name', () => api(t, 'POST', '/v1/sign/..%2Fetc', { token: t.adminToken, body: 'x' }), 400, 'BAD_REQUEST'],
      ['empty body', () => api(t, 'POST', '/v1/sign/ed', { token: t.adminToken, body: '' }), 400, 'BODY_EMPTY'],
      ['no body', () => api(t, 'POST', '/v1/sign/ed', { token: t.adminToken }), 400, 'BODY_EMPTY'],
      ['oversized body', () => api(t, 'POST', '/v1/sign/ed', { token: t.adminToken, body: Buffer.alloc(1024 * 1024 + 1) }), 413, 'BODY_TOO_LARGE'],
      ['unknown query field', () => api(t, 'POST', '/v1/sign/ed?colour=red', { token: t.adminToken, body: 'x' }), 400, 'QUERY_INVALID'],
      ['bad kind', () => api(t, 'POST', '/v1/sign/ed?kind=evil', { token: t.adminToken, body: 'x' }), 400, 'QUERY_INVALID'],
      ['bad flag', () => api(t, 'POST', '/v1/sign/ed?armor=yes', { token: t.adminToken, body: 'x' }), 400, 'QUERY_INVALID'],
      ['control chars in name', () => api(t, 'POST', '/v1/sign/ed?name=a%0Ab', { token: t.adminToken, body: 'x' }), 400, 'QUERY_INVALID'],
      ['JSON to the sign route', () => api(t, 'POST', '/v1/sign/ed', { token: t.adminToken, json: { a: 1 } }), 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ['malformed JSON', () => api(t, 'POST', '/v1/keys', { token: t.adminToken, body: '{"name":', headers: { 'content-type': 'application/json' } }), 400, 'BODY_INVALID'],
      ['unknown JSON field', () => api(t, 'POST', '/v1/keys', { token: t.adminToken, json: { name: 'k1', user_id: 'u', admin: true } }), 400, 'BODY_INVALID'],
      ['bad algorithm', () => api(t, 'POST', '/v1/keys', { token: t.adminToken, json: { name: 'k1', user_id: 'u', algorithm: 'dsa1024' } }), 400, 'BODY_INVALID'],
      ['traversal key name', () => api(t, 'POST', '/v1/keys', { token: t.adminToken, json: { name: '../k', user_id: 'u' } }), 400, 'BODY_INVALID'],
      ['duplicate key', () => api(t, 'POST', '/v1/keys', { token: t.adminToken, json: { name: 'ed', user_id: 'u' } }), 409, 'KEY_EXISTS'],
      ['garbage key import', () => api(t, 'POST', '/v1/keys/import', { token: t.adminToken, json: { name: 'imp', secret_key: 'xQEA' } }), 400, 'OPENPGP_MALFORMED'],
      ['unknown route', () => api(t, 'GET', '/v1/nothing', { token: t.adminToken }), 404, 'NOT_FOUND'],
    ];
    for (const [what, call, status, code] of cases) {
      it(what, async () => {
        const r = await call();
        expect(r.status).toBe(status);
        expect(r.json?.error?.code).toBe(code);
        expect(typeof r.json?.error?.message).toBe('string');
      });
    }
  });

  it('streams a large artifact without buffering it', async () => {
    const big = await startTestServer({ limits: { maxArtifactBytes: 2 * 1024 * 1024 * 1024 } });
    try {
      const created = await api(big, 'POST', '/v1/keys', { token: big.adminToken, json: { name: 'big', algorithm: 'ed25519', user_id: 'Big <big@example.org>' } });
      expect(created.status).toBe(201);
      const chunk = Buffer.alloc(1024 * 1024, 0x5a);
      const total = 384;
      const before = process.memoryUsage().rss;
      let peak = before;
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent++ >= total) controller.close();
          else controller.enqueue(chunk);
          peak = Math.max(peak, process.memoryUsage().rss);
        },
      });
      let sent = 0;
      const res = await fetch(new URL('/v1/sign/big', big.url), {
        method: 'POST',
        headers: { authorization: `Bearer ${big.adminToken}`, 'content-type': 'application/octet-stream' },
        body,
        duplex: 'half',
      } as RequestInit);
      const json = (await res.json()) as { artifact: { bytes: number } };
      expect(res.status).toBe(200);
      expect(json.artifact.bytes).toBe(total * chunk.length);
      // 384 MiB went through; memory grew by far less than that.
      expect(peak - before).toBeLessThan(128 * 1024 * 1024);
    } finally {
      await big.close();
    }
  });

  it('at log level warn writes no access line, and still audits every decision', async () => {
    // docs/performance.md: dropping the per-request access line is an operator's choice; the
    // audit record of each decision is not.
    const quiet = await startTestServer({ logLevel: 'warn' });
    try {
      const key = await api(quiet, 'POST', '/v1/keys', { token: quiet.adminToken, json: { name: 'q', algorithm: 'ed25519', user_id: 'Q <q@example.org>' } });
      expect(key.status, key.text).toBe(201);
      const signed = await api(quiet, 'POST', '/v1/sign/q?name=quiet.bin', { token: quiet.adminToken, body: 'quiet' });
      expect(signed.status).toBe(200);
      const denied = await api(quiet, 'POST', '/v1/sign/q?name=quiet.bin', { token: 'not-a-token', body: 'quiet' });
      expect(denied.status).toBe(401);
      expect(quiet.logs.filter((l) => l.includes('"msg":"request"'))).toEqual([]);
      const audit = readFileSync(join(quiet.dataDir, 'audit.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      expect(audit.filter((l) => l.action?.name === 'quiet.bin').map((l) => l.decision)).toEqual(['allow', 'deny']);
    } finally {
      await quiet.close();
    }
    // The same request at the default level leaves its access line.
    expect((await api(t, 'POST', '/v1/sign/ed?name=loud.bin', { token: t.adminToken, body: 'loud' })).status).toBe(200);
    expect(t.logs.some((l) => l.includes('"msg":"request"') && l.includes('"artifact":"loud.bin"'))).toBe(true);
  });

  it('refuses to start with a different master key and changes nothing', async () => {
    const other = await startTestServer({ keepData: true });
    const dataDir = other.dataDir;
    await other.close();
    const masterPath = join(dataDir, 'master.key');
    const original = readFileSync(masterPath);
    const wrong = join(dataDir, '..', 'wrong.key');
    writeFileSync(wrong, `signet-master-key-v1:${Buffer.alloc(32, 7).toString('base64')}\n`, { mode: 0o600 });
    await expect(startTestServer({ dataDir, masterKeyFile: wrong })).rejects.toMatchObject({ code: 'MASTER_KEY_MISMATCH' });
    expect(readFileSync(masterPath)).toEqual(original);
    // The right key still works afterwards.
    const again = await startTestServer({ dataDir });
    expect(again.adminToken).toBe(''); // not a first start: no new admin token
    await again.close();
  });
});
