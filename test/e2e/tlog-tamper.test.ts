// Tamper evidence: edit, delete, reorder or insert one stored entry directly in SQLite and
// `signet log verify` (offline, reading the store; and online, through a server on the edited
// store) fails naming that entry; roll the log back to an older genuine checkpoint and
// verification against a checkpoint saved earlier fails, as does `signet log monitor`.
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, serveProcess, signet } from '../helpers/cli.js';

const ENTRIES = 11; // one key event + 10 signatures

async function waitForSize(addr: string, size: number): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const note = await (await fetch(`${addr}/v1/log/checkpoint`)).text();
    if (Number(note.split('\n')[1]) >= size) return note;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the log did not integrate');
}

describe('signet log verify detects a tampered store', () => {
  let root: string;
  let pristine: string;
  let savedCheckpoint: string;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'signet-tamper-'));
    pristine = join(root, 'pristine');
    const server = await serveProcess({ dataDir: pristine });
    try {
      const env = { SIGNET_ADDR: server.addr, SIGNET_TOKEN: server.token };
      expect(signet(['key', 'create', 'rel'], { env }).status).toBe(0);
      for (let i = 0; i < 10; i++) {
        const file = join(root, `pkg-${i}.tar.gz`);
        writeFileSync(file, `artifact ${i}\n`);
        const r = signet(['sign', '--key', 'rel', file], { env });
        expect(r.status, r.stderr).toBe(0);
      }
      await waitForSize(server.addr, ENTRIES);
      const r = signet(['log', 'checkpoint'], { env });
      expect(r.status).toBe(0);
      savedCheckpoint = join(root, 'saved.checkpoint');
      writeFileSync(savedCheckpoint, r.stdout);
    } finally {
      await server.stop();
    }
  }, 120_000);
  afterAll(() => root && cleanup(root));

  /** A copy of the pristine data dir with `edit` applied to its database. */
  function tampered(name: string, edit: (db: Database.Database) => void): string {
    const dir = join(root, name);
    cpSync(pristine, dir, { recursive: true });
    const db = new Database(join(dir, 'signet.db'));
    try {
      db.transaction(() => edit(db))();
    } finally {
      db.close();
    }
    return dir;
  }

  const entry = (db: Database.Database, idx: number): Buffer =>
    (db.prepare('SELECT entry FROM tlog_entries WHERE idx = ?').get(idx) as { entry: Buffer }).entry;

  it('passes on the untouched store, offline and against the saved checkpoint', () => {
    const r = signet(['log', 'verify', '--data', pristine, '--offline', '--from-checkpoint', savedCheckpoint]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`log verified: ${ENTRIES} entries`));
  });

  const cases: Array<[string, number, (db: Database.Database) => void]> = [
    [
      'edit',
      5,
      (db) => {
        const edited = Buffer.from(entry(db, 5).toString('utf8').replace('pkg-4', 'pkg-X'));
        db.prepare('UPDATE tlog_entries SET entry = ? WHERE idx = 5').run(edited);
      },
    ],
    ['delete', 6, (db) => db.prepare('DELETE FROM tlog_entries WHERE idx = 6').run()],
    [
      'reorder',
      3,
      (db) => {
        const [a, b] = [entry(db, 3), entry(db, 8)];
        db.prepare('UPDATE tlog_entries SET entry = ? WHERE idx = 3').run(b);
        db.prepare('UPDATE tlog_entries SET entry = ? WHERE idx = 8').run(a);
      },
    ],
    [
      'insert',
      4,
      (db) => {
        const rows = db.prepare('SELECT idx, entry, created_at FROM tlog_entries WHERE idx >= 4 ORDER BY idx').all() as Array<{ idx: number; entry: Buffer; created_at: number }>;
        db.prepare('DELETE FROM tlog_entries WHERE idx >= 4').run();
        const insert = db.prepare('INSERT INTO tlog_entries (idx, entry, created_at) VALUES (?, ?, ?)');
        insert.run(4, Buffer.from(entry(db, 3).toString('utf8').replace('pkg-2', 'evil-0')), rows[0]?.created_at ?? 0);
        for (const r of rows) insert.run(r.idx + 1, r.entry, r.created_at);
        db.prepare('UPDATE tlog_sequence SET next_index = next_index + 1').run();
      },
    ],
  ];

  for (const [what, index, edit] of cases) {
    it(`names entry ${index} after one entry was tampered with: ${what} (offline)`, () => {
      const dir = tampered(what, edit);
      const r = signet(['log', 'verify', '--data', dir, '--offline']);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`entry ${index}\\b`));
      expect(r.stderr).toMatch(/^signet: /);
    });
  }

  it('names the entry through the server too (online verify recomputes, it does not trust the server)', async () => {
    const dir = tampered('edit-online', cases[0]![2]);
    const server = await serveProcess({ dataDir: dir });
    try {
      const r = signet(['log', 'verify', '--addr', server.addr]);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/entry 5\b/);
    } finally {
      await server.stop();
    }
  }, 60_000);

  it('detects a rollback to an older genuine checkpoint against the saved one (verify and monitor)', async () => {
    const dir = tampered('truncate', (db) => {
      // The attacker can't sign, but can reuse a genuine older checkpoint from the history.
      const old = db.prepare('SELECT size, root, checkpoint FROM tlog_checkpoints WHERE size < ? ORDER BY size DESC LIMIT 1').get(ENTRIES) as {
        size: number;
        root: Buffer;
        checkpoint: string;
      };
      expect(old).toBeDefined();
      db.prepare('DELETE FROM tlog_entries WHERE idx >= ?').run(old.size);
      db.prepare('UPDATE tlog_sequence SET next_index = ?').run(old.size);
      db.prepare('UPDATE tlog_tree SET size = ?, root = ?, checkpoint = ?').run(old.size, old.root, old.checkpoint);
    });
    // Alone, the shortened log is self-consistent; the saved checkpoint exposes it.
    expect(signet(['log', 'verify', '--data', dir, '--offline']).status).toBe(0);
    const offline = signet(['log', 'verify', '--data', dir, '--offline', '--from-checkpoint', savedCheckpoint]);
    expect(offline.status).toBe(1);
    expect(offline.stderr).toMatch(/TLOG_INCONSISTENT/);

    const server = await serveProcess({ dataDir: dir });
    try {
      const online = signet(['log', 'verify', '--addr', server.addr, '--from-checkpoint', savedCheckpoint]);
      expect(online.status).toBe(1);
      expect(online.stderr).toMatch(/truncated or forked/);
      const monitorFile = join(root, 'monitor.checkpoint');
      cpSync(savedCheckpoint, monitorFile);
      const monitor = signet(['log', 'monitor', '--addr', server.addr, '--checkpoint-file', monitorFile, '--once']);
      expect(monitor.status).toBe(1);
      expect(monitor.stderr).toMatch(/fork/);
    } finally {
      await server.stop();
    }
  }, 60_000);
});
