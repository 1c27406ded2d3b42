// signet backup / restore: an online backup taken while the server signs, restored into a new
// data dir, still proves inclusion of every signature made before the backup; a backup whose
// log is behind the last published checkpoint is refused unless forced (monitors would see a
// fork); a checkpoint of another log or an occupied data dir is refused.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCheckpoint } from '../../src/tlog/checkpoint.js';
import { decodeEntry, type SignatureLogEntry } from '../../src/tlog/entry.js';
import { parseVerifierKey } from '../../src/tlog/note.js';
import { parseReceipt, verifyReceipt } from '../../src/tlog/receipt.js';
import { serveProcess, SIGNET, signet, type CliResult, type ServeProcess } from '../helpers/cli.js';
import { consistencyOk, inclusionOk, leafHash } from '../helpers/rfc9162-verifier.js';
import { api } from '../helpers/server.js';

interface Signed {
  index: number;
  signatureSha256: string;
}

/** The CLI without blocking this process (the signing load runs in it meanwhile). */
function signetAsync(args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [SIGNET, ...args], { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ status: code ?? -1, stdout, stderr }));
  });
}

describe('backup and restore', () => {
  const root = mkdtempSync(join(tmpdir(), 'signet-backup-'));
  let a: ServeProcess;
  let vkey: string;
  const signed: Signed[] = [];

  async function signOne(n: number): Promise<Signed> {
    const r = await api({ url: a.addr }, 'POST', `/v1/sign/rel?name=a-${n}.tar.gz`, { token: a.token, body: `artifact ${n}\n` });
    expect(r.status, r.text).toBe(200);
    const s = { index: r.json.log.index as number, signatureSha256: createHash('sha256').update(Buffer.from(r.json.signature, 'base64')).digest('hex') };
    signed.push(s);
    return s;
  }

  /** Four signers in parallel until `stop()`; resolves when they have all finished. */
  function load(): { stop: () => Promise<void> } {
    let running = true;
    let n = 10_000 * (signed.length + 1);
    const workers = Array.from({ length: 4 }, async () => {
      while (running) await signOne(n++);
    });
    return {
      stop: async () => {
        running = false;
        await Promise.all(workers);
      },
    };
  }

  async function publishedSize(dir: string, atLeast: number): Promise<bigint> {
    for (let i = 0; i < 200; i++) {
      const path = join(dir, 'published-checkpoint');
      if (existsSync(path)) {
        const size = openCheckpoint(readFileSync(path), parseVerifierKey(vkey)).checkpoint.size;
        if (size >= BigInt(atLeast)) return size;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`published-checkpoint in ${dir} did not reach ${atLeast}`);
  }

  beforeAll(async () => {
    a = await serveProcess({ dataDir: join(root, 'a') });
    const created = await api({ url: a.addr }, 'POST', '/v1/keys', { token: a.token, json: { name: 'rel', algorithm: 'ed25519', user_id: 'Rel <rel@example.org>' } });
    expect(created.status).toBe(201);
    vkey = (await api({ url: a.addr }, 'GET', '/v1/log/key')).text.trim();
  }, 60_000);

  afterAll(async () => {
    await a?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('backs up under signing load; the restored log proves every signature made before the backup', async () => {
    const backup = join(root, 'b1.db');
    const running = load();
    while (signed.length < 40) await new Promise((r) => setTimeout(r, 20));
    const before = [...signed];
    const r = await signetAsync(['--json', '--data', a.dataDir, 'backup', '--out', backup]);
    // The load went on while the backup ran.
    const duringBackup = signed.length;
    while (signed.length < duringBackup + 20) await new Promise((res) => setTimeout(res, 20));
    await running.stop();
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.log_entries).toBeGreaterThanOrEqual(before.length + 1);
    expect(statSync(backup).mode & 0o077).toBe(0);
    expect(existsSync(`${backup}-wal`)).toBe(false);

    // The old server kept signing after the backup: its published checkpoint is ahead.
    const published = await publishedSize(a.dataDir, signed.length + 1);
    expect(published).toBeGreaterThan(BigInt(out.log_entries));
    const dir = join(root, 'restored');
    const refused = signet(['--data', dir, 'restore', backup, '--checkpoint', join(a.dataDir, 'published-checkpoint')]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/has \d+ entries, but a checkpoint of size \d+ was published.*\(BACKUP_BEHIND\)/);
    expect(existsSync(join(dir, 'signet.db'))).toBe(false);
    // No record of what was published: refused as well.
    const unknown = signet(['--data', dir, 'restore', backup]);
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toMatch(/no record of the last published checkpoint.*\(BACKUP_BEHIND\)/);

    const forced = signet(['--json', '--data', dir, 'restore', backup, '--checkpoint', join(a.dataDir, 'published-checkpoint'), '--force']);
    expect(forced.status, forced.stderr).toBe(0);
    expect(statSync(join(dir, 'signet.db')).mode & 0o077).toBe(0);
    expect(JSON.parse(forced.stdout)).toMatchObject({ forced: true, log_entries: out.log_entries });
    copyFileSync(join(a.dataDir, 'master.key'), join(dir, 'master.key'));
    const b = await serveProcess({ dataDir: dir });
    try {
      expect((await api({ url: b.addr }, 'GET', '/v1/log/key')).text.trim()).toBe(vkey);
      for (const s of before) {
        const rr = await api({ url: b.addr }, 'GET', `/v1/log/receipt?index=${s.index}`);
        expect(rr.status, rr.text).toBe(200);
        const receipt = parseReceipt(rr.text);
        const entry = receipt.extra as Buffer;
        const verified = verifyReceipt(receipt, leafHash(entry), parseVerifierKey(vkey));
        expect((decodeEntry(entry) as SignatureLogEntry).signature_sha256).toBe(s.signatureSha256);
        expect(inclusionOk(s.index, Number(verified.checkpoint.size), receipt.proof, verified.checkpoint.root, leafHash(entry))).toBe(true);
      }
    } finally {
      await b.stop();
    }
  });

  it('a backup taken after the last signature restores without --force, and its log extends what was published', async () => {
    const published = await publishedSize(a.dataDir, signed.length + 1);
    const backup = join(root, 'b2.db');
    const r = signet(['--data', a.dataDir, 'backup', '--out', backup]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('master.key is not in it');
    const dir = join(root, 'restored2');
    const ok = signet(['--json', '--data', dir, 'restore', backup, '--checkpoint', join(a.dataDir, 'published-checkpoint')]);
    expect(ok.status, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ forced: false, published_size: Number(published) });
    // The checkpoint given becomes the new data dir's record, for the next restore.
    expect(readFileSync(join(dir, 'published-checkpoint'), 'utf8')).toBe(readFileSync(join(a.dataDir, 'published-checkpoint'), 'utf8'));
    copyFileSync(join(a.dataDir, 'master.key'), join(dir, 'master.key'));
    const b = await serveProcess({ dataDir: dir });
    try {
      const note = (await api({ url: b.addr }, 'GET', '/v1/log/checkpoint')).text;
      const now = openCheckpoint(note, parseVerifierKey(vkey)).checkpoint;
      const old = openCheckpoint(readFileSync(join(a.dataDir, 'published-checkpoint')), parseVerifierKey(vkey)).checkpoint;
      expect(now.size).toBeGreaterThanOrEqual(old.size);
      const proof = await api({ url: b.addr }, 'GET', `/v1/log/proof/consistency?first=${old.size}&second=${now.size}`);
      const hashes = (proof.json.proof as string[]).map((p) => Buffer.from(p, 'base64'));
      if (now.size === old.size) expect(now.root.equals(old.root)).toBe(true);
      else expect(consistencyOk(Number(old.size), Number(now.size), hashes, old.root, now.root)).toBe(true);
      // Restoring again over the restored store: refused, nothing overwritten.
      const again = signet(['--data', dir, 'restore', backup, '--force']);
      expect(again.status).toBe(1);
      expect(again.stderr).toMatch(/signet\.db exists.*\(STORE_NOT_EMPTY\)/);
    } finally {
      await b.stop();
    }
  });

  it('refuses a checkpoint of another log, and a file that is not a backup', async () => {
    const other = await serveProcess({ dataDir: join(root, 'other') });
    let foreign: string;
    try {
      foreign = (await api({ url: other.addr }, 'GET', '/v1/log/checkpoint')).text;
    } finally {
      await other.stop();
    }
    const file = join(root, 'foreign-checkpoint');
    writeFileSync(file, foreign);
    const backup = join(root, 'b3.db');
    expect(signet(['--data', a.dataDir, 'backup', '--out', backup]).status).toBe(0);
    const r = signet(['--data', join(root, 'r3'), 'restore', backup, '--checkpoint', file]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/\(TLOG_CHECKPOINT_INVALID\)/);
    // A backup never overwrites.
    const twice = signet(['--data', a.dataDir, 'backup', '--out', backup]);
    expect(twice.status).toBe(1);
    expect(twice.stderr).toMatch(/exists.*\(FILE_WRITE_FAILED\)/);
    const junk = join(root, 'junk.db');
    writeFileSync(junk, 'not a database at all, but long enough to look like one'.repeat(100));
    mkdirSync(join(root, 'r4'));
    const bad = signet(['--data', join(root, 'r4'), 'restore', junk, '--force']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/\(BACKUP_INVALID\)/);
    expect(existsSync(join(root, 'r4', 'signet.db'))).toBe(false);
  });
});
