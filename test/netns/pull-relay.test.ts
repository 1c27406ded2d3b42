// Pull mode in its production layout (docs/pull-mode.md): three network namespaces made here.
//   ci       the client (10.77.1.2); reaches the relay only
//   dmz      the relay (10.77.1.1 towards ci, 10.77.2.1 towards the enclave); forwards no packets
//   enclave  the signer (10.77.2.2); nftables drops every new inbound connection
// The signer dials the relay; signing, an RPM batch (rpmkeys -K) and `signet log verify` go
// through it; a connection into the enclave fails; the relay killed with SIGKILL mid-batch and
// started again leaves every package signed once, with one log entry each.
// Needs root (ip netns, nftables), as CI runs it; otherwise it fails saying so.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTools } from '../helpers/tools.js';
import { SIGNET, requireBuild } from '../helpers/cli.js';
import { MK_RPMS, mustRun, run } from '../interop/rpm-setup.js';

const tag = randomBytes(3).toString('hex');
const NS = { ci: `sci-${tag}`, dmz: `sdmz-${tag}`, enclave: `senc-${tag}` };
const RELAY_PORT = 8443;
const RELAY_FROM_CI = '10.77.1.1';
const RELAY_FROM_ENCLAVE = '10.77.2.1';
const ENCLAVE = '10.77.2.2';

