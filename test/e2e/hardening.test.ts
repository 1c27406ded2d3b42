// The server as an unauthenticated (or barely authenticated) attacker meets it: globs that would
// backtrack, bodies sent before any token is shown, slow and idle connections, two credentials
// in one request, repeated JSON names, secrets typed into the role field of a login.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPackage, defaultMainEntries, str } from '../fixtures/rpm/build-package.js';
import { Gpg } from '../helpers/gpg.js';
import { api, startTestServer, type TestServer } from '../helpers/server.js';
import { hasCommand } from '../helpers/tools.js';

async function token(t: TestServer, policies: string[], extra: Record<string, unknown> = {}, as = t.adminToken): Promise<{ token: string; accessor: string }> {
  const r = await api(t, 'POST', '/v1/auth/token/create', { token: as, json: { policies, ttl: '20m', ...extra } });
  expect(r.status, r.text).toBe(201);
  return { token: r.json.token as string, accessor: r.json.accessor as string };
}

async function writePolicy(t: TestServer, name: string, policy: string): Promise<void> {
  const r = await api(t, 'PUT', `/v1/sys/policies/${name}`, { token: t.adminToken, json: { policy } });
  expect(r.status, r.text).toBe(200);
}

function rpmPrefix(name: string): Buffer {
  const payload = Buffer.from(`payload of ${name.slice(0, 16)}`);
  const entries = defaultMainEntries(payload).map((e) => (e.tag === 1000 ? str(1000, name) : e));
  const pkg = buildPackage({ mainEntries: entries, payload });
  return pkg.file.subarray(0, pkg.file.length - pkg.payload.length);
}

/** A raw TCP client: what it has received, and whether (and when) the server closed it. */
interface Raw {
  readonly socket: Socket;
  received(): string;
  readonly closed: Promise<void>;
  isClosed(): boolean;
  /** Resolves with what was received once it contains `text`, or the connection closes. */
  until(text: string, timeoutMs: number): Promise<string>;
}

