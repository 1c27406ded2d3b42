// The CLI as dependable as gpg: what a shell user meets when things go wrong. Each case runs the
// built `signet` (and `signet-gpg`) against a real `signet serve`, or against a server that is
// deliberately not signet: silent, HTML, plain TCP.
import { spawn, spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import net from 'node:net';
import { existsSync, lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, SIGNET, requireBuild, serveProcess, signet, type ServeProcess } from '../helpers/cli.js';

const SIGNET_GPG = join(ROOT, 'bin', 'signet-gpg');
const ONE_LINE = /^signet: [^\n]+ \([A-Z_]+\)\n$/;

function listen(server: Server | net.Server): Promise<number> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const a = server.address();
      resolve(typeof a === 'object' && a ? a.port : 0);
    });
  });
}

/** Run the CLI asynchronously (the fake servers live in this process). */
function signetAsync(args: string[], env: Record<string, string>): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [SIGNET, ...args], { env: { PATH: process.env.PATH ?? '', HOME: '/nonexistent', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // A safety net only: the assertions are on what the CLI did by itself.
    const kill = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (status) => {
      clearTimeout(kill);
      resolve({ status, stdout, stderr });
    });
  });
}

describe('signet CLI, dependable', () => {
  let srv: ServeProcess;
  let work: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    requireBuild();
    srv = await serveProcess();
    work = mkdtempSync(join(tmpdir(), 'signet-dep-'));
    env = { SIGNET_ADDR: srv.addr, SIGNET_TOKEN: srv.token, HOME: work };
    const created = signet(['key', 'create', 'rel'], { env });
    expect(created.status, created.stderr).toBe(0);
    writeFileSync(join(work, 'f.txt'), 'hello\n');
  }, 60_000);

  afterAll(async () => {
    await srv?.stop();
    if (srv) rmSync(join(srv.dataDir, '..'), { recursive: true, force: true });
    if (work) rmSync(work, { recursive: true, force: true });
  });

  describe('-o never replaces what is not a regular file', () => {
    it('refuses a symbolic link and leaves it and its target alone (signet sign, key export, signet-gpg)', () => {
      const target = join(work, 'target');
      writeFileSync(target, 'precious\n');
      const link = join(work, 'link.sig');
      symlinkSync(target, link);
      for (const r of [
        signet(['sign', '--key', 'rel', '-o', link, join(work, 'f.txt')], { env }),
        signet(['key', 'export', 'rel', '-o', link], { env }),
        spawnSync(process.execPath, [SIGNET_GPG, '-u', 'rel', '--detach-sign', '-o', link, join(work, 'f.txt')], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', HOME: work, ...env } }),
      ]) {
        expect(r.status).toBe(1);
        expect(r.stderr).toMatch(/symbolic link.*\(OUTPUT_REFUSED\)\n$/);
        expect(lstatSync(link).isSymbolicLink()).toBe(true);
        expect(readlinkSync(link)).toBe(target);
        expect(readFileSync(target, 'utf8')).toBe('precious\n');
      }
    });

    it('writes through a FIFO instead of replacing it', async () => {
      const fifo = join(work, 'sig.fifo');
      expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
      const cat = spawn('cat', [fifo], { stdio: ['ignore', 'pipe', 'inherit'] });
      try {
        const reader = new Promise<Buffer>((resolve, reject) => {
          const chunks: Buffer[] = [];
          cat.stdout.on('data', (c: Buffer) => chunks.push(c));
          cat.on('close', () => resolve(Buffer.concat(chunks)));
          cat.on('error', reject);
        });
        const r = await signetAsync(['sign', '--key', 'rel', '--armor', '-o', fifo, join(work, 'f.txt')], env);
        expect(r.status, r.stderr).toBe(0);
        expect(lstatSync(fifo).isFIFO()).toBe(true);
        expect((await reader).toString()).toMatch(/^-----BEGIN PGP SIGNATURE-----/);
      } finally {
        // A replaced FIFO leaves cat waiting on the old one for ever.
        cat.kill();
      }
    });

    it('writes through a character device (a private /dev/null) instead of replacing it', () => {
      const dev = join(work, 'null');
      const made = spawnSync('mknod', [dev, 'c', '1', '3']);
      expect(made.status, 'mknod needs root, as CI runs').toBe(0);
      const r = signet(['sign', '--key', 'rel', '-o', dev, join(work, 'f.txt')], { env });
      expect(r.status, r.stderr).toBe(0);
      expect(lstatSync(dev).isCharacterDevice()).toBe(true);
    });

    it('writes -o /dev/stdout to standard output', () => {
      const r = signet(['sign', '--key', 'rel', '--armor', '-o', '/dev/stdout', join(work, 'f.txt')], { env });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^-----BEGIN PGP SIGNATURE-----/);
    });

    it('refuses a directory', () => {
      const r = signet(['sign', '--key', 'rel', '-o', work, join(work, 'f.txt')], { env });
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(ONE_LINE);
      expect(r.stderr).toContain('(OUTPUT_REFUSED)');
    });
  });

  it('ends quietly with 141 when standard output is closed (log tail | true)', () => {
    // `true` exits without reading: every write by signet meets a closed pipe.
    const r = spawnSync('bash', ['-c', '"$0" "$1" log tail 2>"$2" | true; echo "${PIPESTATUS[0]}"', process.execPath, SIGNET, join(work, 'tail.err')], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', HOME: work, ...env },
    });
    expect(r.stdout.trim()).toBe('141');
    expect(readFileSync(join(work, 'tail.err'), 'utf8')).toBe('');
  });

  it('gives up on a server that accepts and never answers (--timeout, SIGNET_TIMEOUT, timeout: in the client configuration)', async () => {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((s) => sockets.push(s));
    const port = await listen(silent);
    try {
      const config = join(work, 'timeout.yaml');
      writeFileSync(config, 'timeout: 1s\n');
      for (const [args, extra] of [
        [['--timeout', '1s', 'key', 'list'], {}],
        [['key', 'list'], { SIGNET_TIMEOUT: '500ms' }],
        [['key', 'list'], { SIGNET_CONFIG: config }],
      ] as const) {
        const r = await signetAsync([...args], { SIGNET_ADDR: `http://127.0.0.1:${port}`, SIGNET_TOKEN: 'x', ...extra });
        expect(r.status).toBe(1);
        expect(r.stderr).toMatch(ONE_LINE);
        expect(r.stderr).toMatch(/no answer from signet at http:\/\/127\.0\.0\.1:\d+ within .* \(SERVER_UNREACHABLE\)/);
      }
      const bad = signet(['--timeout', 'soon', 'key', 'list'], { env });
      expect(bad.status).toBe(2);
      expect(bad.stderr).toMatch(/--timeout wants a duration.*\(USAGE\)\n$/);
    } finally {
      for (const s of sockets) s.destroy();
      silent.close();
    }
  });

  it('says so when the address is not a signet server (HTML 404, HTML 200)', async () => {
    const web = createServer((req, res) => {
      res.writeHead(req.url?.startsWith('/v1/keys') ? 404 : 200, { 'content-type': 'text/html' });
      res.end('<html><body>Not Found</body></html>');
    });
    const port = await listen(web);
    try {
      for (const args of [['key', 'list'], ['log', 'tail']]) {
        const r = await signetAsync(args, { SIGNET_ADDR: `http://127.0.0.1:${port}`, SIGNET_TOKEN: 'x' });
        expect(r.status).toBe(1);
        expect(r.stderr).toMatch(ONE_LINE);
        expect(r.stderr).toMatch(/is not a signet server \(it answered HTTP \d+, text\/html\).*\(SERVER_NOT_SIGNET\)/);
      }
    } finally {
      web.close();
    }
  });

  it('reports every usage error as one line, a mistyped option as unknown', () => {
    const cases: Array<[string[], RegExp]> = [
      [['sign', '--kye', 'rel', 'f.txt'], /^signet: unknown option '--kye' \(did you mean --key\?\) \(USAGE\)\n$/],
      [['sign', '--key', 'rel', 'f.txt', '--jsno'], /^signet: unknown option '--jsno' \(did you mean --json\?\) \(USAGE\)\n$/],
      [['frobnicate'], /^signet: unknown command 'frobnicate' \(USAGE\)\n$/],
      [['sums', 'dir'], /^signet: required option '--key <name>' not specified \(USAGE\)\n$/],
      [['login', '--role-id', 'r'], /^signet: login needs --secret-id or SIGNET_SECRET_ID \(USAGE\)\n$/],
      [['log', 'proof', 'abc'], /^signet: .* \(USAGE\)\n$/],
    ];
    for (const [args, want] of cases) {
      const r = signet(args, { env: { ...env, SIGNET_SECRET_ID: '' }, cwd: work });
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(want);
    }
  });

  it('names an unreadable file, and a text file given as an RPM', () => {
    const missing = signet(['sign', '--key', 'rel', join(work, 'missing.txt')], { env });
    expect(missing.status).toBe(1);
    expect(missing.stderr).toBe(`signet: cannot read ${join(work, 'missing.txt')}: ENOENT (FILE_UNREADABLE)\n`);
    const text = signet(['rpm', 'sign', '--key', 'rel', join(work, 'f.txt')], { env });
    expect(text.status).toBe(1);
    expect(text.stderr.split('\n')[0]).toBe(`signet: ${join(work, 'f.txt')}: not an RPM package (no RPM lead magic) (RPM_MALFORMED)`);
  });

  it('reports EADDRINUSE on serve as one line', () => {
    const port = new URL(srv.addr).port;
    const r = signet(['serve', '--data', join(work, 'second'), '--listen', `127.0.0.1:${port}`], { env: { HOME: work } });
    expect(r.status).toBe(1);
    expect(r.stderr.trimEnd().split('\n').at(-1)).toBe(`signet: cannot listen on 127.0.0.1:${port}: the address is already in use (another signet serve?) (LISTEN_FAILED)`);
  });

  it('log checkpoint, log key and log proof speak --json; a proof of a never-sequenced index is NOT_FOUND', () => {
    const cp = signet(['log', 'checkpoint', '--json'], { env });
    expect(cp.status, cp.stderr).toBe(0);
    const checkpoint = JSON.parse(cp.stdout) as { origin: string; size: number; root: string; checkpoint: string };
    expect(checkpoint.size).toBeGreaterThan(0);
    expect(checkpoint.checkpoint.split('\n')[0]).toBe(checkpoint.origin);
    const key = JSON.parse(signet(['log', 'key', '--json'], { env }).stdout) as { name: string; verifier_key: string };
    expect(key.verifier_key.startsWith(`${key.name}+`)).toBe(true);
    const proof = signet(['log', 'proof', '0', '--json'], { env });
    expect(proof.status, proof.stderr).toBe(0);
    const p = JSON.parse(proof.stdout) as { index: number; receipt: string; checkpoint: { origin: string } };
    expect(p.index).toBe(0);
    expect(p.receipt.startsWith('c2sp.org/tlog-proof@v1\n')).toBe(true);
    const never = signet(['log', 'proof', '999999'], { env });
    expect(never.status).toBe(1);
    expect(never.stderr).toBe('signet: log entry 999999 does not exist (NOT_FOUND)\n');
  });

  it('signet sign takes the key from default_key in the client configuration', () => {
    const config = join(work, 'client.yaml');
    writeFileSync(config, 'default_key: rel\n');
    const file = join(work, 'default-key.txt');
    writeFileSync(file, 'signed with the configured key\n');
    const r = signet(['sign', file, '--json'], { env: { ...env, SIGNET_CONFIG: config } });
    expect(r.status, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { key: string }).key).toBe('rel');
    expect(existsSync(`${file}.sig`)).toBe(true);
  });
});
