// Run the built CLI (./bin/signet) as a user would, and a `signet serve` child process.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const SIGNET = join(ROOT, 'bin', 'signet');

/** Whether this test process has found the build complete (it does not change during a run). */
let buildChecked = false;

export function requireBuild(): void {
  if (buildChecked) return;
  if (!existsSync(join(ROOT, 'dist', 'cli', 'signet.js'))) {
    throw new Error('dist/ is missing: run `npm run build` (npm test does it first)');
  }
  // The launchers run the CommonJS bundles for `signet rpm` and signet-gpg (scripts/bundle-cli.mjs)
  // only when they are as new as the build, and the ES modules otherwise: after a bare `tsc` the
  // tests would pass without ever running the bundles users run.
  const newest = newestModule(join(ROOT, 'dist'));
  for (const bundle of ['signet-entry.cjs', 'signet-gpg.cjs']) {
    const b = join(ROOT, 'dist', 'cli', bundle);
    if (!existsSync(b) || statSync(b).mtimeMs < newest) {
      throw new Error(`dist/cli/${bundle} is missing or older than the build: run \`npm run build\` (it bundles after tsc)`);
    }
  }
  buildChecked = true;
}

/** The newest mtime of the ES modules tsc wrote under `dir`. */
function newestModule(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestModule(p));
    else if (e.name.endsWith('.js')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

export interface CliResult {
  status: number;
  stdout: string;
  stderr: string;
}

export function signet(args: string[], options: { env?: Record<string, string>; input?: string | Buffer; cwd?: string } = {}): CliResult {
  const r = spawnSync(process.execPath, [SIGNET, ...args], {
    encoding: 'utf8',
    input: options.input,
    cwd: options.cwd ?? ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...options.env },
  });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

export interface ServeProcess {
  readonly child: ChildProcess;
  readonly addr: string;
  readonly dataDir: string;
  readonly token: string;
  readonly stdout: () => string;
  readonly stderr: () => string;
  /** `running`, or how the process ended (exit code, signal) with the tails of stderr and stdout. */
  readonly exitReport: () => string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** The last `lines` lines of a captured stream, for failure messages. */
export function tail(text: string, lines = 15): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/**
 * Does process `pid` hold the socket listening on 127.0.0.1:`port`? A free port found by
 * freePort() is free only until someone binds it: a test file running beside this one can get
 * the same number and start its own server there first. Our child then fails to listen
 * (EADDRINUSE) while its health check is answered by the other server, and the test talks to a
 * stranger until that one stops (ECONNREFUSED later, far from the cause). So the answer to
 * /healthz counts only when the listening socket is the child's own (Linux /proc).
 */
export function ownsListener(pid: number, port: number): boolean {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // local_address is ADDR:PORT in hex; state 0A is LISTEN; the inode is the tenth field.
      if (f[1]?.endsWith(`:${hexPort}`) && f[3] === '0A' && f[9] !== undefined) inodes.add(f[9]);
    }
  }
  if (inodes.size === 0) return false;
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return false;
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m && inodes.has(m[1] as string)) return true;
    } catch {
      // the fd closed meanwhile
    }
  }
  return false;
}

export async function serveProcess(options: { dataDir?: string; args?: string[]; env?: Record<string, string> } = {}): Promise<ServeProcess> {
  requireBuild();
  const dataDir = options.dataDir ?? join(mkdtempSync(join(tmpdir(), 'signet-cli-')), 'data');
  // A port taken by another process between freePort() and the child's bind: try another.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startServeChild(dataDir, await freePort(), options);
    } catch (err) {
      if (!(err instanceof PortTakenError) || attempt === 5) throw err;
    }
  }
}

export class PortTakenError extends Error {}

/** Start `signet serve` on a given port (serveProcess picks one and retries). */
export async function startServeChild(dataDir: string, port: number, options: { args?: string[]; env?: Record<string, string> }): Promise<ServeProcess> {
  let out = '';
  let err = '';
  const child = spawn(process.execPath, [SIGNET, 'serve', '--data', dataDir, '--listen', `127.0.0.1:${port}`, ...(options.args ?? [])], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const addr = `http://127.0.0.1:${port}`;
  const until = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) {
      if (/EADDRINUSE|already in use/.test(err)) throw new PortTakenError(`port ${port} was taken: ${err}`);
      throw new Error(`signet serve exited ${child.exitCode}: ${err}`);
    }
    try {
      const r = await fetch(`${addr}/healthz`);
      if (r.ok && child.pid !== undefined && ownsListener(child.pid, port)) break;
    } catch {
      // not yet listening
    }
    if (Date.now() > until) {
      child.kill('SIGKILL');
      throw new Error(`signet serve did not start: ${err}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const token = existsSync(join(dataDir, 'admin-token')) ? readFileSync(join(dataDir, 'admin-token'), 'utf8').trim() : '';
  return {
    child,
    addr,
    dataDir,
    token,
    stdout: () => out,
    stderr: () => err,
    exitReport: () =>
      child.exitCode === null && child.signalCode === null
        ? `pid ${child.pid} running`
        : `pid ${child.pid} exited (code ${child.exitCode}, signal ${child.signalCode})\n--- stderr tail ---\n${tail(err)}\n--- stdout tail ---\n${tail(out)}`,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    },
  };
}

export function cleanup(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
