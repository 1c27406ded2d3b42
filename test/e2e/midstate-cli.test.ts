// `signet sign` in midstate mode, as users run it against a real `signet serve`: the threshold
// decides the mode (8 MiB by default, --midstate-threshold, --no-midstate), gpg verifies what it
// writes (files around block edges, a 1 GiB mostly sparse image), a tampered file and a wrong
// key are refused, and a TCP relay counts the bytes on the wire: under 1 KB for the request.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, requireBuild, serveProcess, SIGNET, signet, type CliResult, type ServeProcess } from '../helpers/cli.js';
import { Gpg } from '../helpers/gpg.js';
import { requireTools } from '../helpers/tools.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** Runs the CLI without blocking this process (the relay below lives in it). */
function signetAsync(args: string[], env: Record<string, string>): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [SIGNET, ...args], { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (status) => resolve({ status: status ?? -1, stdout, stderr }));
  });
}

/** A TCP relay to the server that counts bytes in each direction. */
async function countingRelay(targetPort: number): Promise<{ port: number; counts: { up: number; down: number }; close(): void }> {
  const counts = { up: 0, down: 0 };
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    client.on('data', (d) => (counts.up += d.length));
    upstream.on('data', (d) => (counts.down += d.length));
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as net.AddressInfo;
  return { port: address.port, counts, close: () => server.close() };
}

