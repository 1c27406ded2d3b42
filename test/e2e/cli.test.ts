// The `signet` CLI as users run it: against a real `signet serve` child process, results checked
// with real gpg and sha256sum.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTools } from '../helpers/tools.js';
import { Gpg } from '../helpers/gpg.js';
import { requireBuild, serveProcess, signet, type ServeProcess } from '../helpers/cli.js';

describe('signet CLI', () => {
  let srv: ServeProcess;
  let work: string;
  let gpg: Gpg;
  let env: Record<string, string>;

  beforeAll(async () => {
    requireTools('gpg');
    requireBuild();
    srv = await serveProcess();
    work = mkdtempSync(join(tmpdir(), 'signet-cli-work-'));
    env = { SIGNET_ADDR: srv.addr, SIGNET_TOKEN: srv.token };
    gpg = new Gpg();
  }, 60_000);

  afterAll(async () => {
    gpg?.close();
    await srv?.stop();
    if (srv) rmSync(join(srv.dataDir, '..'), { recursive: true, force: true });
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('prints the admin token once on first start, on stdout only', () => {
    // stdout carries the JSON logs too: the token is the first line and appears nowhere else.
    const lines = srv.stdout().split('\n');
    expect(lines[0]).toBe(srv.token);
    expect(lines.slice(1).some((l) => l.includes(srv.token))).toBe(false);
    expect(srv.stderr()).toContain('admin token written to');
    expect(srv.stderr()).not.toContain(srv.token);
  });

  it('has --help everywhere with exit 0', () => {
    for (const args of [['--help'], ['serve', '--help'], ['key', '--help'], ['key', 'create', '--help'], ['key', 'import', '--help'], ['sign', '--help'], ['sums', '--help']]) {
      const r = signet(args);
      expect(r.status, args.join(' ')).toBe(0);
      expect(r.stdout).toMatch(/Usage: signet/);
    }
  });

  it('exits 2 on usage errors with one signet: line', () => {
    for (const args of [['frobnicate'], ['sign', 'file'], ['key', 'create'], ['key', 'create', 'x', '--algo', 'dsa']]) {
      const r = signet(args, { env });
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr.split('\n')[0]).toMatch(/^signet: /);
    }
  });

  it('creates keys, signs files and gpg verifies them', () => {
    const created = signet(['key', 'create', 'rel', '--algo', 'rsa4096', '--uid', 'Release <rel@example.org>', '--json'], { env });
    expect(created.status, created.stderr).toBe(0);
    const info = JSON.parse(created.stdout) as { fingerprint: string; algorithm: string };
    expect(info.algorithm).toBe('rsa4096');
    expect(signet(['key', 'create', 'ed', '--uid', 'Ed <ed@example.org>'], { env }).status).toBe(0);

    const list = JSON.parse(signet(['key', 'list', '--json'], { env }).stdout) as Array<{ name: string }>;
    expect(list.map((k) => k.name).sort()).toEqual(['ed', 'rel']);

    for (const k of ['rel', 'ed']) {
      const exported = signet(['key', 'export', k], { env });
      expect(exported.status).toBe(0);
      gpg.importKey(exported.stdout);
    }

    const file = join(work, 'hello.txt');
    writeFileSync(file, 'hello world\n');
    const s1 = signet(['sign', '--key', 'rel', file], { env });
    expect(s1.status, s1.stderr).toBe(0);
    expect(gpg.verifyDetached(readFileSync(`${file}.sig`), readFileSync(file)).ok).toBe(true);

    const s2 = signet(['sign', '--key', 'ed', '--armor', file, '-o', join(work, 'hello.asc')], { env });
    expect(s2.status).toBe(0);
    expect(readFileSync(join(work, 'hello.asc'), 'utf8')).toMatch(/^-----BEGIN PGP SIGNATURE-----/);
    expect(gpg.verifyDetached(readFileSync(join(work, 'hello.asc')), readFileSync(file)).ok).toBe(true);

    const notes = join(work, 'notes.txt');
    writeFileSync(notes, '- starts with a dash\nplain\n');
    expect(signet(['sign', '--key', 'ed', '--clearsign', notes], { env }).status).toBe(0);
    expect(gpg.verifyClearsigned(readFileSync(`${notes}.asc`, 'utf8')).ok).toBe(true);

    const stdin = signet(['sign', '--key', 'ed', '--armor', '-'], { env, input: 'from stdin' });
    expect(stdin.status).toBe(0);
    expect(gpg.verifyDetached(stdin.stdout, 'from stdin').ok).toBe(true);
  });

  it('writes SHA256SUMS that sha256sum checks and gpg verifies', () => {
    const dir = join(work, 'release');
    mkdirSync(join(dir, 'sub'), { recursive: true });
    writeFileSync(join(dir, 'a.iso'), Buffer.alloc(100_000, 1));
    writeFileSync(join(dir, 'b.tar.gz'), 'tarball');
    writeFileSync(join(dir, 'sub', 'c.txt'), 'nested');
    const r = signet(['sums', dir, '--key', 'ed', '--recursive', '--json'], { env });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).files).toBe(3);
    const check = spawnSync('sha256sum', ['--check', '--strict', 'SHA256SUMS'], { cwd: dir, encoding: 'utf8' });
    expect(check.status, check.stdout + check.stderr).toBe(0);
    expect(gpg.verifyDetached(readFileSync(join(dir, 'SHA256SUMS.asc')), readFileSync(join(dir, 'SHA256SUMS'))).ok).toBe(true);
  });

  it('refuses with exit 1 and a stable code', () => {
    const missing = signet(['sign', '--key', 'ed', join(work, 'does-not-exist')], { env });
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/^signet: .*FILE_UNREADABLE/);
    const unknown = signet(['sign', '--key', 'nokey', '-'], { env, input: 'x' });
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toMatch(/KEY_NOT_FOUND/);
    const badToken = signet(['key', 'list'], { env: { SIGNET_ADDR: srv.addr, SIGNET_TOKEN: 'sgn.bad' } });
    expect(badToken.status).toBe(1);
    expect(badToken.stderr).toMatch(/TOKEN_INVALID/);
    const down = signet(['key', 'list'], { env: { SIGNET_ADDR: 'http://127.0.0.1:9', SIGNET_TOKEN: srv.token } });
    expect(down.status).toBe(1);
    expect(down.stderr).toMatch(/SERVER_UNREACHABLE/);
    expect(down.stderr).not.toContain(srv.token);
  });

  it('imports a key exported by gpg and signs with it', () => {
    const g = new Gpg();
    try {
      const gen = g.run(['--passphrase', 'imp0rt me', '--pinentry-mode', 'loopback', '--quick-gen-key', 'Old Key <old@example.org>', 'ed25519', 'sign', 'never']);
      expect(gen.status, gen.stderr).toBe(0);
      const exported = g.run(['--passphrase', 'imp0rt me', '--pinentry-mode', 'loopback', '--armor', '--export-secret-keys', 'old@example.org']);
      expect(exported.status).toBe(0);
      const keyFile = join(work, 'old-key.asc');
      writeFileSync(keyFile, exported.stdout, { mode: 0o600 });
      const noPass = signet(['key', 'import', keyFile], { env });
      expect(noPass.status).toBe(1);
      expect(noPass.stderr).toMatch(/KEY_PASSPHRASE_REQUIRED/);
      const wrong = signet(['key', 'import', keyFile], { env: { ...env, SIGNET_KEY_PASSPHRASE: 'nope' } });
      expect(wrong.status).toBe(1);
      expect(wrong.stderr).toMatch(/KEY_PASSPHRASE_WRONG/);
      expect(wrong.stderr).not.toContain('nope');
      const passFile = join(work, 'pass');
      writeFileSync(passFile, 'imp0rt me\n', { mode: 0o600 });
      const ok = signet(['key', 'import', keyFile, '--passphrase-file', passFile, '--json'], { env });
      expect(ok.status, ok.stderr).toBe(0);
      expect(JSON.parse(ok.stdout).name).toBe('old-key');
      const data = join(work, 'old.txt');
      writeFileSync(data, 'signed by an imported key');
      expect(signet(['sign', '--key', 'old-key', data], { env }).status).toBe(0);
      // The original gpg keyring (holding the public half) accepts the signature.
      expect(g.verifyDetached(readFileSync(`${data}.sig`), readFileSync(data)).ok).toBe(true);
    } finally {
      g.close();
    }
  });
});

