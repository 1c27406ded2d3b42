// Startup cost of the `signet` CLI: every command is registered from light modules and its
// implementation is imported when it runs (src/cli/lazy.ts). These tests list the modules a run
// loads (ESM through a loader hook, CommonJS from the require cache) and fail when a static
// import brings zod, yaml, the transparency log, the repository signers, OpenPGP parsing or the
// server back into `signet --version`, `--help` or the `signet rpm sign` path.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireBuild, SIGNET, ROOT } from '../helpers/cli.js';

const HOOKS = `
import { appendFileSync } from 'node:fs';
export async function load(url, context, next) {
  appendFileSync(process.env.SIGNET_TEST_MODULE_LIST, url + '\\n');
  return next(url, context);
}
`;
const PRELOAD = (hooksUrl: string) => `
import { register, createRequire } from 'node:module';
import { appendFileSync } from 'node:fs';
register(${JSON.stringify(hooksUrl)});
const cache = createRequire(import.meta.url).cache;
process.on('exit', () => {
  appendFileSync(process.env.SIGNET_TEST_MODULE_LIST, Object.keys(cache).map((p) => 'cjs:' + p + '\\n').join(''));
});
`;

/** What no startup and no `rpm sign` may load. */
const HEAVY = [
  /node_modules\/zod\//,
  /node_modules\/yaml\//,
  /node_modules\/cli-progress\//,
  /node_modules\/(fastify|pino|pg|better-sqlite3|prom-client)\//,
  /\/dist\/(tlog|repo|server|store|policy|openpgp|sha2)\//,
  /\/dist\/cli\/(log-run|log-verify|rpm-verify|midstate|sums|signet-gpg)\.js$/,
  /\/dist\/rpm-io\/verify\.js$/,
  /^node:(https|tls|worker_threads)$/,
];

describe('signet CLI startup', () => {
  let dir: string;
  let preload: string;

  beforeAll(() => {
    requireBuild();
    dir = mkdtempSync(join(tmpdir(), 'signet-startup-'));
    writeFileSync(join(dir, 'hooks.mjs'), HOOKS);
    preload = join(dir, 'preload.mjs');
    writeFileSync(preload, PRELOAD(pathToFileURL(join(dir, 'hooks.mjs')).href));
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function loadedBy(args: string[], name: string, bin = SIGNET): { status: number; stderr: string; modules: string[] } {
    const list = join(dir, `${name}.txt`);
    writeFileSync(list, '');
    const r = spawnSync(process.execPath, ['--import', pathToFileURL(preload).href, bin, ...args], {
      encoding: 'utf8',
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: dir,
        SIGNET_TEST_MODULE_LIST: list,
        // Nothing listens there: `rpm sign` fails at its first request, after loading its path.
        SIGNET_ADDR: 'http://127.0.0.1:9',
        SIGNET_TOKEN: 'test',
      },
    });
    const modules = readFileSync(list, 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => l.replace(/^cjs:/, ''));
    return { status: r.status ?? -1, stderr: r.stderr, modules };
  }

  const heavy = (modules: string[]) => modules.filter((m) => HEAVY.some((re) => re.test(m)));

  it('signet --version and --help load no command implementation', () => {
    for (const [name, args] of [
      ['version', ['--version']],
      ['help', ['--help']],
      ['rpm-sign-help', ['rpm', 'sign', '--help']],
      ['log-help', ['log', 'verify', '--help']],
    ] as const) {
      const run = loadedBy([...args], name);
      expect(run.status, name).toBe(0);
      // The hook saw the CLI itself: an empty list would prove nothing.
      expect(run.modules.some((m) => m.endsWith('/dist/cli/signet.js')), name).toBe(true);
      expect(heavy(run.modules), name).toEqual([]);
      expect(run.modules.filter((m) => /\/dist\/rpm\//.test(m)), name).toEqual([]);
    }
  });

  it('signet rpm sign loads the rpm parser and the client, nothing else heavy', () => {
    const pkg = join(dir, 'not-an.rpm');
    writeFileSync(pkg, Buffer.alloc(200));
    const run = loadedBy(['rpm', 'sign', '--key', 'k', pkg], 'rpm-sign');
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/RPM_MALFORMED/);
    expect(run.modules.some((m) => m.endsWith('/dist/cli/rpm-sign.js'))).toBe(true);
    expect(run.modules.some((m) => m.endsWith('/dist/rpm/package.js'))).toBe(true);
    expect(heavy(run.modules)).toEqual([]);
    // Only the rpm commands are registered (rpmProgram): no other command group's module, and
    // commander through require() (its CommonJS lexing is skipped), not as an ESM import.
    expect(run.modules.filter((m) => /\/dist\/cli\/(auth|store|log|gpg-shim|pulp|repo|policy)\.js$/.test(m))).toEqual([]);
    expect(run.modules.filter((m) => /^file:.*node_modules\/commander\//.test(m))).toEqual([]);
    expect(run.modules.some((m) => /node_modules\/commander\/index\.js$/.test(m))).toBe(true);
  });

  it('signet-gpg (started once per signature by rpmsign and git) loads no OpenPGP or RPM module set', () => {
    const file = join(dir, 'payload.txt');
    writeFileSync(file, 'payload');
    const run = loadedBy(['--detach-sign', '--armor', '-u', 'k', file], 'gpg-shim', join(ROOT, 'bin', 'signet-gpg'));
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(/SERVER_UNREACHABLE/);
    expect(run.modules.some((m) => m.endsWith('/dist/cli/signet-gpg.js'))).toBe(true);
    expect(run.modules.filter((m) => /\/dist\/(rpm\/|openpgp\/index\.js$)/.test(m))).toEqual([]);
    expect(run.modules.filter((m) => /node_modules\/(zod|yaml|fastify|pino|pg|better-sqlite3|prom-client|commander|cli-progress)\//.test(m))).toEqual([]);
  });

  it('a command still runs its implementation: log verify loads the transparency log code', () => {
    const run = loadedBy(['log', 'verify'], 'log-verify');
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/SERVER_UNREACHABLE/);
    expect(run.modules.some((m) => /\/dist\/tlog\//.test(m))).toBe(true);
  });
});
