// Startup cost of the `signet` CLI: every command is registered from light modules and its
// implementation is imported when it runs (src/cli/lazy.ts). These tests list the modules a run
// loads (ESM through a loader hook, CommonJS from the require cache) and fail when a static
// import brings zod, yaml, the transparency log, the repository signers, OpenPGP parsing or the
// server back into `signet --version`, `--help` or the `signet rpm sign` path. The launchers
// (bin/signet, bin/signet-gpg) keep Node from parsing NODE_EXTRA_CA_CERTS on the per-package
// paths, and signet-gpg signs rpmsign's header with one request when -u is a key name.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as openpgp from 'openpgp';
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

/** Writes the module-listing hooks into `dir`; returns the preload's path (for node --import). */
function writePreload(dir: string): string {
  writeFileSync(join(dir, 'hooks.mjs'), HOOKS);
  const preload = join(dir, 'preload.mjs');
  writeFileSync(preload, PRELOAD(pathToFileURL(join(dir, 'hooks.mjs')).href));
  return preload;
}

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
    preload = writePreload(dir);
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** `launcher`: run `bin` itself, as a shell or rpmsign does (the hooks come in through
   *  NODE_OPTIONS), instead of `node bin`. */
  function loadedBy(args: string[], name: string, bin = SIGNET, launcher = false): { status: number; stderr: string; modules: string[] } {
    const list = join(dir, `${name}.txt`);
    writeFileSync(list, '');
    const imp = pathToFileURL(preload).href;
    const r = spawnSync(launcher ? bin : process.execPath, launcher ? args : ['--import', imp, bin, ...args], {
      encoding: 'utf8',
      cwd: ROOT,
      env: {
        ...(launcher ? { NODE_OPTIONS: `--import=${imp}` } : {}),
        PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`,
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

  it('signet --version loads the version module alone and prints the package version', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const run = loadedBy([flag], `version${flag}`);
      expect(run.status, flag).toBe(0);
      expect(run.modules.filter((m) => m.includes('/dist/')), flag).toEqual([expect.stringMatching(/\/dist\/cli\/version\.js$/)]);
    }
    const r = spawnSync(SIGNET, ['--version'], { encoding: 'utf8' });
    expect(r.stdout).toBe(`${pkg.version}\n`);
    // With anything beside it, --version goes through the command definitions and says the same.
    const withAddr = spawnSync(SIGNET, ['--addr', 'http://127.0.0.1:9', '--version'], { encoding: 'utf8' });
    expect(withAddr.stdout).toBe(`${pkg.version}\n`);
  });

  it('signet --help and command help load no command implementation', () => {
    for (const [name, args] of [
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
    // A plain line is read without commander (src/cli/rpm-sign-argv.ts): neither commander nor
    // the program's command definitions are loaded.
    expect(run.modules.filter((m) => /node_modules\/commander\/|\/dist\/cli\/(signet|commander|auth|store|log|gpg-shim|pulp|repo|policy)\.js$/.test(m))).toEqual([]);
  });

  it('the launcher runs signet rpm sign from the CommonJS bundle, and hands other rpm lines to the program', () => {
    const pkg = join(dir, 'not-an.rpm');
    writeFileSync(pkg, Buffer.alloc(200));
    const run = loadedBy(['rpm', 'sign', '--key', 'k', pkg], 'rpm-sign-launcher', SIGNET, true);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/RPM_MALFORMED/);
    expect(run.modules.some((m) => m.endsWith('/dist/cli/signet-entry.cjs'))).toBe(true);
    // No ES module of the build at all: the bundle holds the whole path.
    expect(run.modules.filter((m) => /\/dist\/.*\.js$/.test(m) || /node_modules\/commander\//.test(m))).toEqual([]);
    expect(heavy(run.modules)).toEqual([]);
    // A line the plain reader leaves (here a misspelt option) gets commander's one-line usage error.
    const odd = loadedBy(['rpm', 'sign', '--kye', 'k', pkg], 'rpm-sign-odd', SIGNET, true);
    expect(odd.status).toBe(2);
    expect(odd.stderr).toBe(`signet: unknown option '--kye' (did you mean --key?) (USAGE)\n`);
    expect(odd.modules.some((m) => m.endsWith('/dist/cli/signet.js'))).toBe(true);
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
    // Started as rpmsign and git start it: the CommonJS bundle, no ES module of the build.
    const launched = loadedBy(['--detach-sign', '--armor', '-u', 'k', file], 'gpg-shim-launcher', join(ROOT, 'bin', 'signet-gpg'), true);
    expect(launched.stderr).toMatch(/SERVER_UNREACHABLE/);
    expect(launched.modules.some((m) => m.endsWith('/dist/cli/signet-gpg.cjs'))).toBe(true);
    expect(launched.modules.filter((m) => /\/dist\/.*\.js$/.test(m) || /node_modules\/(zod|yaml|commander|openpgp)\//.test(m))).toEqual([]);
  });

  it('a command still runs its implementation: log verify loads the transparency log code', () => {
    const run = loadedBy(['log', 'verify'], 'log-verify');
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/SERVER_UNREACHABLE/);
    expect(run.modules.some((m) => /\/dist\/tlog\//.test(m))).toBe(true);
  });
});

/** Run a launcher as rpmsign or a shell does: the file itself, not `node FILE`. */
function runLauncher(bin: string, args: string[], env: Record<string, string>, input?: Buffer): Promise<{ status: number; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, {
      cwd: ROOT,
      env: { PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`, HOME: tmpdir(), ...env },
    });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status: status ?? -1, stdout: Buffer.concat(out), stderr: err }));
    child.stdin.end(input);
  });
}

