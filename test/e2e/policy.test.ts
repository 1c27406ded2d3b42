// Policies end to end over real HTTP: management (admin only, all or nothing), deny by default,
// every sign dimension (key, kind, name, source), RPM batches checked per package name, rate
// windows that survive a restart, trusted proxies, and the audit stream.
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeEntry } from '../../src/tlog/entry.js';
import { buildPackage, defaultMainEntries, str } from '../fixtures/rpm/build-package.js';
import { api, startTestServer, type TestServer } from '../helpers/server.js';

async function token(t: TestServer, policies: string[], ttl = '20m'): Promise<string> {
  const r = await api(t, 'POST', '/v1/auth/token/create', { token: t.adminToken, json: { policies, ttl } });
  expect(r.status, r.text).toBe(201);
  return r.json.token as string;
}

async function writePolicy(t: TestServer, name: string, policy: string): Promise<{ status: number; json: any }> {
  return api(t, 'PUT', `/v1/sys/policies/${name}`, { token: t.adminToken, json: { policy } });
}

function sign(t: TestServer, tok: string, key: string, query: string, headers: Record<string, string> = {}) {
  // The server checks the body against the kind (src/sign/content.ts): a checksum list for sums.
  const body = /(?:^|&)kind=sums(?:&|$)/.test(query) ? `${'ab'.repeat(32)}  artifact\n` : 'artifact bytes';
  return api(t, 'POST', `/v1/sign/${key}?${query}`, { token: tok, body: Buffer.from(body), headers });
}

function rpmPrefix(name: string): Buffer {
  const payload = Buffer.from(`payload of ${name}`);
  const entries = defaultMainEntries(payload).map((e) => (e.tag === 1000 ? str(1000, name) : e));
  const pkg = buildPackage({ mainEntries: entries, payload });
  return pkg.file.subarray(0, pkg.file.length - pkg.payload.length);
}