describe('signet sign, midstate mode', () => {
  let srv: ServeProcess;
  let work: string;
  let env: Record<string, string>;
  let gpg: Gpg;
  let foreignGpg: Gpg;

  const verify = (g: Gpg, sig: string, file: string) => {
    const r = g.run(['--trust-model', 'always', '--verify', sig, file]);
    return r.status === 0 && r.statusLines.some((l) => l.startsWith('[GNUPG:] GOODSIG ')) && r.statusLines.some((l) => l.startsWith('[GNUPG:] VALIDSIG '));
  };
  const json = (r: CliResult) => {
    expect(r.status, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as Record<string, any>;
  };

  beforeAll(async () => {
    requireBuild();
    requireTools('gpg');
    srv = await serveProcess();
    work = mkdtempSync(join(tmpdir(), 'signet-midstate-'));
    env = { SIGNET_ADDR: srv.addr, SIGNET_TOKEN: srv.token };
    gpg = new Gpg();
    foreignGpg = new Gpg();
    for (const [name, algo, g] of [['rel', 'rsa4096', gpg], ['ed', 'ed25519', gpg], ['foreign', 'ed25519', foreignGpg]] as const) {
      // Midstate mode needs a key that signs neither rpm nor git (docs/security.md).
      expect(signet(['key', 'create', name, '--algo', algo, '--uid', `${name} <${name}@example.org>`, '--purpose', 'detached,clearsign,sums'], { env }).status).toBe(0);
      g.importKey(signet(['key', 'export', name], { env }).stdout);
    }
  }, 120_000);

  afterAll(async () => {
    gpg?.close();
    foreignGpg?.close();
    await srv?.stop();
    if (work) cleanup(work);
    if (srv) cleanup(join(srv.dataDir, '..'));
  });

  it('uses midstate only above the threshold (default 8 MiB), and not with --no-midstate', () => {
    const at = join(work, 'at-threshold.bin');
    const above = join(work, 'above-threshold.bin');
    const data = randomBytes(8 * MiB + 1);
    writeFileSync(at, data.subarray(0, 8 * MiB));
    writeFileSync(above, data);

    const exact = json(signet(['sign', '--key', 'rel', '--json', at], { env }));
    expect(exact.mode).toBe('content');
    expect(exact.artifact.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(verify(gpg, `${at}.sig`, at)).toBe(true);

    const mid = json(signet(['sign', '--key', 'rel', '--json', above], { env }));
    expect(mid.mode).toBe('midstate');
    expect(mid.hash_algorithm).toBe('sha512');
    expect(mid.artifact.bytes).toBe(8 * MiB + 1);
    expect(mid.bytes_sent).toBeLessThan(1024);
    expect(verify(gpg, `${above}.sig`, above)).toBe(true);

    const forced = json(signet(['sign', '--key', 'rel', '--json', '--no-midstate', '-o', join(work, 'forced.sig'), above], { env }));
    expect(forced.mode).toBe('content');
    expect(verify(gpg, join(work, 'forced.sig'), above)).toBe(true);

    const lower = json(signet(['sign', '--key', 'ed', '--json', '--midstate-threshold', '1M', '--armor', at], { env }));
    expect(lower.mode).toBe('midstate');
    expect(verify(gpg, `${at}.asc`, at)).toBe(true);
  });

  it('signs files around the block edges with --midstate-threshold 0, SHA-512 and SHA-256', () => {
    const dir = join(work, 'edges');
    mkdirSync(dir);
    const cases: Array<[number, 'sha256' | 'sha512']> = [
      [1, 'sha512'], [111, 'sha512'], [112, 'sha512'], [128, 'sha512'], [129, 'sha512'], [256, 'sha512'],
      [55, 'sha256'], [56, 'sha256'], [64, 'sha256'], [65, 'sha256'],
    ];
    for (const [size, hash] of cases) {
      const file = join(dir, `f${size}-${hash}`);
      writeFileSync(file, randomBytes(size));
      const r = json(signet(['sign', '--key', 'ed', '--json', '--midstate-threshold', '0', '--hash', hash, file], { env }));
      expect([size, r.mode, r.hash_algorithm]).toEqual([size, 'midstate', hash]);
      expect(verify(gpg, `${file}.sig`, file), `${size} ${hash}`).toBe(true);
    }
  });

  it('1 GiB image: under 1 KB sent, gpg verifies; a tampered copy and a foreign keyring refuse', async () => {
    const image = join(work, 'image.iso');
    // Mostly sparse, with random bytes at both ends and in the middle so that every region counts.
    const fd = openSync(image, 'w');
    writeSync(fd, randomBytes(MiB), 0, MiB, 0);
    writeSync(fd, randomBytes(4096), 0, 4096, 512 * MiB);
    writeSync(fd, randomBytes(77), 0, 77, GiB - 77);
    closeSync(fd);

    const relay = await countingRelay(Number(new URL(srv.addr).port));
    let r: CliResult;
    try {
      r = await signetAsync(['sign', '--key', 'rel', '--json', image], { ...env, SIGNET_ADDR: `http://127.0.0.1:${relay.port}` });
    } finally {
      relay.close();
    }
    const out = json(r);
    expect(out.mode).toBe('midstate');
    expect(out.artifact.bytes).toBe(GiB);
    // The whole HTTP request (headers + JSON) and the answer, as counted on the socket.
    expect(relay.counts.up).toBeGreaterThan(out.bytes_sent as number);
    expect(relay.counts.up).toBeLessThan(1024);
    expect(relay.counts.down).toBeLessThan(4096);
    expect(verify(gpg, `${image}.sig`, image)).toBe(true);

    expect(verify(foreignGpg, `${image}.sig`, image)).toBe(false);
    const fd2 = openSync(image, 'r+');
    writeSync(fd2, Buffer.from([0x01]), 0, 1, 768 * MiB);
    closeSync(fd2);
    expect(verify(gpg, `${image}.sig`, image)).toBe(false);
  }, 300_000);

  it('shows a progress bar while hashing on a TTY', () => {
    requireTools('script');
    const file = join(work, 'progress.bin');
    writeFileSync(file, randomBytes(12 * MiB));
    const command = [process.execPath, SIGNET, 'sign', '--key', 'ed', file].map((a) => `'${a}'`).join(' ');
    const tty = spawnScript(command, env);
    expect(tty.status, tty.output).toBe(0);
    expect(tty.output).toMatch(/hashing \[[=\- ]*\] \d+% \d+\/12 MiB/);
    expect(verify(gpg, `${file}.sig`, file)).toBe(true);
  });

  it('a token whose policy grants only content mode is refused above the threshold and signs with --no-midstate', async () => {
    const admin = { authorization: `Bearer ${srv.token}`, 'content-type': 'application/json' };
    const put = await fetch(`${srv.addr}/v1/sys/policies/content-only`, { method: 'PUT', headers: admin, body: JSON.stringify({ policy: 'rules: [{keys: [ed], kinds: [detached]}]' }) });
    expect(put.status).toBe(200);
    const created = await fetch(`${srv.addr}/v1/auth/token/create`, { method: 'POST', headers: admin, body: JSON.stringify({ policies: ['content-only'], ttl: '10m' }) });
    expect(created.status).toBe(201);
    const token = ((await created.json()) as { token: string }).token;
    const file = join(work, 'content-only.bin');
    writeFileSync(file, randomBytes(2 * MiB));
    const denied = signet(['sign', '--key', 'ed', '--midstate-threshold', '1M', file], { env: { ...env, SIGNET_TOKEN: token } });
    expect(denied.status).toBe(1);
    expect(denied.stderr).toMatch(/^signet: .*POLICY_DENIED/);
    const whole = json(signet(['sign', '--key', 'ed', '--midstate-threshold', '1M', '--no-midstate', '--json', file], { env: { ...env, SIGNET_TOKEN: token } }));
    expect(whole.mode).toBe('content');
    expect(verify(gpg, `${file}.sig`, file)).toBe(true);
  });

  it('a key that also signs rpm gets no midstate signature: the CLI sends the whole file instead', () => {
    expect(signet(['key', 'create', 'every-kind', '--uid', 'every <every@example.org>'], { env }).status).toBe(0);
    gpg.importKey(signet(['key', 'export', 'every-kind'], { env }).stdout);
    const file = join(work, 'every-kind.bin');
    writeFileSync(file, randomBytes(2 * MiB));
    const r = signet(['sign', '--key', 'every-kind', '--midstate-threshold', '1M', '--json', file], { env });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/KEY_PURPOSE|also signs rpm and git.*sending the whole file/);
    expect((JSON.parse(r.stdout) as { mode: string }).mode).toBe('content');
    expect(verify(gpg, `${file}.sig`, file)).toBe(true);
  });

  it('refuses bad options with exit 2 and unreadable input with exit 1', () => {
    const file = join(work, 'small.bin');
    writeFileSync(file, 'x');
    for (const args of [['--midstate-threshold', 'lots'], ['--midstate-threshold', '-1'], ['--hash', 'md5']]) {
      const r = signet(['sign', '--key', 'ed', ...args, file], { env });
      expect([args.join(' '), r.status]).toEqual([args.join(' '), 2]);
      expect(r.stderr.split('\n')[0]).toMatch(/^signet: /);
    }
    const dir = signet(['sign', '--key', 'ed', '--midstate-threshold', '0', work], { env });
    expect(dir.status).toBe(1);
    expect(dir.stderr).toMatch(/^signet: .*FILE_UNREADABLE/);
    expect(readFileSync(file, 'utf8')).toBe('x');
  });
});

/** Run a shell command under script(1), which gives it a pseudo-terminal. */
function spawnScript(command: string, env: Record<string, string>): { status: number; output: string } {
  const r = spawnSync('script', ['-qec', command, '/dev/null'], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', TERM: 'xterm', ...env },
  });
  return { status: r.status ?? -1, output: `${r.stdout}${r.stderr}` };
}
