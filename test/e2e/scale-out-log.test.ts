// One transparency log across several `signet serve` nodes on one PostgreSQL: concurrent signing
// on every node gives dense, unique indices; all nodes serve the same checkpoint, whose signature
// and root are checked here from the raw entries; a node killed with SIGKILL under load loses
// no entry a client was given.
import { createHash, randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openCheckpoint } from '../../src/tlog/checkpoint.js';
import { decodeEntry } from '../../src/tlog/entry.js';
import { parseVerifierKey } from '../../src/tlog/note.js';
import { streamRoot } from '../../src/tlog/stream-root.js';
import { requireBuild, serveProcess, signet, type ServeProcess } from '../helpers/cli.js';
import { startPgCluster, type PgCluster } from '../helpers/postgres.js';

interface Signed {
  readonly index: number;
  readonly signatureSha256: string;
}

async function sign(node: ServeProcess, token: string): Promise<Signed | { status: number }> {
  const r = await fetch(`${node.addr}/v1/sign/rel?name=artifact.bin`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
    body: randomBytes(200),
  });
  if (r.status !== 200) return { status: r.status };
  const body = (await r.json()) as { signature: string; log: { index: number } };
  return { index: body.log.index, signatureSha256: createHash('sha256').update(Buffer.from(body.signature, 'base64')).digest('hex') };
}

async function checkpointOf(node: ServeProcess): Promise<string> {
  const r = await fetch(`${node.addr}/v1/log/checkpoint`);
  expect(r.status).toBe(200);
  return r.text();
}

