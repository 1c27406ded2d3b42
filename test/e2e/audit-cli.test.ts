// `signet audit verify` on the audit log a real server wrote (docs/security.md "Threat model"): it
// passes, names the exact line edited or deleted, catches a cut-off tail against a saved head,
// and still passes after the server restarts and writes more.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireBuild, signet } from '../helpers/cli.js';
import { api, startTestServer } from '../helpers/server.js';

describe('signet audit verify', () => {
  let work: string;
  let dataDir: string;
  let auditLog: string;

  /** Starts a server on dataDir, makes an allowed and a refused signature request, stops it. */
  async function serveSome(name: string): Promise<void> {
    const t = await startTestServer({ dataDir });
    try {
      if (t.adminToken !== '') {
        writeFileSync(join(work, 'admin-token'), t.adminToken);
        const key = await api(t, 'POST', '/v1/keys', { token: t.adminToken, json: { name: 'k', algorithm: 'ed25519', user_id: 'K <k@example.org>' } });
        expect(key.status, key.text).toBe(201);
      }
      const token = readFileSync(join(work, 'admin-token'), 'utf8');
      expect((await api(t, 'POST', `/v1/sign/k?name=${name}`, { token, body: name })).status).toBe(200);
      expect((await api(t, 'POST', `/v1/sign/k?name=${name}`, { token: 'not-a-token', body: name })).status).toBe(401);
    } finally {
      await t.close();
    }
  }

  const verify = (...args: string[]) => signet(['audit', 'verify', '--data', dataDir, ...args]);

  beforeAll(async () => {
    requireBuild();
    work = mkdtempSync(join(tmpdir(), 'signet-audit-cli-'));
    dataDir = join(work, 'data');
    auditLog = join(dataDir, 'audit.log');
    await serveSome('first.bin');
  }, 60_000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('verifies the chain the server wrote and saves its head', () => {
    const head = join(work, 'head.json');
    const r = verify('--json', '--save-head', head);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { ok: boolean; lines: number; unchained: number; head: { seq: number; mac: string } };
    const lines = readFileSync(auditLog, 'utf8').trim().split('\n');
    expect(out).toMatchObject({ ok: true, lines: lines.length, unchained: 0, head: { seq: lines.length } });
    expect(lines.length).toBeGreaterThanOrEqual(3); // key create, the allowed and the refused signature
    expect(JSON.parse(readFileSync(head, 'utf8'))).toEqual(out.head);
    expect(verify().stdout).toMatch(new RegExp(`^audit log verified: ${lines.length} lines, chain at record ${lines.length}\\n$`));
  });

  it('names the line that was edited or deleted, and catches a cut-off tail with --from-head', () => {
    const head = join(work, 'head.json');
    const original = readFileSync(auditLog, 'utf8');
    const lines = original.trim().split('\n');
    const deny = lines.findIndex((l) => l.includes('"decision":"deny"'));
    expect(deny).toBeGreaterThan(0);
    try {
      // A refusal rewritten as an allow.
      writeFileSync(auditLog, original.replace(lines[deny] as string, (lines[deny] as string).replace('"decision":"deny"', '"decision":"allow"')));
      let r = verify();
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`audit log line ${deny + 1}: its MAC does not match`);
      expect(r.stderr).toContain('(AUDIT_CHAIN_BROKEN)');
      // The first line deleted.
      writeFileSync(auditLog, `${lines.slice(1).join('\n')}\n`);
      r = verify();
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('audit log line 1: it does not follow');
      // The last line cut off: a valid shorter chain, caught against the saved head.
      writeFileSync(auditLog, `${lines.slice(0, -1).join('\n')}\n`);
      expect(verify().status).toBe(0);
      r = verify('--from-head', head);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/ends at record \d+, before record \d+ of the saved head: lines were cut off the end \(AUDIT_CHAIN_BROKEN\)/);
    } finally {
      writeFileSync(auditLog, original);
    }
  });

  it('goes on across a restart: the new lines extend the same chain', async () => {
    const before = readFileSync(auditLog, 'utf8').trim().split('\n').length;
    await serveSome('second.bin');
    const r = verify('--json', '--from-head', join(work, 'head.json'));
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { lines: number; head: { seq: number } };
    expect(out.lines).toBeGreaterThan(before);
    expect(out.head.seq).toBe(out.lines);
  }, 60_000);

  it('needs the master key, and refuses a malformed saved head', () => {
    const empty = join(work, 'empty');
    const r = signet(['audit', 'verify', '--data', empty]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^signet: no master key in .*\(MASTER_KEY_UNREADABLE\)/);
    const bad = join(work, 'bad-head.json');
    writeFileSync(bad, '{"seq":"x"}');
    expect(verify('--from-head', bad).stderr).toContain('the saved audit head is not');
    const missing = verify('--file', join(work, 'none.log'));
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/cannot read .*none\.log: ENOENT \(FILE_UNREADABLE\)/);
    expect(signet(['audit', 'verify', '--help']).stdout).toContain('--from-head <file>');
  });
});
