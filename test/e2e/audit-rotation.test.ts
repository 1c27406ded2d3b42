// audit.log rotation: after logrotate moves the file away, SIGHUP makes the server write a new
// one, and the HMAC chain runs on across the files: `signet audit verify --file OLD --file NEW`
// passes, in that order only, and names the file and line of an edit.
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveProcess, signet, type ServeProcess } from '../helpers/cli.js';
import { api } from '../helpers/server.js';

describe('audit.log rotation', () => {
  let s: ServeProcess;
  let log: string;

  async function requests(n: number): Promise<void> {
    for (let i = 0; i < n; i++) {
      expect((await api({ url: s.addr }, 'GET', '/v1/keys', { token: s.token })).status).toBe(200);
      expect((await api({ url: s.addr }, 'GET', '/v1/keys', { token: 'sgn.not-a-token' })).status).toBe(401);
    }
  }
  const lines = (f: string): string[] => readFileSync(f, 'utf8').trim().split('\n');

  beforeAll(async () => {
    s = await serveProcess();
    log = join(s.dataDir, 'audit.log');
    await requests(3);
    renameSync(log, `${log}.1`);
    // Written after the move, before SIGHUP: still into the moved file (same open file).
    await requests(1);
    s.child.kill('SIGHUP');
    for (let i = 0; i < 100 && !existsSync(log); i++) {
      await requests(1);
      await new Promise((r) => setTimeout(r, 50));
    }
    await requests(2);
  }, 60_000);

  afterAll(async () => {
    await s?.stop();
    if (s) rmSync(join(s.dataDir, '..'), { recursive: true, force: true });
  });

  it('SIGHUP reopens: new records go to a new audit.log, and the chain runs across both files', () => {
    expect(s.exitReport()).toMatch(/running$/);
    expect(existsSync(log)).toBe(true);
    const old = lines(`${log}.1`);
    const now = lines(log);
    expect(old.length).toBeGreaterThanOrEqual(8);
    expect(now.length).toBeGreaterThanOrEqual(4);
    const r = signet(['--json', '--data', s.dataDir, 'audit', 'verify', '--file', `${log}.1`, '--file', log]);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, lines: old.length + now.length, head: { seq: old.length + now.length } });
    // The new file's first record follows the old file's last.
    expect(JSON.parse(now[0] as string).seq).toBe(old.length + 1);
  });

  it('refuses the files out of order, the new one alone, and names the file and line of an edit', () => {
    const reversed = signet(['--data', s.dataDir, 'audit', 'verify', '--file', log, '--file', `${log}.1`]);
    expect(reversed.status).toBe(1);
    expect(reversed.stderr).toMatch(/audit\.log line 1: .*\(AUDIT_CHAIN_BROKEN\)/);
    const alone = signet(['--data', s.dataDir, 'audit', 'verify']);
    expect(alone.status).toBe(1);
    expect(alone.stderr).toMatch(/line 1: it does not follow the record before it/);
    const old = lines(`${log}.1`);
    const edited = [...old];
    edited[2] = (edited[2] as string).replace(/"time":"(\d)/, (_m, d: string) => `"time":"${(Number(d) + 1) % 10}`);
    expect(edited[2]).not.toBe(old[2]);
    const copy = join(s.dataDir, 'audit.log.1.edited');
    writeFileSync(copy, `${edited.join('\n')}\n`);
    const r = signet(['--data', s.dataDir, 'audit', 'verify', '--file', copy, '--file', log]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${copy} line 3: its MAC does not match`);
    // One file, as before: the message form is unchanged.
    const single = signet(['--data', s.dataDir, 'audit', 'verify', '--file', copy]);
    expect(single.stderr).toMatch(/audit log line 3: its MAC does not match/);
  });
});