/** Poll (a loaded 2-core machine is slow to warm up) instead of guessing a delay. */
async function until(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Wait until every node serves one checkpoint covering at least `size` entries; return it. */
async function convergedCheckpoint(nodes: readonly ServeProcess[], size: number): Promise<string> {
  const until = Date.now() + 30_000;
  for (;;) {
    const notes = await Promise.all(nodes.map(checkpointOf));
    const sizes = notes.map((n) => Number(n.split('\n')[1]));
    if (new Set(notes).size === 1 && sizes.every((s) => s >= size)) return notes[0]!;
    if (Date.now() > until) throw new Error(`checkpoints did not converge: sizes ${sizes.join(', ')}, want ${size}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Every entry [0, size) from one node, in order; the entries endpoint pages by 1000. */
async function allEntries(node: ServeProcess, size: number): Promise<Buffer[]> {
  const entries: Buffer[] = [];
  while (entries.length < size) {
    const r = await fetch(`${node.addr}/v1/log/entries?start=${entries.length}&end=${size}`);
    expect(r.status).toBe(200);
    const page = (await r.json()) as { start: number; entries: string[] };
    expect(page.start).toBe(entries.length);
    expect(page.entries.length).toBeGreaterThan(0);
    entries.push(...page.entries.map((e) => Buffer.from(e, 'base64')));
  }
  return entries;
}

/** The audit `signet log verify` does, from the raw entries: signed checkpoint, root, contents. */
async function auditLog(nodes: readonly ServeProcess[], signed: readonly Signed[], minimumSize: number): Promise<void> {
  const note = await convergedCheckpoint(nodes, minimumSize);
  const vkey = (await (await fetch(`${nodes[0]!.addr}/v1/log/key`)).text()).trim();
  for (const n of nodes) expect((await (await fetch(`${n.addr}/v1/log/key`)).text()).trim()).toBe(vkey);
  // The operator's audit, against every node: `signet log verify` recomputes the tree.
  for (const n of nodes) {
    const verified = signet(['log', 'verify', '--log-key', vkey], { env: { SIGNET_ADDR: n.addr } });
    expect(verified.stderr).toBe('');
    expect(verified.status).toBe(0);
  }
  const { checkpoint } = openCheckpoint(note, parseVerifierKey(vkey));
  const size = Number(checkpoint.size);
  const entries = await allEntries(nodes[nodes.length - 1]!, size);
  expect(entries.length).toBe(size);
  const computed = streamRoot(entries);
  expect(computed.size).toBe(checkpoint.size);
  expect(computed.root.equals(checkpoint.root)).toBe(true);

  // Dense and unique: each client-visible index is distinct, inside the tree, and holds exactly
  // that signature.
  const indices = signed.map((s) => s.index);
  expect(new Set(indices).size).toBe(indices.length);
  for (const s of signed) {
    expect(s.index).toBeLessThan(size);
    const entry = decodeEntry(entries[s.index]!);
    expect(entry.kind).toBe('signature');
    if (entry.kind === 'signature') expect(entry.signature_sha256).toBe(s.signatureSha256);
  }
}

describe('scale-out: one transparency log across nodes', () => {
  let cluster: PgCluster;
  const nodes: ServeProcess[] = [];

  async function startNodes(count: number): Promise<{ all: ServeProcess[]; token: string }> {
    const url = await cluster.createDatabase();
    const first = await serveProcess({ args: ['--store', url, '--log-level', 'warn'] });
    nodes.push(first);
    const env = { SIGNET_MASTER_KEY_FILE: join(first.dataDir, 'master.key') };
    const others = await Promise.all(Array.from({ length: count - 1 }, () => serveProcess({ args: ['--store', url, '--log-level', 'warn'], env })));
    nodes.push(...others);
    const created = await fetch(`${first.addr}/v1/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${first.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'rel', algorithm: 'ed25519', user_id: 'Rel <rel@example.org>' }),
    });
    expect(created.status).toBe(201);
    return { all: [first, ...others], token: first.token };
  }

  beforeAll(async () => {
    requireBuild();
    cluster = await startPgCluster();
  }, 120_000);

  afterEach(async () => {
    for (const n of nodes.splice(0)) {
      // ServeProcess.stop waits for an 'exit' that a node already killed has emitted.
      if (n.child.exitCode === null && n.child.signalCode === null) await n.stop('SIGKILL');
      rmSync(join(n.dataDir, '..'), { recursive: true, force: true });
    }
  });

  afterAll(() => cluster?.destroy());

  for (const count of [2, 3]) {
    it(`${count} nodes sign concurrently: dense unique indices, one checkpoint on every node, root from the entries`, async () => {
      const { all, token } = await startNodes(count);
      const replies = await Promise.all(all.flatMap((n) => Array.from({ length: 20 }, () => sign(n, token))));
      const signed = replies.filter((r): r is Signed => 'index' in r);
      expect(signed.length).toBe(replies.length);
      // The key creation is an entry too: every entry, not only ours, is accounted for.
      await auditLog(all, signed, signed.length + 1);
      const size = Number((await checkpointOf(all[0]!)).split('\n')[1]);
      expect(size).toBe(signed.length + 1);
    }, 120_000);
  }

  it('database down under load: signing refused with 503, nothing logged half-way; afterwards the log is whole', async () => {
    const { all, token } = await startNodes(2);
    const signed: Signed[] = [];
    const refused = new Set<number>();
    let running = true;
    const loop = async (n: ServeProcess): Promise<void> => {
      while (running) {
        const r = await sign(n, token);
        if ('index' in r) signed.push(r);
        else refused.add(r.status);
      }
    };
    const load = all.flatMap((n) => [loop(n), loop(n)]);
    await until(() => signed.length >= 5);
    cluster.stop('fast');
    await new Promise((r) => setTimeout(r, 1_000));
    cluster.start();
    const afterRestart = signed.length;
    await until(() => signed.length >= afterRestart + 5);
    running = false;
    await Promise.all(load);
    expect([...refused]).toEqual([503]);
    expect(signed.length).toBeGreaterThan(0);
    await auditLog(all, signed, Math.max(...signed.map((s) => s.index)) + 1);
  }, 120_000);

  it('signet store migrate keeps every entry and the same root', async () => {
    const lite = await serveProcess({ args: ['--log-level', 'warn'] });
    nodes.push(lite);
    const created = await fetch(`${lite.addr}/v1/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${lite.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'rel', algorithm: 'ed25519', user_id: 'Rel <rel@example.org>' }),
    });
    expect(created.status).toBe(201);
    const signed = (await Promise.all(Array.from({ length: 25 }, () => sign(lite, lite.token)))).filter((r): r is Signed => 'index' in r);
    expect(signed.length).toBe(25);
    const before = await convergedCheckpoint([lite], 26);
    await lite.stop();

    const url = await cluster.createDatabase();
    const migrated = signet(['store', 'migrate', '--from', `sqlite:${join(lite.dataDir, 'signet.db')}`, '--to', url]);
    expect(migrated.stderr).toContain('migrated and verified');
    expect(migrated.status).toBe(0);

    const pgNode = await serveProcess({ args: ['--store', url, '--log-level', 'warn'], env: { SIGNET_MASTER_KEY_FILE: join(lite.dataDir, 'master.key') } });
    nodes.push(pgNode);
    expect(await checkpointOf(pgNode)).toBe(before);
    await auditLog([pgNode], signed, 26);
    // The log carries on from there.
    const next = await sign(pgNode, lite.token);
    expect('index' in next && next.index).toBe(26);
  }, 120_000);

  it('kill -9 of a node under load: the others carry on, and every signature a client got is in the log', async () => {
    const { all, token } = await startNodes(3);
    const signed: Signed[] = [];
    let running = true;
    const loop = async (n: ServeProcess): Promise<void> => {
      while (running && n.child.exitCode === null && n.child.signalCode === null) {
        try {
          const r = await sign(n, token);
          if ('index' in r) signed.push(r);
        } catch {
          // the killed node's connections drop: the client got nothing, nothing to find
        }
      }
    };
    const load = all.flatMap((n) => [loop(n), loop(n)]);
    await until(() => signed.length >= 10);
    await all[0]!.stop('SIGKILL');
    const atKill = signed.length;
    await until(() => signed.length >= atKill + 10);
    running = false;
    await Promise.all(load);
    expect(atKill).toBeGreaterThan(0);
    expect(signed.length).toBeGreaterThan(atKill);
    await auditLog(all.slice(1), signed, Math.max(...signed.map((s) => s.index)) + 1);
  }, 120_000);
});
