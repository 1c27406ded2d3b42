// Several `signet serve` processes on one PostgreSQL (a throwaway cluster): shared keys and
// tokens, concurrent signing on every node checked with real gpg, fail-closed behaviour while the
// database is down and recovery without a restart, and `signet store migrate` from SQLite.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Gpg } from '../helpers/gpg.js';
import { requireBuild, serveProcess, signet, type ServeProcess } from '../helpers/cli.js';
import { startPgCluster, type PgCluster } from '../helpers/postgres.js';
import { requireTools } from '../helpers/tools.js';

interface Reply {
  status: number;
  body: Record<string, unknown>;
}

/**
 * A request that cannot reach a node (ECONNREFUSED, reset) names the node and, if its process
 * ended, how (exit code, signal) and the tail of its output: why it went away, not only that.
 */
async function reach(node: ServeProcess, url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (err) {
    // Give an exiting process a moment to be reaped, so its exit code is known.
    await new Promise((r) => setTimeout(r, 200));
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    throw new Error(`node ${node.addr} unreachable (${cause}): ${node.exitReport()}`, { cause: err });
  }
}

async function call(node: ServeProcess, method: string, path: string, token: string, body?: unknown): Promise<Reply> {
  const r = await reach(node, `${node.addr}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await r.text();
  return { status: r.status, body: text.startsWith('{') ? (JSON.parse(text) as Record<string, unknown>) : { text } };
}

async function sign(node: ServeProcess, key: string, token: string, artifact: Buffer): Promise<Reply> {
  const r = await reach(node, `${node.addr}/v1/sign/${key}?name=artifact.bin`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
    body: artifact,
  });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

/** Poll (a loaded 2-core machine is slow to warm up) instead of guessing a delay. */
async function until(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

function errorCode(reply: Reply): string | undefined {
  return (reply.body.error as { code?: string } | undefined)?.code;
}

describe('scale-out: several nodes on one PostgreSQL', () => {
  let cluster: PgCluster;
  let gpg: Gpg;
  const nodes: ServeProcess[] = [];

  async function node(url: string, masterKeyFrom?: ServeProcess): Promise<ServeProcess> {
    const n = await serveProcess({
      args: ['--store', url, '--log-level', 'warn'],
      ...(masterKeyFrom ? { env: { SIGNET_MASTER_KEY_FILE: join(masterKeyFrom.dataDir, 'master.key') } } : {}),
    });
    nodes.push(n);
    return n;
  }

  async function importPublicKey(n: ServeProcess, key: string, token: string): Promise<void> {
    const r = await fetch(`${n.addr}/v1/keys/${key}/public`, { headers: { authorization: `Bearer ${token}` } });
    expect(r.status).toBe(200);
    gpg.importKey(await r.text());
  }

  beforeAll(async () => {
    requireTools('gpg');
    requireBuild();
    cluster = await startPgCluster();
    gpg = new Gpg();
  }, 120_000);

  afterEach(async () => {
    if (!cluster.running) cluster.start();
    for (const n of nodes.splice(0)) {
      await n.stop();
      rmSync(join(n.dataDir, '..'), { recursive: true, force: true });
    }
  });

  afterAll(() => {
    gpg?.close();
    cluster?.destroy();
  });

  it('two nodes share keys and tokens; a node with another master key refuses to start', async () => {
    const url = await cluster.createDatabase();
    const first = await node(url);
    const second = await node(url, first);
    // Only one node bootstraps the admin token, and it works on the other.
    expect(first.token).not.toBe('');
    expect(existsSync(join(second.dataDir, 'admin-token'))).toBe(false);
    const token = first.token;

    const created = await call(first, 'POST', '/v1/keys', token, { name: 'shared', algorithm: 'ed25519', user_id: 'Shared <shared@example.org>' });
    expect(created.status).toBe(201);
    const listed = await call(second, 'GET', '/v1/keys', token);
    expect((listed.body.keys as Array<{ name: string }>).map((k) => k.name)).toEqual(['shared']);

    const artifact = randomBytes(2048);
    const signed = await sign(second, 'shared', token, artifact);
    expect(signed.status).toBe(200);
    expect(signed.body.fingerprint).toBe(created.body.fingerprint);
    await importPublicKey(second, 'shared', token);
    expect(gpg.verifyDetached(Buffer.from(signed.body.signature as string, 'base64'), artifact).ok).toBe(true);

    // A master key of its own cannot open the shared keys: fail closed at start. (With no
    // master.key at all the node refuses too, with MASTER_KEY_UNREADABLE, and writes none.)
    const strangerDir = mkdtempSync(join(tmpdir(), 'signet-stranger-'));
    try {
      mkdirSync(join(strangerDir, 'data'), { mode: 0o700 });
      writeFileSync(join(strangerDir, 'data', 'master.key'), `signet-master-key-v1:${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
      await expect(serveProcess({ dataDir: join(strangerDir, 'data'), args: ['--store', url, '--log-level', 'warn'] })).rejects.toThrow(/MASTER_KEY_MISMATCH/);
      const bare = join(strangerDir, 'bare');
      await expect(serveProcess({ dataDir: bare, args: ['--store', url, '--log-level', 'warn'] })).rejects.toThrow(/MASTER_KEY_UNREADABLE/);
      expect(existsSync(join(bare, 'master.key'))).toBe(false);
    } finally {
      rmSync(strangerDir, { recursive: true, force: true });
    }

    // A bad token is refused on every node alike.
    for (const n of [first, second]) expect(errorCode(await call(n, 'GET', '/v1/keys', `${token}x`))).toBe('TOKEN_INVALID');
  }, 90_000);

  it('three nodes sign concurrently; every signature verifies with gpg', async () => {
    const url = await cluster.createDatabase();
    const first = await node(url);
    const others = await Promise.all([node(url, first), node(url, first)]);
    const all = [first, ...others];
    const token = first.token;
    expect((await call(first, 'POST', '/v1/keys', token, { name: 'rel', algorithm: 'ed25519', user_id: 'Rel <rel@example.org>' })).status).toBe(201);
    await importPublicKey(others[1]!, 'rel', token);

    const jobs = all.flatMap((n) => Array.from({ length: 15 }, () => ({ n, artifact: randomBytes(512) })));
    const replies = await Promise.all(jobs.map(({ n, artifact }) => sign(n, 'rel', token, artifact)));
    replies.forEach((r, i) => {
      expect(r.status).toBe(200);
      expect(gpg.verifyDetached(Buffer.from(r.body.signature as string, 'base64'), jobs[i]!.artifact).ok).toBe(true);
    });
  }, 120_000);

  it('database down under load: 503 STORE_UNAVAILABLE, nothing half-written; back up: service resumes without restart', async () => {
    const url = await cluster.createDatabase();
    const first = await node(url);
    const second = await node(url, first);
    const token = first.token;
    expect((await call(first, 'POST', '/v1/keys', token, { name: 'rel', algorithm: 'ed25519', user_id: 'Rel <rel@example.org>' })).status).toBe(201);
    await importPublicKey(first, 'rel', token);

    const signedOk: Array<{ artifact: Buffer; signature: Buffer }> = [];
    const refused: string[] = [];
    let running = true;
    const loop = async (n: ServeProcess): Promise<void> => {
      while (running) {
        const artifact = randomBytes(256);
        try {
          const r = await sign(n, 'rel', token, artifact);
          if (r.status === 200) signedOk.push({ artifact, signature: Buffer.from(r.body.signature as string, 'base64') });
          else refused.push(`${r.status} ${errorCode(r)}`);
        } catch (err) {
          refused.push(`transport ${(err as Error).message}`);
        }
      }
    };
    const load = [first, second].flatMap((n) => [loop(n), loop(n)]);
    await until(() => signedOk.length >= 5);
    const beforeOutage = signedOk.length;
    cluster.stop('fast');

    // Keys created while the database is down: refused, and not there afterwards.
    const during = await Promise.all([first, second].map((n, i) => call(n, 'POST', '/v1/keys', token, { name: `outage${i}`, algorithm: 'ed25519', user_id: 'X <x@example.org>' })));
    for (const r of during) {
      expect(r.status).toBe(503);
      expect(errorCode(r)).toBe('STORE_UNAVAILABLE');
    }
    for (const n of [first, second]) {
      const ready = await reach(n, `${n.addr}/readyz`, {});
      expect(ready.status).toBe(503);
    }
    await new Promise((r) => setTimeout(r, 1_000));
    const refusedDuringOutage = refused.length;

    cluster.start();
    const afterRestart = signedOk.length;
    await until(() => signedOk.length >= afterRestart + 5);
    running = false;
    await Promise.all(load);

    expect(beforeOutage).toBeGreaterThan(0);
    expect(refusedDuringOutage).toBeGreaterThan(0);
    // Every refusal is the documented one: no 500, no dropped connection.
    expect(new Set(refused)).toEqual(new Set(['503 STORE_UNAVAILABLE']));
    // Both processes lived through it and serve again, without a restart.
    for (const n of [first, second]) {
      expect(n.exitReport()).toMatch(/running$/);
      expect((await fetch(`${n.addr}/readyz`)).status).toBe(200);
      const artifact = randomBytes(100);
      const r = await sign(n, 'rel', token, artifact);
      expect(r.status).toBe(200);
      expect(gpg.verifyDetached(Buffer.from(r.body.signature as string, 'base64'), artifact).ok).toBe(true);
    }
    const keys = await call(second, 'GET', '/v1/keys', token);
    expect((keys.body.keys as Array<{ name: string }>).map((k) => k.name)).toEqual(['rel']);
    // Every signature a client received is a good one.
    for (const s of signedOk.filter((_, i) => i % 10 === 0)) expect(gpg.verifyDetached(s.signature, s.artifact).ok).toBe(true);
  }, 120_000);

  it('signet store migrate moves an SQLite store to PostgreSQL, proves it, and refuses a non-empty target', async () => {
    const lite = await serveProcess({ args: ['--log-level', 'warn'] });
    nodes.push(lite);
    const token = lite.token;
    const created = await call(lite, 'POST', '/v1/keys', token, { name: 'moved', algorithm: 'ed25519', user_id: 'Moved <moved@example.org>' });
    expect(created.status).toBe(201);
    await lite.stop();

    const url = await cluster.createDatabase();
    const migrated = signet(['store', 'migrate', '--from', `sqlite:${join(lite.dataDir, 'signet.db')}`, '--to', url]);
    expect(migrated.stderr).toContain('migrated and verified');
    expect(migrated.status).toBe(0);
    expect(migrated.stdout).toMatch(/^keys\t1$/m);
    expect(migrated.stdout).toMatch(/^tokens\t1$/m);

    const again = signet(['store', 'migrate', '--from', `sqlite:${join(lite.dataDir, 'signet.db')}`, '--to', url]);
    expect(again.status).toBe(1);
    expect(again.stderr).toContain('STORE_NOT_EMPTY');

    // A PostgreSQL node with the SQLite node's master key: same key, same admin token.
    const pgNode = await node(url, lite);
    expect(existsSync(join(pgNode.dataDir, 'admin-token'))).toBe(false);
    const artifact = randomBytes(300);
    const signed = await sign(pgNode, 'moved', token, artifact);
    expect(signed.status).toBe(200);
    expect(signed.body.fingerprint).toBe(created.body.fingerprint);
    await importPublicKey(pgNode, 'moved', token);
    expect(gpg.verifyDetached(Buffer.from(signed.body.signature as string, 'base64'), artifact).ok).toBe(true);

    const usage = signet(['store', 'migrate', '--from', url, '--to', url]);
    expect(usage.status).toBe(2);
  }, 120_000);
});
