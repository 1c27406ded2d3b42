// "Who signed what yesterday": signet log search over the transparency log (admin only), naming
// keys and roles, filtered by time, key, role, name and kind; and signet log verify-receipt,
// offline against a pinned log key, with the signature and the artifact it is about.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveProcess, signet, type ServeProcess } from '../helpers/cli.js';

describe('log search and verify-receipt', () => {
  let s: ServeProcess;
  let dir: string;
  let env: Record<string, string>;
  let ciEnv: Record<string, string>;
  let vkey: string;
  let pkgIndex: number;

  const ok = (args: string[], e: Record<string, string> = env): string => {
    const r = signet(args, { env: e, cwd: dir });
    expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    return r.stdout;
  };
  const search = (...args: string[]): any[] => JSON.parse(ok(['--json', 'log', 'search', ...args])).entries;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'signet-search-'));
    s = await serveProcess({ dataDir: join(dir, 'data') });
    env = { SIGNET_ADDR: s.addr, SIGNET_TOKEN: s.token };
    ok(['key', 'create', 'rel', '--uid', 'Rel <rel@example.org>']);
    ok(['key', 'create', 'other', '--uid', 'Other <other@example.org>']);
    writeFileSync(join(dir, 'ci.yaml'), 'rules:\n  - keys: [rel]\n    kinds: [detached]\n');
    const roleId = ok(['role', 'create', 'ci', '--policy', join(dir, 'ci.yaml')]).trim();
    const secretId = ok(['role', 'secret', 'ci']).trim();
    const token = ok(['login', '--role-id', roleId, '--secret-id', secretId]).trim();
    ciEnv = { SIGNET_ADDR: s.addr, SIGNET_TOKEN: token };
    writeFileSync(join(dir, 'pkg-1.0.tar.gz'), 'the release\n');
    writeFileSync(join(dir, 'notes.txt'), 'notes\n');
    pkgIndex = JSON.parse(ok(['--json', 'sign', '--key', 'rel', 'pkg-1.0.tar.gz'], ciEnv)).log.index;
    ok(['sign', '--key', 'other', '--armor', 'notes.txt']);
    vkey = ok(['log', 'key']).trim();
  }, 120_000);

  afterAll(async () => {
    await s?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('lists what was signed in the window, naming keys and roles, not accessors', () => {
    const all = search('--since', '1h');
    expect(all.map((e) => `${e.kind}:${e.key}:${e.name}`)).toEqual(['key:rel:rel', 'key:other:other', 'detached:rel:pkg-1.0.tar.gz', 'detached:other:notes.txt']);
    const pkg = all.find((e) => e.name === 'pkg-1.0.tar.gz');
    expect(pkg).toMatchObject({ index: pkgIndex, role: 'ci', digest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) });
    expect(all.find((e) => e.name === 'notes.txt').role).toBe('admin (first start)');
    expect(JSON.stringify(all)).not.toMatch(/token_accessor|"accessor"/);
    // The human form: one line per entry, tab-separated.
    const lines = ok(['log', 'search', '--since', '1h', '--role', 'ci']).trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]?.split('\t').slice(1, 6)).toEqual([String(pkgIndex), 'rel', 'detached', 'ci', 'pkg-1.0.tar.gz']);
  });

  it('filters by key, role, name glob, kind and time', () => {
    expect(search('--since', '1h', '--key', 'rel').map((e) => e.name)).toEqual(['rel', 'pkg-1.0.tar.gz']);
    expect(search('--since', '1h', '--role', 'ci').map((e) => e.name)).toEqual(['pkg-1.0.tar.gz']);
    expect(search('--since', '1h', '--name', '*.txt').map((e) => e.name)).toEqual(['notes.txt']);
    expect(search('--since', '1h', '--kind', 'key').map((e) => e.event)).toEqual(['create', 'create']);
    expect(search('--since', '1h', '--kind', 'apt')).toEqual([]);
    expect(search('--since', '2d', '--until', '1d')).toEqual([]);
    expect(search('--since', new Date(Date.now() + 3_600_000).toISOString())).toEqual([]);
    const bad = signet(['log', 'search', '--since', 'yesterday'], { env });
    expect(bad.status).toBe(2);
    const noKey = signet(['log', 'search', '--since', '1h', '--key', 'nope'], { env });
    expect(noKey.stderr).toMatch(/\(KEY_NOT_FOUND\)/);
  });

  it('is for admins only: a CI token cannot read who signed what', () => {
    const r = signet(['log', 'search', '--since', '1h'], { env: ciEnv });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/\(POLICY_DENIED\)/);
  });

  it('verify-receipt checks a receipt, the signature and the artifact offline', () => {
    const receipt = join(dir, 'pkg.receipt');
    writeFileSync(receipt, ok(['log', 'proof', String(pkgIndex)]));
    writeFileSync(join(dir, 'log.vkey'), `${vkey}\n`);
    // No server needed: nothing but files and the pinned key.
    const offline = { PATH: process.env.PATH ?? '', SIGNET_ADDR: 'http://127.0.0.1:1' };
    const out = JSON.parse(ok(['--json', 'log', 'verify-receipt', receipt, '--log-key', join(dir, 'log.vkey'), '--signature', 'pkg-1.0.tar.gz.sig', '--artifact', 'pkg-1.0.tar.gz'], offline));
    expect(out).toMatchObject({ index: pkgIndex, kind: 'detached', name: 'pkg-1.0.tar.gz', signature: 'matches', artifact: 'matches' });
    // Another signature (of another file, armored) is not the logged one.
    const wrongSig = signet(['log', 'verify-receipt', receipt, '--log-key', vkey, '--signature', 'notes.txt.asc'], { env: offline, cwd: dir });
    expect(wrongSig.status).toBe(1);
    expect(wrongSig.stderr).toMatch(/not the signature this receipt logs \(RECEIPT_MISMATCH\)/);
    writeFileSync(join(dir, 'pkg-evil.tar.gz'), 'the release, backdoored\n');
    const wrongFile = signet(['log', 'verify-receipt', receipt, '--log-key', vkey, '--artifact', 'pkg-evil.tar.gz'], { env: offline, cwd: dir });
    expect(wrongFile.stderr).toMatch(/\(RECEIPT_MISMATCH\)/);
    // A receipt whose entry was edited (another artifact digest) no longer proves inclusion.
    const text = readFileSync(receipt, 'utf8');
    const extra = /^extra (\S+)$/m.exec(text)?.[1] as string;
    const entry = Buffer.from(extra, 'base64').toString('utf8').replace('pkg-1.0.tar.gz', 'pkg-1.1.tar.gz');
    writeFileSync(join(dir, 'edited.receipt'), text.replace(extra, Buffer.from(entry).toString('base64')));
    const edited = signet(['log', 'verify-receipt', 'edited.receipt', '--log-key', vkey], { env: offline, cwd: dir });
    expect(edited.status).toBe(1);
    expect(edited.stderr).toMatch(/^signet: .*\((TLOG_PROOF_INVALID|TLOG_CHECKPOINT_INVALID)\)\n$/);
    // Another log's key, and no key at all.
    const otherKey = vkey.replace(/^[^+]+/, 'other.example/log');
    expect(signet(['log', 'verify-receipt', receipt, '--log-key', otherKey], { env: offline, cwd: dir }).status).toBe(1);
    const noKey = signet(['log', 'verify-receipt', receipt], { env: offline, cwd: dir });
    expect(noKey.status).toBe(2);
    expect(noKey.stderr).toMatch(/needs the log key you trust/);
  });
});