describe('launchers', () => {
  const GPG = join(ROOT, 'bin', 'signet-gpg');
  // Node 20 reads NODE_EXTRA_CA_CERTS at process start and warns when it cannot: the warning
  // shows whether the variable reached node.
  const MISSING_CA = { NODE_EXTRA_CA_CERTS: '/nonexistent/signet-test-ca.pem' };
  const NODE_READ_IT = /Ignoring extra certs from/;
  let dir: string;

  beforeAll(() => {
    requireBuild();
    dir = mkdtempSync(join(tmpdir(), 'signet-launcher-'));
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('signet rpm sign, signet sign, --version and signet-gpg start without Node parsing NODE_EXTRA_CA_CERTS', async () => {
    const pkg = join(dir, 'not-an.rpm');
    writeFileSync(pkg, Buffer.alloc(200));
    const env = { ...MISSING_CA, SIGNET_ADDR: 'http://127.0.0.1:9', SIGNET_TOKEN: 'test' };
    const rpm = await runLauncher(SIGNET, ['--timeout', '5s', 'rpm', 'sign', '--key', 'k', pkg], env);
    expect(rpm.stderr).toMatch(/RPM_MALFORMED/);
    expect(rpm.stderr).not.toMatch(NODE_READ_IT);
    const sign = await runLauncher(SIGNET, ['sign', '--key', 'k', pkg], env);
    expect(sign.stderr).toMatch(/SERVER_UNREACHABLE/);
    expect(sign.stderr).not.toMatch(NODE_READ_IT);
    const version = await runLauncher(SIGNET, ['--version'], env);
    expect(version.status).toBe(0);
    expect(version.stderr).not.toMatch(NODE_READ_IT);
    const gpg = await runLauncher(GPG, ['--detach-sign', '-u', 'k', pkg], env);
    expect(gpg.stderr).toMatch(/SERVER_UNREACHABLE/);
    expect(gpg.stderr).not.toMatch(NODE_READ_IT);
  });

  it('the launchers find their bundles through a symlink (npm bin links), and run the ES module build when a bundle is stale or missing', async () => {
    // A copy of the package beside the real one: the launchers and the build, node_modules linked.
    const pkgRoot = join(dir, 'pkg');
    mkdirSync(pkgRoot);
    cpSync(join(ROOT, 'bin'), join(pkgRoot, 'bin'), { recursive: true });
    cpSync(join(ROOT, 'dist'), join(pkgRoot, 'dist'), { recursive: true, preserveTimestamps: true });
    cpSync(join(ROOT, 'package.json'), join(pkgRoot, 'package.json'));
    symlinkSync(join(ROOT, 'node_modules'), join(pkgRoot, 'node_modules'));
    const links = join(dir, 'links');
    mkdirSync(links);
    symlinkSync(join(pkgRoot, 'bin', 'signet'), join(links, 'signet'));
    symlinkSync(join(pkgRoot, 'bin', 'signet-gpg'), join(links, 'signet-gpg'));
    const rpm = join(dir, 'not-an.rpm');
    writeFileSync(rpm, Buffer.alloc(200));
    const hooksDir = mkdtempSync(join(tmpdir(), 'signet-launcher-modules-'));
    try {
      const list = join(hooksDir, 'modules.txt');
      const env = { SIGNET_ADDR: 'http://127.0.0.1:9', SIGNET_TOKEN: 'test', SIGNET_TEST_MODULE_LIST: list, NODE_OPTIONS: `--import=${pathToFileURL(writePreload(hooksDir)).href}` };
      const modulesOf = async (bin: string, args: string[], expected: RegExp) => {
        writeFileSync(list, '');
        const r = await runLauncher(bin, args, env);
        expect(r.stderr).toMatch(expected);
        return readFileSync(list, 'utf8').split('\n').filter((l) => l.includes(pkgRoot));
      };
      const sign = ['rpm', 'sign', '--key', 'k', rpm];
      const gpg = ['--detach-sign', '-u', 'k', rpm];
      expect(await modulesOf(join(links, 'signet'), sign, /RPM_MALFORMED/)).toContainEqual(expect.stringMatching(/\/dist\/cli\/signet-entry\.cjs$/));
      expect(await modulesOf(join(links, 'signet-gpg'), gpg, /SERVER_UNREACHABLE/)).toContainEqual(expect.stringMatching(/\/dist\/cli\/signet-gpg\.cjs$/));
      // Bundles older than the ES modules (tsc run alone after a build), then no bundles at all:
      // the same commands from the ES module build, never the stale code.
      const cli = join(pkgRoot, 'dist', 'cli');
      const later = new Date(Date.now() + 60_000);
      utimesSync(join(cli, 'entry.js'), later, later);
      utimesSync(join(cli, 'signet-gpg.js'), later, later);
      for (const remove of [false, true]) {
        if (remove) for (const b of ['signet-entry.cjs', 'signet-gpg.cjs']) rmSync(join(cli, b));
        const esm = await modulesOf(join(links, 'signet'), sign, /RPM_MALFORMED/);
        expect(esm).toContainEqual(expect.stringMatching(/\/dist\/cli\/rpm-sign\.js$/));
        expect(esm.filter((m) => m.endsWith('.cjs'))).toEqual([]);
        const shim = await modulesOf(join(links, 'signet-gpg'), gpg, /SERVER_UNREACHABLE/);
        expect(shim).toContainEqual(expect.stringMatching(/\/dist\/cli\/signet-gpg\.js$/));
        expect(shim.filter((m) => m.endsWith('.cjs'))).toEqual([]);
      }
    } finally {
      rmSync(hooksDir, { recursive: true, force: true });
    }
  });

  it('other commands keep NODE_EXTRA_CA_CERTS for Node (the server and the store make TLS connections of their own)', async () => {
    const env = { ...MISSING_CA, SIGNET_ADDR: 'http://127.0.0.1:9', SIGNET_TOKEN: 'test' };
    const list = await runLauncher(SIGNET, ['key', 'list'], env);
    expect(list.stderr).toMatch(/SERVER_UNREACHABLE/);
    expect(list.stderr).toMatch(NODE_READ_IT);
    // A global option's value named like a command does not count as the command.
    const addr = await runLauncher(SIGNET, ['--data', 'rpm', 'key', 'list'], env);
    expect(addr.stderr).toMatch(NODE_READ_IT);
  });

  it('signet-gpg signs rpmsign\'s header with one request when -u is a key name, and resolves other specifications through the key list', async () => {
    const header = Buffer.concat([Buffer.from([0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0]), Buffer.alloc(64, 7)]);
    const digest = createHash('sha256').update(header).digest('hex');
    // A real key and a real signature over the header: signet-gpg verifies what it is handed
    // before writing it (a made-up packet would be refused as SIGNATURE_INVALID).
    const { privateKey, publicKey } = await openpgp.generateKey({ type: 'ecc', curve: 'ed25519Legacy', userIDs: [{ name: 'Rel', email: 'rel@example.org' }], format: 'object' });
    const fingerprint = privateKey.getFingerprint().toUpperCase();
    const packet = Buffer.from(
      (await openpgp.sign({ message: await openpgp.createMessage({ binary: header }), signingKeys: privateKey, detached: true, format: 'binary' })) as Uint8Array,
    );
    const requests: string[] = [];
    // A stand-in server: answers the key list, the public key and the rpm route, records the requests.
    const server = http.createServer((req, res) => {
      requests.push(`${req.method} ${req.url}`);
      req.resume();
      req.on('end', () => {
        res.setHeader('content-type', 'application/json');
        if (req.method === 'GET' && req.url === '/v1/keys/rel/public') {
          res.setHeader('content-type', 'application/pgp-keys');
          res.end(publicKey.armor());
        } else if (req.method === 'GET' && req.url === '/v1/keys') {
          res.end(JSON.stringify({ keys: [{ name: 'rel', fingerprint, key_id: fingerprint.slice(-16), algorithm: 'ed25519', user_id: 'Rel <rel@example.org>', created: '', state: 'active', origin: 'generated' }] }));
        } else if (req.method === 'POST' && req.url === '/v1/sign/rel/rpm') {
          res.end(JSON.stringify({ key: 'rel', fingerprint, algorithm: 'ed25519', hash_algorithm: 'sha256', created: 1, signed: 1, failed: 0, signatures: [{ packet: packet.toString('base64'), header_sha256: digest }] }));
        } else {
          res.statusCode = 404;
          res.end(JSON.stringify({ error: { code: 'KEY_NOT_FOUND', message: 'no such key' } }));
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const env = { SIGNET_ADDR: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, SIGNET_TOKEN: 'test' };
      const args = (key: string) => ['--status-fd', '2', '--detach-sign', '-u', key];
      const byName = await runLauncher(GPG, args('rel'), env, header);
      expect(byName.stderr).toContain(`[GNUPG:] KEY_CONSIDERED ${fingerprint} 2`);
      expect(byName.stdout.equals(packet)).toBe(true);
      const signing = () => requests.filter((r) => r !== 'GET /v1/keys/rel/public');
      expect(signing()).toEqual(['POST /v1/sign/rel/rpm']);
      expect(requests).toContain('GET /v1/keys/rel/public');

      // The same call with a module list: it checked the signature, and loaded no ML-DSA for an
      // EdDSA key (@noble/post-quantum costs over 20 ms a start; public-key.ts).
      const hooksDir = mkdtempSync(join(tmpdir(), 'signet-gpg-modules-'));
      try {
        const preload = writePreload(hooksDir);
        const list = join(hooksDir, 'modules.txt');
        writeFileSync(list, '');
        const listed = await new Promise<{ status: number | null; stdout: Buffer }>((resolve, reject) => {
          const child = spawn(process.execPath, ['--import', pathToFileURL(preload).href, GPG, ...args('rel')], {
            cwd: ROOT,
            env: { PATH: process.env.PATH ?? '', HOME: hooksDir, SIGNET_TEST_MODULE_LIST: list, ...env },
          });
          const out: Buffer[] = [];
          child.stdout.on('data', (d: Buffer) => out.push(d));
          child.on('error', reject);
          child.on('close', (status) => resolve({ status, stdout: Buffer.concat(out) }));
          child.stdin.end(header);
        });
        expect(listed.status).toBe(0);
        expect(listed.stdout.equals(packet)).toBe(true);
        const modules = readFileSync(list, 'utf8').split('\n');
        expect(modules.some((m) => m.endsWith('/dist/cli/signature-check.js'))).toBe(true);
        expect(modules.filter((m) => m.includes('@noble/post-quantum'))).toEqual([]);
      } finally {
        rmSync(hooksDir, { recursive: true, force: true });
      }

      requests.length = 0;
      const byUid = await runLauncher(GPG, args('Rel <rel@example.org>'), env, header);
      expect(byUid.stdout.equals(packet)).toBe(true);
      expect(signing()).toEqual(['GET /v1/keys', 'POST /v1/sign/rel/rpm']);

      // A key ID that is also a valid key name: no key of that name, so it is resolved as gpg would.
      requests.length = 0;
      const byKeyId = await runLauncher(GPG, args(fingerprint.slice(-16).toLowerCase()), env, header);
      expect(byKeyId.stderr).toContain(`KEY_CONSIDERED ${fingerprint} 2`);
      expect(byKeyId.stdout.equals(packet)).toBe(true);
      expect(signing().filter((r) => !r.endsWith('/public'))).toEqual([`POST /v1/sign/${fingerprint.slice(-16).toLowerCase()}/rpm`, 'GET /v1/keys', 'POST /v1/sign/rel/rpm']);
    } finally {
      server.close();
    }
  });

  it('signet serve gets single-threaded GC on a machine of at most 2 CPUs; SIGNET_GC chooses either way', async () => {
    // Node's flags as the running server has them, read once the launcher has exec'd node.
    async function serveFlags(gc: string | undefined): Promise<string[]> {
      const data = mkdtempSync(join(tmpdir(), 'signet-gc-'));
      const child = spawn(SIGNET, ['serve', '--data', data, '--listen', '127.0.0.1:0', '--log-level', 'error'], {
        cwd: ROOT,
        env: { PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`, HOME: data, ...(gc !== undefined ? { SIGNET_GC: gc } : {}) },
        stdio: 'ignore',
      });
      try {
        for (let i = 0; i < 200; i++) {
          let argv: string[] = [];
          try {
            argv = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').split('\0');
          } catch {
            // not started yet
          }
          const at = argv.indexOf(SIGNET);
          if (at > 0 && argv[0] !== '/bin/sh' && !argv[0]!.endsWith('/sh')) return argv.slice(1, at);
          await new Promise((r) => setTimeout(r, 25));
        }
        throw new Error(`the launcher did not exec node (exit code ${String(child.exitCode)})`);
      } finally {
        child.kill('SIGTERM');
        await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
        rmSync(data, { recursive: true, force: true });
      }
    }
    expect(await serveFlags('single')).toEqual(['--single-threaded-gc']);
    expect(await serveFlags('parallel')).toEqual([]);
    expect(await serveFlags(undefined)).toEqual(availableParallelism() <= 2 ? ['--single-threaded-gc'] : []);
  });
});