function auditLines(t: TestServer): any[] {
  return readFileSync(join(t.dataDir, 'audit.log'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

describe('policies', () => {
  let t: TestServer;

  beforeAll(async () => {
    t = await startTestServer();
    for (const name of ['rel', 'iso', 'other']) {
      const r = await api(t, 'POST', '/v1/keys', { token: t.adminToken, json: { name, algorithm: 'ed25519', user_id: `${name} <${name}@example.org>` } });
      expect(r.status, r.text).toBe(201);
    }
  }, 60_000);

  afterAll(async () => {
    await t?.close();
  });

  it('writes, reads, lists and deletes policies; a bad update changes nothing', async () => {
    const text = "# CI for releases\nrules:\n  - {keys: [rel], kinds: [rpm, detached], names: ['pkg-*']}\n";
    const w = await writePolicy(t, 'crud', text);
    expect(w.status, JSON.stringify(w.json)).toBe(200);
    expect(w.json).toMatchObject({ name: 'crud', rules: 1, policy: text, builtin: false });
    expect((await api(t, 'GET', '/v1/sys/policies/crud', { token: t.adminToken })).json.policy).toBe(text);
    const list = await api(t, 'GET', '/v1/sys/policies', { token: t.adminToken });
    expect(list.json.policies.map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(['admin', 'crud']));

    // All or nothing: an invalid update is refused with the failing path, the old text stays.
    const bad = await writePolicy(t, 'crud', "rules:\n  - {keys: [rel], kinds: [rpm]}\n  - {keys: [rel], kinds: [rpm], cidrs: ['10.0.0.1/8']}\n");
    expect(bad.status).toBe(400);
    expect(bad.json.error.code).toBe('POLICY_INVALID');
    expect(bad.json.error.message).toMatch(/^rules\.1\.cidrs\.0: /);
    expect((await api(t, 'GET', '/v1/sys/policies/crud', { token: t.adminToken })).json.policy).toBe(text);

    for (const [body, code] of [
      [{ policy: 'x'.repeat(70_000) }, 'POLICY_INVALID'],
      [{ policy: 'rules: [{keys: [rel], kinds: [rpm], extra: 1}]' }, 'POLICY_INVALID'],
      [{ policy: 'rules: [{keys: [rel], kinds: [rpm]}]', more: 1 }, 'BODY_INVALID'],
      [{}, 'BODY_INVALID'],
    ] as const) {
      const r = await api(t, 'PUT', '/v1/sys/policies/crud', { token: t.adminToken, json: body });
      expect(r.json.error.code).toBe(code);
    }
    expect((await writePolicy(t, 'admin', 'rules: [{keys: [rel], kinds: [rpm]}]')).json.error.code).toBe('POLICY_INVALID');
    expect((await writePolicy(t, 'Bad.Name', 'rules: [{keys: [rel], kinds: [rpm]}]')).json.error.code).toBe('POLICY_INVALID');
    expect((await api(t, 'DELETE', '/v1/sys/policies/admin', { token: t.adminToken })).json.error.code).toBe('POLICY_INVALID');

    expect((await api(t, 'DELETE', '/v1/sys/policies/crud', { token: t.adminToken })).json).toEqual({ deleted: 'crud' });
    const gone = await api(t, 'GET', '/v1/sys/policies/crud', { token: t.adminToken });
    expect([gone.status, gone.json.error.code]).toEqual([404, 'POLICY_NOT_FOUND']);
    expect((await api(t, 'DELETE', '/v1/sys/policies/crud', { token: t.adminToken })).json.error.code).toBe('POLICY_NOT_FOUND');
  });

  it('refuses every admin route to a non-admin token with POLICY_DENIED', async () => {
    await writePolicy(t, 'signer', 'rules: [{keys: [rel], kinds: [detached]}]');
    const tok = await token(t, ['signer']);
    const routes: Array<[string, string, unknown]> = [
      ['POST', '/v1/keys', { name: 'evil', algorithm: 'ed25519', user_id: 'x' }],
      ['POST', '/v1/keys/import', { name: 'evil', secret_key: 'AAAA' }],
      ['PUT', '/v1/sys/policies/signer', { policy: 'rules: [{keys: ["*"], kinds: [rpm]}]' }],
      ['GET', '/v1/sys/policies', undefined],
      ['GET', '/v1/sys/policies/signer', undefined],
      ['DELETE', '/v1/sys/policies/signer', undefined],
      ['POST', '/v1/auth/token/create', { policies: ['admin'] }],
      // Roles and other tokens (src/server/routes/auth.ts).
      ['POST', '/v1/auth/approle/role/evil', { policies: ['admin'] }],
      ['POST', '/v1/auth/approle/role/evil', { policy: 'rules: [{keys: ["*"], kinds: [rpm]}]' }],
      ['GET', '/v1/auth/approle/role', undefined],
      ['GET', '/v1/auth/approle/role/evil', undefined],
      ['DELETE', '/v1/auth/approle/role/evil', undefined],
      ['POST', '/v1/auth/approle/role/evil/secret-id', {}],
      ['GET', '/v1/auth/approle/role/evil/secret-id', undefined],
      ['DELETE', '/v1/auth/approle/role/evil/secret-id/abc', undefined],
      ['GET', '/v1/auth/token', undefined],
      ['GET', '/v1/auth/token/lookup/abc', undefined],
      ['POST', '/v1/auth/token/revoke', { accessor: 'abc' }],
    ];
    for (const [method, path, json] of routes) {
      const r = await api(t, method, path, { token: tok, ...(json !== undefined ? { json } : {}) });
      expect([r.status, r.json?.error?.code], `${method} ${path}`).toEqual([403, 'POLICY_DENIED']);
    }
    // Nothing changed.
    expect((await api(t, 'GET', '/v1/sys/policies/signer', { token: t.adminToken })).json.policy).toBe('rules: [{keys: [rel], kinds: [detached]}]');
    expect((await api(t, 'GET', '/v1/keys/evil', { token: t.adminToken })).status).toBe(404);
    expect((await api(t, 'GET', '/v1/sys/policies/evil', { token: t.adminToken })).status).toBe(404);
    expect((await api(t, 'GET', '/v1/auth/approle/role/evil', { token: t.adminToken })).status).toBe(404);
  });

  it('denies by default: unknown policy names grant nothing, keys are hidden', async () => {
    const tok = await token(t, ['no-such-policy']);
    const r = await sign(t, tok, 'rel', 'name=a.tar.gz');
    expect([r.status, r.json.error.code]).toEqual([403, 'POLICY_DENIED']);
    expect((await api(t, 'GET', '/v1/keys/rel', { token: tok })).json.error.code).toBe('POLICY_DENIED');
    expect((await api(t, 'GET', '/v1/keys/rel/public', { token: tok })).json.error.code).toBe('POLICY_DENIED');
    // A key that does not exist is refused the same way (no existence oracle).
    expect((await api(t, 'GET', '/v1/keys/nope', { token: tok })).json.error.code).toBe('POLICY_DENIED');
    expect((await api(t, 'GET', '/v1/keys', { token: tok })).json).toEqual({ keys: [] });
  });

  it('grants exactly key, kind, name and source; a denial names only the missing grant', async () => {
    await writePolicy(t, 'ci', "rules:\n  - {keys: [rel], kinds: [detached, sums], names: ['pkg-*.tar.gz']}\n");
    await writePolicy(t, 'secret-team', "rules:\n  - {keys: [other], kinds: [detached], names: ['hidden-*']}\n");
    const tok = await token(t, ['ci']);
    expect((await sign(t, tok, 'rel', 'name=pkg-1.0.tar.gz')).status).toBe(200);
    expect((await sign(t, tok, 'rel', 'name=pkg-1.0.tar.gz&kind=sums')).status).toBe(200);
    const cases: Array<[string, string, RegExp]> = [
      ['other', 'name=pkg-1.0.tar.gz', /may not use key other$/],
      ['rel', 'name=pkg-1.0.tar.gz&kind=git', /may not use key rel for git$/],
      ['rel', 'name=pkg-1.0.tar.gz&clear=1', /may not use key rel for clearsign$/],
      ['rel', 'name=tool-1.0.tar.gz', /may not sign "tool-1.0.tar.gz" with key rel for detached$/],
      ['rel', 'name=pkg-1.0.tar.gz.evil', /may not sign/],
      ['rel', 'name=sub/pkg-1.0.tar.gz', /may not sign/],
    ];
    for (const [key, query, message] of cases) {
      const r = await sign(t, tok, key, query);
      expect([r.status, r.json.error.code], query).toEqual([403, 'POLICY_DENIED']);
      expect(r.json.error.message).toMatch(message);
      // Other policies' rules never show.
      expect(r.json.error.message).not.toMatch(/hidden|secret-team|pkg-\*/);
    }
    // Keys listed and readable: the granted one only.
    expect((await api(t, 'GET', '/v1/keys', { token: tok })).json.keys.map((k: { name: string }) => k.name)).toEqual(['rel']);
    expect((await api(t, 'GET', '/v1/keys/rel/public', { token: tok })).status).toBe(200);

    // A change applies at once: narrower policy, the same token is refused.
    await writePolicy(t, 'ci', "rules:\n  - {keys: [rel], kinds: [sums], names: ['pkg-*.tar.gz']}\n");
    expect((await sign(t, tok, 'rel', 'name=pkg-1.0.tar.gz')).json.error.code).toBe('POLICY_DENIED');
    await api(t, 'DELETE', '/v1/sys/policies/ci', { token: t.adminToken });
    expect((await sign(t, tok, 'rel', 'name=pkg-1.0.tar.gz&kind=sums')).json.error.code).toBe('POLICY_DENIED');
  });

  it('unions the rules of all the token’s policies', async () => {
    await writePolicy(t, 'u1', 'rules: [{keys: [rel], kinds: [detached]}]');
    await writePolicy(t, 'u2', 'rules: [{keys: [iso], kinds: [detached]}]');
    const both = await token(t, ['u1', 'u2']);
    expect((await sign(t, both, 'rel', 'name=x')).status).toBe(200);
    expect((await sign(t, both, 'iso', 'name=x')).status).toBe(200);
    expect((await sign(t, both, 'other', 'name=x')).json.error.code).toBe('POLICY_DENIED');
  });

  it('checks source CIDRs against the socket address, ignoring X-Forwarded-For without a trusted proxy', async () => {
    await writePolicy(t, 'net', "rules:\n  - {keys: [rel], kinds: [detached], cidrs: ['10.0.0.0/8', '2001:db8::/32']}\n");
    await writePolicy(t, 'local', "rules:\n  - {keys: [iso], kinds: [detached], cidrs: ['127.0.0.0/8', '::1/128']}\n");
    const tok = await token(t, ['net', 'local']);
    const denied = await sign(t, tok, 'rel', 'name=x', { 'x-forwarded-for': '10.1.2.3' });
    expect([denied.status, denied.json.error.code]).toEqual([403, 'POLICY_DENIED']);
    expect(denied.json.error.message).toMatch(/may not use key rel from 127\.0\.0\.1$/);
    expect((await sign(t, tok, 'iso', 'name=x', { 'x-forwarded-for': '192.0.2.1' })).status).toBe(200);
  });

  it('checks each package of an RPM batch against the names', async () => {
    await writePolicy(t, 'rpms', "rules:\n  - {keys: [rel], kinds: [rpm], names: ['pkg-*']}\n");
    const tok = await token(t, ['rpms']);
    const headers = ['pkg-a', 'evil', 'pkg-b'].map((n) => rpmPrefix(n).toString('base64'));
    const r = await api(t, 'POST', '/v1/sign/rel/rpm', { token: tok, json: { headers } });
    expect(r.status, r.text).toBe(200);
    expect(r.json.signed).toBe(2);
    expect(r.json.signatures.map((s: any) => s.error?.code ?? 'signed')).toEqual(['signed', 'POLICY_DENIED', 'signed']);
    expect(r.json.signatures[1].error.message).toMatch(/may not sign "evil" with key rel for rpm/);
    // A rate counts each package: with 2/1h, the third package of a batch is refused on its own.
    await writePolicy(t, 'rpm-rate', "rules:\n  - {keys: [rel], kinds: [rpm], names: ['lib-*'], rate: 2/1h}\n");
    const rated = await token(t, ['rpm-rate']);
    const batch = await api(t, 'POST', '/v1/sign/rel/rpm', { token: rated, json: { headers: ['lib-a', 'lib-b', 'lib-c'].map((n) => rpmPrefix(n).toString('base64')) } });
    expect(batch.json.signatures.map((s: any) => s.error?.code ?? 'signed')).toEqual(['signed', 'signed', 'RATE_LIMITED']);
    // Detached signing with the same key is not granted by an rpm rule.
    expect((await sign(t, tok, 'rel', 'name=pkg-a')).json.error.code).toBe('POLICY_DENIED');
    // The log records which rule allowed each signature.
    const index = Number(r.json.signatures[0].log_index);
    let e = await api(t, 'GET', `/v1/log/entries?start=${index}&end=${index + 1}`);
    for (let i = 0; i < 50 && e.json?.entries?.length !== 1; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      e = await api(t, 'GET', `/v1/log/entries?start=${index}&end=${index + 1}`);
    }
    expect(decodeEntry(Buffer.from(e.json.entries[0], 'base64'))).toMatchObject({ rule: 'rpms#0', artifact: { name: expect.stringMatching(/^pkg-a-/) } });
  });

  it('an AppRole login token is bound to the role’s policy; denials name the role', async () => {
    const role = await api(t, 'POST', '/v1/auth/approle/role/ci-role', {
      token: t.adminToken,
      json: { policy: "rules: [{keys: [rel], kinds: [detached], names: ['app-*']}]" },
    });
    expect(role.status, role.text).toBe(201);
    const sid = await api(t, 'POST', '/v1/auth/approle/role/ci-role/secret-id', { token: t.adminToken, json: {} });
    const login = await api(t, 'POST', '/v1/auth/approle/login', { json: { role_id: role.json.role_id, secret_id: sid.json.secret_id } });
    expect(login.status, login.text).toBe(200);
    const tok = login.json.token as string;
    expect((await sign(t, tok, 'rel', 'name=app-1.tgz')).status).toBe(200);
    const denied = await sign(t, tok, 'iso', 'name=app-1.tgz');
    expect([denied.status, denied.json.error.code, denied.json.error.message]).toEqual([403, 'POLICY_DENIED', 'role ci-role may not use key iso']);
    // The role's policy is an ordinary policy: narrowing it applies to the role's tokens at once.
    await writePolicy(t, 'ci-role', "rules: [{keys: [rel], kinds: [detached], names: ['lib-*']}]");
    expect((await sign(t, tok, 'rel', 'name=app-1.tgz')).json.error.code).toBe('POLICY_DENIED');
    // An invalid policy with a role: nothing is created.
    const bad = await api(t, 'POST', '/v1/auth/approle/role/bad-role', { token: t.adminToken, json: { policy: 'rules: [{keys: [rel], kinds: [sgin]}]' } });
    expect(bad.json.error.code).toBe('POLICY_INVALID');
    expect((await api(t, 'GET', '/v1/auth/approle/role/bad-role', { token: t.adminToken })).status).toBe(404);
    expect((await api(t, 'GET', '/v1/sys/policies/bad-role', { token: t.adminToken })).status).toBe(404);
  });

  it('audits every allow and deny as JSON lines without secrets', async () => {
    await writePolicy(t, 'audited', 'rules: [{keys: [rel], kinds: [detached]}]');
    const tok = await token(t, ['audited']);
    await sign(t, tok, 'rel', 'name=audit-ok');
    await sign(t, tok, 'iso', 'name=audit-no');
    await sign(t, 'sgn.' + 'A'.repeat(43), 'iso', 'name=audit-forged');
    const lines = auditLines(t);
    const allow = lines.find((l) => l.action.name === 'audit-ok');
    expect(allow).toMatchObject({ type: 'authz', decision: 'allow', rule: 'audited#0', source: '127.0.0.1', policies: ['audited'] });
    expect(allow.action).toEqual({ op: 'sign', key: 'rel', kind: 'detached', name: 'audit-ok', mode: 'content' });
    expect(lines.find((l) => l.action.name === 'audit-no')).toMatchObject({ decision: 'deny', code: 'POLICY_DENIED' });
    expect(lines.find((l) => l.action.name === 'audit-forged')).toMatchObject({ decision: 'deny', code: 'TOKEN_INVALID' });
    expect(lines.some((l) => l.action.op === 'admin' && l.decision === 'allow')).toBe(true);
    expect(statSync(join(t.dataDir, 'audit.log')).mode & 0o777).toBe(0o600);
    // No token secret anywhere in the audit log or the server log.
    const all = readFileSync(join(t.dataDir, 'audit.log'), 'utf8') + t.logs.join('\n');
    for (const secret of [tok, t.adminToken]) expect(all.includes(secret)).toBe(false);
    expect(all).not.toMatch(/sgn\.[A-Za-z0-9_-]{43}/);
  });
});

describe('rate limits', () => {
  it('hold across a restart of the server', async () => {
    const first = await startTestServer({ keepData: true });
    const dataDir = first.dataDir;
    const admin = first.adminToken;
    let tok: string;
    try {
      await api(first, 'POST', '/v1/keys', { token: admin, json: { name: 'iso', algorithm: 'ed25519', user_id: 'ISO <iso@example.org>' } });
      expect((await writePolicy(first, 'iso-once', 'rules: [{keys: [iso], kinds: [detached], rate: 2/30d}]')).status).toBe(200);
      tok = await token(first, ['iso-once'], '1h');
      expect((await sign(first, tok, 'iso', 'name=a.iso')).status).toBe(200);
      expect((await sign(first, tok, 'iso', 'name=b.iso')).status).toBe(200);
      const third = await sign(first, tok, 'iso', 'name=c.iso');
      expect([third.status, third.json.error.code]).toEqual([429, 'RATE_LIMITED']);
      expect(third.json.error.message).toMatch(/2\/30d/);
    } finally {
      await first.close();
    }
    const second = await startTestServer({ dataDir });
    try {
      const again = await sign({ url: second.url } as TestServer, tok, 'iso', 'name=d.iso');
      expect([again.status, again.json.error.code]).toEqual([429, 'RATE_LIMITED']);
      // Another token bound to the same policy shares the window (the limit is the policy's).
      const other = await api(second, 'POST', '/v1/auth/token/create', { token: admin, json: { policies: ['iso-once'] } });
      expect((await sign(second, other.json.token, 'iso', 'name=e.iso')).json.error.code).toBe('RATE_LIMITED');
      const lines = readFileSync(join(dataDir, 'audit.log'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
      expect(lines.filter((l) => l.code === 'RATE_LIMITED')).toHaveLength(3);
    } finally {
      await second.close();
      // dataDir is under a temp dir of its own
      expect(readdirSync(join(dataDir, '..')).length).toBeGreaterThan(0);
    }
  });
});

describe('trusted proxies', () => {
  it('believe X-Forwarded-For only from configured proxy addresses', async () => {
    const t = await startTestServer({ trustProxy: ['127.0.0.1/32'] });
    try {
      await api(t, 'POST', '/v1/keys', { token: t.adminToken, json: { name: 'rel', algorithm: 'ed25519', user_id: 'r <r@example.org>' } });
      await writePolicy(t, 'net', "rules: [{keys: [rel], kinds: [detached], cidrs: ['10.0.0.0/8']}]");
      const tok = await token(t, ['net']);
      expect((await sign(t, tok, 'rel', 'name=x', { 'x-forwarded-for': '10.1.2.3' })).status).toBe(200);
      // The right-most untrusted address counts: a client cannot prepend its own claim.
      const spoofed = await sign(t, tok, 'rel', 'name=x', { 'x-forwarded-for': '10.9.9.9, 192.0.2.7' });
      expect(spoofed.json.error.code).toBe('POLICY_DENIED');
      expect(spoofed.json.error.message).toMatch(/from 192\.0\.2\.7$/);
      expect((await sign(t, tok, 'rel', 'name=x')).json.error.code).toBe('POLICY_DENIED');
    } finally {
      await t.close();
    }
    const untrusted = await startTestServer({ trustProxy: ['10.0.0.0/8'] });
    try {
      await api(untrusted, 'POST', '/v1/keys', { token: untrusted.adminToken, json: { name: 'rel', algorithm: 'ed25519', user_id: 'r <r@example.org>' } });
      await writePolicy(untrusted, 'net', "rules: [{keys: [rel], kinds: [detached], cidrs: ['10.0.0.0/8']}]");
      const tok = await token(untrusted, ['net']);
      // The socket (127.0.0.1) is not a trusted proxy: the header is ignored.
      expect((await sign(untrusted, tok, 'rel', 'name=x', { 'x-forwarded-for': '10.1.2.3' })).json.error.code).toBe('POLICY_DENIED');
    } finally {
      await untrusted.close();
    }
  });

  it('refuse a malformed trust_proxy setting at start', async () => {
    await expect(startTestServer({ trustProxy: ['10.0.0.1/8'] })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });
});

describe('audit sink failure', () => {
  it('refuses requests with 503 AUDIT_UNAVAILABLE and does nothing when the audit log cannot be written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'signet-audit-'));
    const dataDir = join(dir, 'data');
    mkdirSync(dataDir, { mode: 0o700 });
    // Every write to /dev/full fails with ENOSPC.
    symlinkSync('/dev/full', join(dataDir, 'audit.log'));
    const t = await startTestServer({ dataDir });
    try {
      const create = await api(t, 'POST', '/v1/keys', { token: t.adminToken, json: { name: 'rel', algorithm: 'ed25519', user_id: 'r <r@example.org>' } });
      expect([create.status, create.json.error.code]).toEqual([503, 'AUDIT_UNAVAILABLE']);
      // Nothing was done: no key, no log entry.
      expect(await t.server.store.getKey('rel')).toBeUndefined();
      expect(await t.server.store.log.sequencedSize()).toBe(0n);
      const denied = await api(t, 'GET', '/v1/sys/policies', { token: 'sgn.' + 'B'.repeat(43) });
      expect(denied.status).toBe(503);
      expect((await api(t, 'GET', '/readyz')).json.error.code).toBe('AUDIT_UNAVAILABLE');
      // The sink recovers (here: the link to /dev/full replaced by a file) without a restart.
      rmSync(join(dataDir, 'audit.log'));
      const again = await api(t, 'POST', '/v1/keys', { token: t.adminToken, json: { name: 'rel', algorithm: 'ed25519', user_id: 'r <r@example.org>' } });
      expect(again.status, again.text).toBe(201);
      expect((await api(t, 'GET', '/readyz')).status).toBe(200);
      const line = JSON.parse(readFileSync(join(dataDir, 'audit.log'), 'utf8').split('\n')[0]!);
      expect(line).toMatchObject({ decision: 'allow', action: { op: 'admin', what: 'create keys' }, rule: 'admin' });
    } finally {
      await t.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