function sh(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.slice(0, 4).join(' ')} failed: ${(r.stderr ?? '').slice(0, 300)}`);
}

function inNs(ns: string, args: string[], env: Record<string, string> = {}): { status: number; stdout: string; stderr: string } {
  const r = spawnSync('ip', ['netns', 'exec', ns, ...args], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env }, maxBuffer: 64 << 20 });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function cliInCi(args: string[], env: Record<string, string>): { status: number; stdout: string; stderr: string } {
  return inNs(NS.ci, [process.execPath, SIGNET, ...args], env);
}

function teardown(): void {
  for (const ns of Object.values(NS)) spawnSync('ip', ['netns', 'del', ns]);
}

interface Proc {
  child: ChildProcess;
  out: string[];
}

function startIn(ns: string, args: string[]): Proc {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, SIGNET, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' } });
  const out: string[] = [];
  child.stdout!.on('data', (d: Buffer) => out.push(d.toString()));
  child.stderr!.on('data', (d: Buffer) => out.push(d.toString()));
  return { child, out };
}

async function until(what: string, fn: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (fn()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('pull mode across network namespaces (ci, dmz, enclave)', () => {
  let dir: string;
  let ca: string;
  let relay: Proc | undefined;
  let signer: Proc | undefined;
  let env: Record<string, string>;
  let corpus: string[];

  const relayArgs = (): string[] => ['relay', '--listen', `0.0.0.0:${RELAY_PORT}`, '--tls-cert', join(ca, 'relay.pem'), '--tls-key', join(ca, 'relay.key'), '--ca', join(ca, 'ca.pem')];
  const relayStatus = (): { signers: Array<{ name: string; idle: number }> } | undefined => {
    const r = cliInCi(['relay', 'status', '--relay', `https://${RELAY_FROM_CI}:${RELAY_PORT}`, '--json'], { SIGNET_CA_FILE: join(ca, 'ca.pem') });
    return r.status === 0 ? JSON.parse(r.stdout) : undefined;
  };
  const signerUp = (): boolean => (relayStatus()?.signers.find((s) => s.name === 'enclave')?.idle ?? 0) > 0;

  beforeAll(async () => {
    if (process.getuid?.() !== 0) throw new Error('the pull-mode namespace tests need root (ip netns, veth, nftables); run them as root, as CI does');
    requireTools('ip', 'nft', 'rpmkeys', 'rpmbuild');
    requireBuild();
    dir = mkdtempSync(join(tmpdir(), 'signet-netns-'));
    try {
      for (const ns of Object.values(NS)) sh('ip', ['netns', 'add', ns]);
      const link = (a: string, b: string, nsA: string, nsB: string, ipA: string, ipB: string): void => {
        sh('ip', ['link', 'add', a, 'type', 'veth', 'peer', 'name', b]);
        sh('ip', ['link', 'set', a, 'netns', nsA]);
        sh('ip', ['link', 'set', b, 'netns', nsB]);
        sh('ip', ['-n', nsA, 'addr', 'add', `${ipA}/24`, 'dev', a]);
        sh('ip', ['-n', nsB, 'addr', 'add', `${ipB}/24`, 'dev', b]);
        sh('ip', ['-n', nsA, 'link', 'set', a, 'up']);
        sh('ip', ['-n', nsB, 'link', 'set', b, 'up']);
      };
      for (const ns of Object.values(NS)) sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      link(`vc${tag}`, `vd${tag}`, NS.ci, NS.dmz, '10.77.1.2', RELAY_FROM_CI);
      link(`ve${tag}`, `vf${tag}`, NS.enclave, NS.dmz, ENCLAVE, RELAY_FROM_ENCLAVE);
      // The enclave: nothing comes in unless it belongs to a connection the enclave opened.
      const rules = join(dir, 'enclave.nft');
      writeFileSync(rules, 'table inet enclave {\n  chain input {\n    type filter hook input priority 0; policy drop;\n    ct state established,related accept\n    iif lo accept\n  }\n}\n');
      sh('ip', ['netns', 'exec', NS.enclave, 'nft', '-f', rules]);

      ca = join(dir, 'ca');
      const S = (args: string[]): void => sh(process.execPath, [SIGNET, ...args]);
      S(['ca', 'init', '--out', ca]);
      S(['ca', 'issue', 'relay', '--role', 'relay', '--ip', `${RELAY_FROM_CI},${RELAY_FROM_ENCLAVE}`, '--out', ca]);
      S(['ca', 'issue', 'enclave', '--role', 'signer', '--out', ca]);

      relay = startIn(NS.dmz, relayArgs());
      signer = startIn(NS.enclave, ['--data', join(dir, 'data'), 'serve', '--pull', `https://${RELAY_FROM_ENCLAVE}:${RELAY_PORT}`, '--tls-cert', join(ca, 'enclave.pem'), '--tls-key', join(ca, 'enclave.key'), '--ca', join(ca, 'ca.pem'), '--pull-pool', '4']);
      await until('the signer to connect to the relay', signerUp);
      const token = readFileSync(join(dir, 'data', 'admin-token'), 'utf8').trim();
      env = { SIGNET_ADDR: `relay://${RELAY_FROM_CI}:${RELAY_PORT}/enclave`, SIGNET_CA_FILE: join(ca, 'ca.pem'), SIGNET_TOKEN: token };
      const created = cliInCi(['key', 'create', 'rel', '--algo', 'ed25519', '--purpose', 'rpm,detached', '--uid', 'Release <rel@example.org>'], env);
      expect(created.status, created.stderr).toBe(0);
      writeFileSync(join(dir, 'rel.asc'), cliInCi(['key', 'export', 'rel'], env).stdout);
      mustRun('bash', [MK_RPMS, join(dir, 'corpus'), 'small']);
      corpus = readdirSync(join(dir, 'corpus')).filter((f) => f.endsWith('.rpm')).sort().map((f) => join(dir, 'corpus', f));
    } catch (err) {
      relay?.child.kill('SIGKILL');
      signer?.child.kill('SIGKILL');
      teardown();
      throw err;
    }
  }, 240_000);

  afterAll(() => {
    relay?.child.kill('SIGKILL');
    signer?.child.kill('SIGKILL');
    teardown();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const logSize = (): number => {
    const r = cliInCi(['log', 'checkpoint'], env);
    expect(r.status, r.stderr).toBe(0);
    return Number(r.stdout.split('\n')[1]);
  };

  const rpmdb = (): string => {
    const db = join(dir, `rpmdb-${randomBytes(3).toString('hex')}`);
    mkdirSync(db);
    mustRun('rpmkeys', ['--dbpath', db, '--import', join(dir, 'rel.asc')]);
    return db;
  };

  it('the signer listens on no port, and a connection into the enclave fails', async () => {
    const listening = inNs(NS.enclave, ['ss', '-Htln']);
    expect(listening.status).toBe(0);
    expect(listening.stdout.trim()).toBe('');
    // A listener planted in the enclave is reachable from inside, not from the dmz next door.
    const probe = spawn('ip', ['netns', 'exec', NS.enclave, process.execPath, '-e', `require('net').createServer((s)=>s.end('hi')).listen(9999,'0.0.0.0',()=>console.log('up'))`], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      await new Promise<void>((resolve) => probe.stdout!.once('data', () => resolve()));
      const connect = (ns: string): { status: number } =>
        inNs(ns, [process.execPath, '-e', `const s=require('net').connect(9999,'${ENCLAVE}');s.setTimeout(3000,()=>process.exit(3));s.on('data',()=>process.exit(0));s.on('error',()=>process.exit(4))`]);
      expect(connect(NS.enclave).status).toBe(0);
      expect(connect(NS.dmz).status).not.toBe(0);
      expect(connect(NS.ci).status).not.toBe(0);
    } finally {
      probe.kill('SIGKILL');
    }
  });

  it('signs an artifact from ci through the relay; the client reaches nothing else', () => {
    const file = join(dir, 'artifact.txt');
    writeFileSync(file, `release ${tag}\n`);
    const r = cliInCi(['sign', '--key', 'rel', file], env);
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(`${file}.sig`).length).toBeGreaterThan(50);
    // From ci, the enclave has no route at all.
    const direct = inNs(NS.ci, [process.execPath, '-e', `const s=require('net').connect(9999,'${ENCLAVE}');s.setTimeout(2000,()=>process.exit(3));s.on('connect',()=>process.exit(0));s.on('error',()=>process.exit(4))`]);
    expect(direct.status).not.toBe(0);
  });

  it('an RPM batch through the relay: rpmkeys -K OK, one log entry per package, log verify OK', () => {
    const to = join(dir, 'batch');
    mkdirSync(to);
    const files = corpus.map((f) => {
      const d = join(to, basename(f));
      copyFileSync(f, d);
      return d;
    });
    const before = logSize();
    const r = cliInCi(['rpm', 'sign', '--key', 'rel', ...files], env);
    expect(r.status, r.stderr).toBe(0);
    const db = rpmdb();
    for (const f of files) {
      const check = run('rpmkeys', ['--dbpath', db, '-Kv', f]);
      expect(check.status, check.stdout + check.stderr).toBe(0);
      expect(check.stdout).toMatch(/Header V4 EdDSA\/SHA256 Signature, key ID [0-9a-f]+: OK/);
    }
    expect(logSize() - before).toBe(files.length);
    const verify = cliInCi(['log', 'verify'], env);
    expect(verify.status, verify.stdout + verify.stderr).toBe(0);
  });

  it('the relay killed with SIGKILL mid-batch and started again: every package signed once, one log entry each', async () => {
    const to = join(dir, 'kill');
    mkdirSync(to);
    // 30 copies of the corpus under new names: a batch long enough to be cut in the middle.
    const files: string[] = [];
    for (let i = 0; i < 30; i++) {
      for (const f of corpus) {
        const d = join(to, `${i}-${basename(f)}`);
        copyFileSync(f, d);
        files.push(d);
      }
    }
    const before = logSize();
    const signerLines = (): number => signer!.out.join('').split('\n').filter((l) => l.includes('"route":"/v1/sign/:key/rpm"')).length;
    const seen = signerLines();
    const client = spawn('ip', ['netns', 'exec', NS.ci, process.execPath, SIGNET, 'rpm', 'sign', '--key', 'rel', '--json', ...files], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    });
    let stdout = '';
    let stderr = '';
    client.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    client.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number>((resolve) => client.on('exit', (code) => resolve(code ?? -1)));
    let clientDone = false;
    void exited.then(() => (clientDone = true));
    // The first batch answered: the rest are on their way. Kill the relay now.
    await until('the first RPM batch to reach the signer', () => signerLines() > seen, 60_000);
    relay!.child.kill('SIGKILL');
    expect(clientDone).toBe(false);
    await new Promise((r) => setTimeout(r, 500));
    relay = startIn(NS.dmz, relayArgs());
    const code = await exited;
    expect(code, stderr.slice(-2000)).toBe(0);
    const summary = JSON.parse(stdout) as { signed: number; failed: number };
    expect(summary).toMatchObject({ signed: files.length, failed: 0 });
    const db = rpmdb();
    for (const f of files) {
      const check = run('rpmkeys', ['--dbpath', db, '-K', f]);
      expect(check.status, check.stdout + check.stderr).toBe(0);
    }
    // One log entry per package: no batch was signed twice.
    expect(logSize() - before).toBe(files.length);
    const verify = cliInCi(['log', 'verify'], env);
    expect(verify.status, verify.stdout + verify.stderr).toBe(0);
  }, 240_000);
});


