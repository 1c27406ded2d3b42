// Shared benchmark plumbing: child processes, a signet server on a temp dir, report tables.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';

export const root = fileURLToPath(new URL('..', import.meta.url));
export const signetBin = join(root, 'bin', 'signet');

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

export async function waitFor(url, timeoutMs = 30_000) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    try {
      const r = await fetch(url);
      if (r.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${url}`);
}

/** Node's flags on a running process (the launcher's choice), e.g. ['--single-threaded-gc']. */
export function nodeFlagsOf(pid) {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return argv.slice(1, argv.findIndex((a) => a === signetBin)).filter((a) => a.startsWith('--'));
  } catch {
    return [];
  }
}

/** Start `signet serve` in a temp data dir; returns { url, token, stop, dataDir }. */
export async function startSignet(extraArgs = [], env = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'signet-bench-'));
  const dataDir = join(dir, 'data');
  const port = await freePort();
  // The server starts as users start it: through the launcher (bin/signet), which picks Node's
  // flags for `serve` (its GC mode on small machines). BENCH_SERVER_NODE_ARGS: node run directly
  // with these flags instead, e.g. `--cpu-prof --cpu-prof-dir=DIR` to see where a benchmark's
  // server time goes.
  const nodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const serveArgs = ['serve', '--data', dataDir, '--listen', `127.0.0.1:${port}`, '--log-level', process.env.BENCH_LOG_LEVEL ?? 'info', ...extraArgs];
  const [cmd, args] = nodeArgs.length > 0 ? [process.execPath, [...nodeArgs, signetBin, ...serveArgs]] : [signetBin, serveArgs];
  const child = spawn(cmd, args, {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, ...env },
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`${url}/healthz`);
  const token = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
  return {
    url,
    token,
    dataDir,
    child,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function runLoad(url, { seconds = 8, concurrency = 32, bodyBytes = 1024, token } = {}) {
  const r = spawnSync(process.execPath, [join(root, 'bench', 'load.mjs'), url, String(seconds), String(concurrency), String(bodyBytes), ...(token ? [token] : [])], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`load generator failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

export async function startBare(algorithm) {
  const child = spawn(process.execPath, [join(root, 'bench', 'bare-server.mjs'), algorithm], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise((resolve) => child.stdout.once('data', (d) => resolve(d.toString())));
  const { port } = JSON.parse(line);
  return {
    url: `http://127.0.0.1:${port}/`,
    child,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

/** `openssl speed -multi 2`: sign/s for RSA-4096 and Ed25519, the crypto ceiling of the machine. */
export function opensslSpeed(seconds = 3, algorithms = ['rsa4096', 'ed25519']) {
  const r = spawnSync('openssl', ['speed', '-multi', '2', '-seconds', String(seconds), ...algorithms], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl speed failed: ${r.stderr}`);
  const rsa = /rsa 4096 bits\s+\S+\s+\S+\s+([\d.]+)/.exec(r.stdout);
  const ed = /\(Ed25519\)\s+\S+\s+\S+\s+([\d.]+)/.exec(r.stdout);
  return { rsa4096: rsa ? Number(rsa[1]) : NaN, ed25519: ed ? Number(ed[1]) : NaN };
}

/** A TCP relay that counts bytes in each direction. */
export function countingRelay(targetPort) {
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
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, counts, port: server.address().port })));
}

export function table(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  return rows.map((r) => r.map((c, i) => String(c).padEnd(widths[i])).join('  ')).join('\n');
}