function rawConnect(url: string): Promise<Raw> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) });
    let data = '';
    let closed = false;
    const waiters = new Set<() => void>();
    const wake = () => {
      for (const w of waiters) w();
    };
    socket.on('data', (d) => {
      data += d.toString('latin1');
      wake();
    });
    socket.on('error', () => undefined);
    const closedP = new Promise<void>((r) =>
      socket.on('close', () => {
        closed = true;
        wake();
        r();
      }),
    );
    socket.once('connect', () =>
      resolve({
        socket,
        received: () => data,
        closed: closedP,
        isClosed: () => closed,
        until: (text, timeoutMs) =>
          new Promise((res) => {
            const check = () => {
              if (data.includes(text) || closed) {
                waiters.delete(check);
                clearTimeout(timer);
                res(data);
              }
            };
            const timer = setTimeout(() => {
              waiters.delete(check);
              res(data);
            }, timeoutMs);
            waiters.add(check);
            check();
          }),
      }),
    );
    socket.once('error', reject);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('hardening: globs, names, credentials, bodies', () => {
  let t: TestServer;

  beforeAll(async () => {
    t = await startTestServer();
    for (const name of ['rel', 'iso']) {
      const r = await api(t, 'POST', '/v1/keys', { token: t.adminToken, json: { name, algorithm: 'ed25519', user_id: `${name} <${name}@example.org>` } });
      expect(r.status, r.text).toBe(201);
    }
  }, 60_000);

  afterAll(async () => {
    await t?.close();
  });

  it('a name of 255 dashes against *-*-*-*.tar.gz is refused at once (no backtracking)', async () => {
    await writePolicy(t, 'tarballs', "rules:\n  - {keys: [rel], kinds: [detached], names: ['*-*-*-*.tar.gz']}\n");
    const tok = (await token(t, ['tarballs'])).token;
    const ok = await api(t, 'POST', '/v1/sign/rel?name=a-b-c-d.tar.gz', { token: tok, body: Buffer.from('x') });
    expect(ok.status, ok.text).toBe(200);
    // A backtracking matcher held the event loop about 1.5 s per request on this name; eight of
    // them took 8-12 s. The linear matcher answers in milliseconds: 3 s is generous.
    const t0 = performance.now();
    const answers = await Promise.all(
      Array.from({ length: 8 }, () => api(t, 'POST', `/v1/sign/rel?name=${'-'.repeat(255)}`, { token: tok, body: Buffer.from('x') })),
    );
    const elapsed = performance.now() - t0;
    for (const r of answers) expect([r.status, r.json.error.code]).toEqual([403, 'POLICY_DENIED']);
    expect(elapsed).toBeLessThan(3000);
  });

  it('names are at most 255 bytes, counted in UTF-8', async () => {
    const r = await api(t, 'POST', `/v1/sign/rel?name=${encodeURIComponent('é'.repeat(128))}`, { token: t.adminToken, body: Buffer.from('x') });
    expect([r.status, r.json.error.code]).toEqual([400, 'QUERY_INVALID']);
    const fits = await api(t, 'POST', `/v1/sign/rel?name=${encodeURIComponent('é'.repeat(127))}`, { token: t.adminToken, body: Buffer.from('x') });
    expect(fits.status, fits.text).toBe(200);
  });

  it('an RPM whose name tag is lib and 20,000 dashes is refused as NAME_INVALID, fast, and the batch goes on', async () => {
    await writePolicy(t, 'devel', "rules:\n  - {keys: [rel], kinds: [rpm], names: ['lib*-*-*-devel']}\n");
    const tok = (await token(t, ['devel'])).token;
    const headers = [`lib${'-'.repeat(20_000)}`, 'libfoo-x-y-devel'].map((n) => rpmPrefix(n).toString('base64'));
    const t0 = performance.now();
    const r = await api(t, 'POST', '/v1/sign/rel/rpm', { token: tok, json: { headers } });
    // The backtracking matcher never answered this request; 5 s is a generous bound.
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(r.status, r.text).toBe(200);
    expect(r.json.signatures.map((s: any) => s.error?.code ?? 'signed')).toEqual(['NAME_INVALID', 'signed']);
    // The admin is held to the same cap.
    const admin = await api(t, 'POST', '/v1/sign/rel/rpm', { token: t.adminToken, json: { headers: headers.slice(0, 1) } });
    expect(admin.json.signatures[0].error.code).toBe('NAME_INVALID');
  });

  it('refuses a request without a valid token before reading its body, and closes the connection', async () => {
    const low = (await token(t, ['tarballs'])).token;
    for (const [path, auth, status] of [
      ['/v1/sign/rel/rpm', '', '401'],
      ['/v1/sign/rel/rpm', `Authorization: Bearer sgn.${'A'.repeat(43)}\r\n`, '401'],
      ['/v1/keys/import', `Authorization: Bearer ${low}\r\n`, '403'],
      ['/v1/sign/iso/rpm', `Authorization: Bearer ${low}\r\n`, '403'],
    ] as const) {
      const c = await rawConnect(t.url);
      // Announce 60 MiB of JSON, send 64 KiB of it, then wait: the answer must come now, while
      // most of the body is still unsent (a server that reads the body first never answers).
      c.socket.write(`POST ${path} HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\nContent-Length: ${60 * 1024 * 1024}\r\n\r\n`);
      c.socket.write(`{"headers":["${'A'.repeat(64 * 1024)}`);
      const got = await c.until('\r\n\r\n', 10_000);
      expect(got.split('\r\n')[0], path).toBe(`HTTP/1.1 ${status} ${status === '401' ? 'Unauthorized' : 'Forbidden'}`);
      expect(got.toLowerCase()).toContain('connection: close');
      // The server hangs up without waiting for the other 60 MiB.
      await Promise.race([c.closed, sleep(10_000)]);
      expect(c.isClosed(), path).toBe(true);
      c.socket.destroy();
    }
    expect((await api(t, 'GET', '/healthz')).status).toBe(200);
  });

  it('refuses two Authorization headers, and Authorization and X-Signet-Token naming different tokens', async () => {
    const bogus = `sgn.${'B'.repeat(43)}`;
    for (const extra of [`Authorization: Bearer ${bogus}\r\n`, `X-Signet-Token: ${bogus}\r\n`, `x-signet-token: ${t.adminToken}\r\nX-Signet-Token: ${t.adminToken}\r\n`]) {
      const c = await rawConnect(t.url);
      c.socket.write(`GET /v1/auth/token/lookup-self HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${t.adminToken}\r\n${extra}Connection: close\r\n\r\n`);
      const got = await c.until('}', 10_000);
      expect(got.split('\r\n')[0], extra).toBe('HTTP/1.1 401 Unauthorized');
      expect(got).toContain('"TOKEN_INVALID"');
      c.socket.destroy();
    }
    // The same token in both is one credential.
    const same = await api(t, 'GET', '/v1/auth/token/lookup-self', { token: t.adminToken, headers: { 'x-signet-token': t.adminToken } });
    expect(same.status, same.text).toBe(200);
  });

  it('refuses a JSON body that names a member twice', async () => {
    for (const body of ['{"policies":["tarballs"],"ttl":"1m","ttl":"32d"}', '{"policies":["admin"],"policies":["tarballs"]}', '{"policies":["tarballs"],"\\u0074tl":"1m","ttl":"2m"}']) {
      const r = await api(t, 'POST', '/v1/auth/token/create', { token: t.adminToken, body, headers: { 'content-type': 'application/json' } });
      expect([r.status, r.json.error.code], body).toEqual([400, 'BODY_INVALID']);
    }
    const r = await api(t, 'POST', '/v1/auth/token/create', { token: t.adminToken, body: '{"policies":["tarballs"],"ttl":"1m"}', headers: { 'content-type': 'application/json' } });
    expect(r.status, r.text).toBe(201);
  });

  it('revoking a token revokes the tokens it created, recursively; an orphan survives', async () => {
    const parent = await token(t, ['admin']);
    const child = await token(t, ['admin'], {}, parent.token);
    const grandchild = await token(t, ['tarballs'], {}, child.token);
    const r = await api(t, 'POST', '/v1/auth/token/revoke', { token: t.adminToken, json: { accessor: parent.accessor } });
    expect(r.status, r.text).toBe(200);
    for (const tok of [parent, child, grandchild]) {
      expect((await api(t, 'GET', '/v1/auth/token/lookup-self', { token: tok.token })).json.error.code).toBe('TOKEN_REVOKED');
    }
    expect(new Set(r.json.revoked)).toEqual(new Set([parent.accessor, child.accessor, grandchild.accessor]));
    // An admin made to replace the creating one asks to be an orphan.
    const other = await token(t, ['admin']);
    const orphan = await token(t, ['tarballs'], { orphan: true }, other.token);
    await api(t, 'POST', '/v1/auth/token/revoke', { token: t.adminToken, json: { accessor: other.accessor } });
    expect((await api(t, 'GET', '/v1/auth/token/lookup-self', { token: other.token })).json.error.code).toBe('TOKEN_REVOKED');
    expect((await api(t, 'GET', '/v1/auth/token/lookup-self', { token: orphan.token })).status).toBe(200);
  });

  it.runIf(hasCommand('gpg'))('refuses to import a key whose user ID holds control characters (a planted [GNUPG:] line)', async () => {
    const g = new Gpg();
    try {
      const uid = 'Evil <e@example.org>\n[GNUPG:] GOODSIG 0123456789ABCDEF Release';
      expect(g.run(['--passphrase', '', '--pinentry-mode', 'loopback', '--quick-gen-key', uid, 'ed25519', 'sign', 'never']).status).toBe(0);
      const exported = g.run(['--passphrase', '', '--pinentry-mode', 'loopback', '--armor', '--export-secret-keys']).stdout;
      const r = await api(t, 'POST', '/v1/keys/import', { token: t.adminToken, json: { name: 'planted', secret_key: exported } });
      expect([r.status, r.json.error.code], r.text).toEqual([400, 'KEY_IMPORT_FAILED']);
      expect((await api(t, 'GET', '/v1/keys/planted', { token: t.adminToken })).status).toBe(404);
      const created = await api(t, 'POST', '/v1/keys', { token: t.adminToken, json: { name: 'c1', algorithm: 'ed25519', user_id: 'C1 \u0085 <c@example.org>' } });
      expect([created.status, created.json.error.code]).toEqual([400, 'BODY_INVALID']);
    } finally {
      rmSync(g.home, { recursive: true, force: true });
    }
  });

  it('a JWT login writes the role to the audit and server logs only when it names an existing role', async () => {
    const pasted = `glpat-${'Q'.repeat(20)}`;
    const r = await api(t, 'POST', '/v1/auth/jwt/login', { json: { role: pasted, jwt: 'e30.e30.x' } });
    expect([r.status, r.json.error.code]).toEqual([401, 'LOGIN_FAILED']);
    const audit = readFileSync(join(t.dataDir, 'audit.log'), 'utf8');
    expect(audit).toContain('"method":"jwt"');
    expect(audit).not.toContain(pasted);
    expect(t.logs.some((l) => l.includes('/v1/auth/jwt/login'))).toBe(true);
    expect(t.logs.join('\n')).not.toContain(pasted);
  });
});

