// Invariant 4 under a crash: kill -9 the server while clients sign; after a restart every
// signature a client received is in the log (matched by the SHA-256 of the signature packet),
// and the log still verifies. The audit log has the allow record of every logged signature
// (written before signing: docs/architecture.md, invariant 2), and its chain still verifies.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeEntry } from '../../src/tlog/entry.js';
import { cleanup, serveProcess, signet } from '../helpers/cli.js';

describe('kill -9 under signing load', () => {
  const root = mkdtempSync(join(tmpdir(), 'signet-crash-'));
  afterAll(() => cleanup(root));

  it('loses no signature that was handed out', async () => {
    const dataDir = join(root, 'data');
    const first = await serveProcess({ dataDir });
    const env = { SIGNET_ADDR: first.addr, SIGNET_TOKEN: first.token };
    expect(signet(['key', 'create', 'rel'], { env }).status).toBe(0);

    const received: string[] = [];
    let stop = false;
    const client = async (c: number): Promise<void> => {
      for (let i = 0; !stop; i++) {
        try {
          const res = await fetch(`${first.addr}/v1/sign/rel?name=c${c}-${i}`, {
            method: 'POST',
            headers: { authorization: `Bearer ${first.token}`, 'content-type': 'application/octet-stream' },
            body: `client ${c} artifact ${i}`,
          });
          if (res.status !== 200) continue;
          const body = (await res.json()) as { signature: string };
          received.push(createHash('sha256').update(Buffer.from(body.signature, 'base64')).digest('hex'));
        } catch {
          return; // the connection died with the server: no signature was received
        }
      }
    };
    const load = Array.from({ length: 16 }, (_, c) => client(c));
    // Kill once the load is really under way (counted, not timed: a busy machine signs slower),
    // and at least a moment after the first signatures, so appends are in flight.
    const deadline = Date.now() + 60_000;
    while (received.length < 80 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await first.stop('SIGKILL');
    stop = true;
    await Promise.all(load);
    expect(received.length).toBeGreaterThan(50);

    const second = await serveProcess({ dataDir });
    const loggedNames = new Set<string>();
    try {
      const logged = new Set<string>();
      for (let start = 0; ; start += 1000) {
        // Wait for the restarted integrator, then read everything.
        const note = await (await fetch(`${second.addr}/v1/log/checkpoint`)).text();
        const size = Number(note.split('\n')[1]);
        if (start >= size) break;
        const { entries } = (await (await fetch(`${second.addr}/v1/log/entries?start=${start}&end=${start + 1000}`)).json()) as { entries: string[] };
        for (const e of entries) {
          const entry = decodeEntry(Buffer.from(e, 'base64'));
          if (entry.kind === 'signature') {
            logged.add(entry.signature_sha256);
            loggedNames.add(entry.artifact.name);
          }
        }
      }
      const missing = received.filter((digest) => !logged.has(digest));
      expect(missing).toEqual([]);
      const verify = signet(['log', 'verify', '--addr', second.addr]);
      expect(verify.status, verify.stderr).toBe(0);
    } finally {
      await second.stop();
    }
    const audit = readFileSync(join(dataDir, 'audit.log'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { decision?: string; action?: { op?: string; name?: string } });
    const allowed = new Set(audit.filter((l) => l.decision === 'allow' && l.action?.op === 'sign').map((l) => l.action?.name));
    expect(loggedNames.size).toBeGreaterThan(50);
    expect([...loggedNames].filter((name) => !allowed.has(name))).toEqual([]);
    const chain = signet(['audit', 'verify', '--data', dataDir]);
    expect(chain.status, chain.stderr).toBe(0);
  }, 120_000);
});
