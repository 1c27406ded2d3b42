// Run the built CLI (./bin/signet) as a user would, and a `signet serve` child process.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const SIGNET = join(ROOT, 'bin', 'signet');

export function requireBuild(): void {
  if (!existsSync(join(ROOT, 'dist', 'cli', 'signet.js'))) {
    throw new Error('dist/ is missing: run `npm run build` (npm test does it first)');
  }
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

export async function serveProcess(options: { dataDir?: string; args?: string[]; env?: Record<string, string> } = {}): Promise<ServeProcess> {
  requireBuild();
  const dataDir = options.dataDir ?? join(mkdtempSync(join(tmpdir(), 'signet-cli-')), 'data');
  const port = await freePort();
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
    if (child.exitCode !== null) throw new Error(`signet serve exited ${child.exitCode}: ${err}`);
    try {
      const r = await fetch(`${addr}/healthz`);
      if (r.ok) break;
    } catch {
      // not yet listening
    }
    if (Date.now() > until) throw new Error(`signet serve did not start: ${err}`);
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