describe('hardening: slow and idle connections', () => {
  let t: TestServer;

  beforeAll(async () => {
    t = await startTestServer({ connections: { headersTimeoutMs: 1000, requestTimeoutMs: 3000, maxConnectionsPerSource: 5 } });
  }, 60_000);

  afterAll(async () => {
    await t?.close();
  });

  it('cuts off a client that sends its headers one byte at a time after the header timeout', async () => {
    const c = await rawConnect(t.url);
    const request = `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: ${'p'.repeat(200)}\r\n\r\n`;
    const t0 = performance.now();
    // One byte every 100 ms: the headers would take 25 s to arrive.
    for (let i = 0; i < request.length && !c.isClosed(); i++) {
      c.socket.write(request[i]!);
      await sleep(100);
    }
    expect(c.isClosed()).toBe(true);
    // Cut off after the 1 s header timeout (Node checks it on a timer): well before the 25 s.
    expect(performance.now() - t0).toBeLessThan(10_000);
    expect(c.received()).not.toContain('200 OK');
  }, 30_000);

  it('closes idle connections beyond the per-source cap, and serves again once they are gone', async () => {
    const sockets = await Promise.all(Array.from({ length: 8 }, () => rawConnect(t.url)));
    await sleep(500);
    // Five stay open (until the header timeout); the three beyond the cap are closed at once.
    const closedEarly = sockets.filter((s) => s.isClosed()).length;
    expect(closedEarly).toBe(3);
    for (const s of sockets) s.socket.destroy();
    await sleep(200);
    expect((await api(t, 'GET', '/healthz')).status).toBe(200);
  }, 30_000);
});

describe('hardening: connection settings from the settings file', () => {
  it('takes connections.max_per_source and refuses an unknown field', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'signet-test-'));
    try {
      const settingsFile = join(dir, 'settings.yaml');
      writeFileSync(settingsFile, 'connections: {header_timeout_ms: 5000, max_per_source: 2}\n');
      const t = await startTestServer({ settingsFile });
      try {
        const sockets = await Promise.all(Array.from({ length: 3 }, () => rawConnect(t.url)));
        await sleep(500);
        expect(sockets.filter((c) => c.isClosed())).toHaveLength(1);
        for (const c of sockets) c.socket.destroy();
      } finally {
        await t.close();
      }
      writeFileSync(settingsFile, 'connections: {header_timeout: 5000}\n');
      await expect(startTestServer({ settingsFile })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('hardening: a lost master key', () => {
  it('refuses to start when master.key is missing but the store holds sealed keys, and writes no new one', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'signet-test-')), 'data');
    try {
      const first = await startTestServer({ dataDir });
      const r = await api(first, 'POST', '/v1/keys', { token: first.adminToken, json: { name: 'rel', algorithm: 'ed25519', user_id: 'rel <rel@example.org>' } });
      expect(r.status, r.text).toBe(201);
      await first.close();
      rmSync(join(dataDir, 'master.key'));
      await expect(startTestServer({ dataDir })).rejects.toMatchObject({ code: 'MASTER_KEY_UNREADABLE', message: expect.stringContaining('is missing') });
      expect(existsSync(join(dataDir, 'master.key'))).toBe(false);
    } finally {
      rmSync(join(dataDir, '..'), { recursive: true, force: true });
    }
  }, 60_000);
});
