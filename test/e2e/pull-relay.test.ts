// Pull mode on loopback (docs/pull-mode.md): the CA's certificates as openssl reads them, a relay
// that records every byte it copies (signet's own clients leave no token, secret or artifact in
// it; a curl through the terminating path does), certificates refused by role, CA and validity,
// and one answer per request id.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initCa, issueCertificate } from '../../src/pull/ca.js';
import { startRelay, type RunningRelay } from '../../src/pull/relay.js';
import { startPull } from '../../src/pull/signer.js';
import { requireTools } from '../helpers/tools.js';
import { SIGNET, requireBuild } from '../helpers/cli.js';
import { api, startTestServer, type TestServer } from '../helpers/server.js';

const quiet = pino({ level: 'silent' });

// Children run asynchronously: the relay and the signer live in this process.
function cli(args: string[], env: Record<string, string>): Promise<{ status: number; stdout: string; stderr: string }> {
  return exec(process.execPath, [SIGNET, ...args], env);
}

function exec(cmd: string, args: string[], env: Record<string, string> = {}): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ status: code ?? -1, stdout, stderr }));
  });
}

async function until(fn: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('pull mode: CA, recording relay, certificate refusals, request ids', () => {
  let dir: string;
  let ca: string;
  let other: string;
  let relay: RunningRelay;
  let signer: TestServer;
  const recorded: Buffer[] = [];
  let env: Record<string, string>;

  beforeAll(async () => {
    requireTools('openssl', 'curl');
    requireBuild();
    dir = mkdtempSync(join(tmpdir(), 'signet-pull-'));
    ca = join(dir, 'ca');
    other = join(dir, 'other');
    initCa(ca);
    initCa(other, { algorithm: 'p256' });
    issueCertificate(ca, 'relay', { role: 'relay', ips: ['127.0.0.1'] });
    issueCertificate(ca, 'enclave', { role: 'signer', algorithm: 'p256' });
    issueCertificate(ca, 'ci', { role: 'client' });
    issueCertificate(ca, 'old', { role: 'signer', notBefore: new Date(Date.now() - 10 * 86_400_000), notAfter: new Date(Date.now() - 86_400_000) });
    issueCertificate(other, 'enclave', { role: 'signer' });
    relay = await startRelay({
      host: '127.0.0.1',
      port: 0,
      cert: readFileSync(join(ca, 'relay.pem')),
      key: readFileSync(join(ca, 'relay.key')),
      ca: readFileSync(join(ca, 'ca.pem')),
      logger: quiet,
      firstLineTimeoutMs: 3000,
      tap: (chunk) => recorded.push(Buffer.from(chunk)),
    });
    signer = await startTestServer({
      listen: undefined,
      pull: [relay.url],
      pullCa: join(ca, 'ca.pem'),
      pullPool: 2,
      tlsCert: join(ca, 'enclave.pem'),
      tlsKey: join(ca, 'enclave.key'),
    });
    await until(() => relay.status().signers.some((s) => s.name === 'enclave' && s.idle > 0));
    env = { SIGNET_ADDR: `relay://127.0.0.1:${relay.port}/enclave`, SIGNET_CA_FILE: join(ca, 'ca.pem'), SIGNET_TOKEN: signer.adminToken };
    const created = await cli(['key', 'create', 'rel', '--algo', 'ed25519', '--purpose', 'detached'], env);
    expect(created.status, created.stderr).toBe(0);
  }, 120_000);

  afterAll(async () => {
    await signer?.close();
    await relay?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('openssl reads the certificates and checks their chain and purposes', () => {
    const text = spawnSync('openssl', ['x509', '-in', join(ca, 'enclave.pem'), '-noout', '-text'], { encoding: 'utf8' });
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/Subject: OU ?= ?signet-signer, CN ?= ?enclave/);
    expect(text.stdout).toMatch(/TLS Web Server Authentication, TLS Web Client Authentication/);
    const verify = (purpose: string, file: string): number =>
      spawnSync('openssl', ['verify', '-CAfile', join(ca, 'ca.pem'), '-purpose', purpose, join(ca, file)], { encoding: 'utf8' }).status ?? -1;
    expect(verify('sslserver', 'relay.pem')).toBe(0);
    expect(verify('sslserver', 'enclave.pem')).toBe(0);
    expect(verify('sslclient', 'enclave.pem')).toBe(0);
    expect(verify('sslclient', 'ci.pem')).toBe(0);
    // Roles are kept apart: a relay certificate is no TLS client, a client certificate no server.
    expect(verify('sslclient', 'relay.pem')).not.toBe(0);
    expect(verify('sslserver', 'ci.pem')).not.toBe(0);
    expect(verify('sslserver', 'old.pem')).not.toBe(0);
  });

  it('a recording relay finds no token, no secret_id and no artifact bytes from signet\'s own clients', async () => {
    recorded.length = 0;
    const marker = `artifact-${randomBytes(16).toString('hex')}`;
    const file = join(dir, 'artifact.txt');
    writeFileSync(file, `${marker}\n`.repeat(64));
    const signed = await cli(['sign', '--key', 'rel', '--no-midstate', file], env);
    expect(signed.status, signed.stderr).toBe(0);
    // AppRole: the wrapped secret_id, unwrap and login all go through the relay too.
    writeFileSync(join(dir, 'ci.yaml'), 'rules:\n  - keys: [rel]\n    kinds: [detached]\n');
    expect((await cli(['policy', 'write', 'ci', join(dir, 'ci.yaml')], env)).status).toBe(0);
    const role = await cli(['role', 'create', 'ci', '--policies', 'ci', '--json'], env);
    expect(role.status, role.stderr).toBe(0);
    const roleId = JSON.parse(role.stdout).role_id as string;
    const wrapped = await cli(['role', 'secret', 'ci', '--wrap-ttl', '60s', '--json'], env);
    expect(wrapped.status, wrapped.stderr).toBe(0);
    const wrapToken = JSON.parse(wrapped.stdout).wrap_info.token as string;
    const unwrapped = await cli(['unwrap', '--role', 'ci'], { ...env, SIGNET_TOKEN: wrapToken });
    expect(unwrapped.status, unwrapped.stderr).toBe(0);
    const secretId = unwrapped.stdout.trim();
    const login = await cli(['login', '--role-id', roleId], { ...env, SIGNET_TOKEN: '', SIGNET_SECRET_ID: secretId });
    expect(login.status, login.stderr).toBe(0);
    const ciToken = login.stdout.trim();
    const bytes = Buffer.concat(recorded);
    expect(bytes.length).toBeGreaterThan(1000);
    for (const secret of [signer.adminToken, wrapToken, secretId, ciToken, marker, 'Bearer', '/v1/sign']) {
      expect(bytes.includes(Buffer.from(secret)), `found ${secret.slice(0, 8)}… in the relay's traffic`).toBe(false);
    }
  });

  it('signet-gpg, pulp-sign, signet sums and the log\'s tiles work through the relay as directly', async () => {
    requireTools('gpg');
    recorded.length = 0;
    expect((await cli(['key', 'create', 'all', '--algo', 'ed25519', '--purpose', 'detached,sums'], env)).status).toBe(0);
    const pub = join(dir, 'all.asc');
    writeFileSync(pub, (await cli(['key', 'export', 'all'], env)).stdout);
    const gnupg = mkdtempSync(join(tmpdir(), 'signet-pull-gpg-'));
    try {
      expect((await exec('gpg', ['--batch', '--homedir', gnupg, '--import', pub])).status).toBe(0);
      // The shim under a build tool: gpg's command line, SIGNET_ADDR as the only setting.
      const file = join(dir, 'shim.txt');
      writeFileSync(file, 'signed by signet-gpg through a relay\n');
      const shim = await exec(join(SIGNET, '..', 'signet-gpg'), ['--detach-sign', '--armor', '-u', 'all', '-o', `${file}.asc`, file], env);
      expect(shim.status, shim.stderr).toBe(0);
      expect((await exec('gpg', ['--batch', '--homedir', gnupg, '--verify', `${file}.asc`, file])).status).toBe(0);
      // Pulp's signing service: the key by fingerprint, JSON on stdout.
      const fpr = JSON.parse((await cli(['key', 'list', '--json'], env)).stdout).find((k: { name: string }) => k.name === 'all').fingerprint as string;
      const repomd = join(dir, 'repomd.xml');
      writeFileSync(repomd, '<repomd>through a relay</repomd>\n');
      const pulp = await cli(['pulp-sign', 'detached', repomd], { ...env, PULP_SIGNING_KEY_FINGERPRINT: fpr, CORRELATION_ID: 'pulp-task-relay' });
      expect(pulp.status, pulp.stderr).toBe(0);
      expect((await exec('gpg', ['--batch', '--homedir', gnupg, '--verify', `${repomd}.asc`, repomd])).status).toBe(0);
      const release = join(dir, 'release');
      spawnSync('mkdir', ['-p', release]);
      writeFileSync(join(release, 'a.tar.gz'), randomBytes(4096));
      const sums = await cli(['sums', release, '--key', 'all'], env);
      expect(sums.status, sums.stderr).toBe(0);
      expect((await exec('gpg', ['--batch', '--homedir', gnupg, '--verify', join(release, 'SHA256SUMS.asc'), join(release, 'SHA256SUMS')])).status).toBe(0);
    } finally {
      spawnSync('gpgconf', ['--homedir', gnupg, '--kill', 'all']);
      rmSync(gnupg, { recursive: true, force: true });
    }
    // `signet log verify` reads the C2SP tiles and entry bundles through the relay.
    const verify = await cli(['log', 'verify'], env);
    expect(verify.status, verify.stdout + verify.stderr).toBe(0);
    expect(Buffer.concat(recorded).includes(Buffer.from(signer.adminToken))).toBe(false);
  });

  it('curl works through the relay\'s terminating path (the relay terminates that TLS session: docs/pull-mode.md)', async () => {
    recorded.length = 0;
    const r = await exec('curl', ['-sS', '--cacert', join(ca, 'ca.pem'), '-H', `Authorization: Bearer ${signer.adminToken}`, `https://127.0.0.1:${relay.port}/v1/keys`]);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).keys.map((k: { name: string }) => k.name)).toContain('rel');
  });

  it('refuses a client certificate offered as a signer, an expired signer, and a signer of another CA', async () => {
    const before = relay.status().refused;
    const tries: Array<[string, string, string]> = [
      [join(ca, 'ci.pem'), join(ca, 'ci.key'), 'not_signer'],
      [join(ca, 'old.pem'), join(ca, 'old.key'), 'certificate'],
      [join(other, 'enclave.pem'), join(other, 'enclave.key'), 'certificate'],
    ];
    for (const [cert, key, reason] of tries) {
      const { EventEmitter } = await import('node:events');
      const server = Object.assign(new EventEmitter(), {}) as unknown as import('node:net').Server;
      let handed = 0;
      server.on('connection', () => handed++);
      const pull = startPull({ relays: [relay.url], cert: readFileSync(cert), key: readFileSync(key), ca: readFileSync(join(ca, 'ca.pem')), server, logger: quiet, pool: 1 });
      try {
        await until(() => (relay.status().refused[reason] ?? 0) > (before[reason] ?? 0));
        await until(() => (pull.status().relays[0]?.failures ?? 0) > 0);
      } finally {
        pull.close();
      }
      expect(handed).toBe(0);
      // Only the real signer is connected.
      expect(relay.status().signers.map((s) => s.name)).toEqual(['enclave']);
      Object.assign(before, relay.status().refused);
    }
  });

  it('refuses a client that presents a certificate of another CA or a signer certificate', async () => {
    const curl = async (cert: string, key: string): Promise<number> =>
      (await exec('curl', ['-sS', '-f', '--cacert', join(ca, 'ca.pem'), '--cert', cert, '--key', key, `https://127.0.0.1:${relay.port}/v1/log/checkpoint`])).status;
    expect(await curl(join(other, 'enclave.pem'), join(other, 'enclave.key'))).not.toBe(0);
    expect(await curl(join(ca, 'enclave.pem'), join(ca, 'enclave.key'))).not.toBe(0);
    expect(await curl(join(ca, 'ci.pem'), join(ca, 'ci.key'))).toBe(0);
  });

  it('a relay address with another signer name, or a relay certificate from another CA, is refused by the client', async () => {
    const wrongName = await cli(['key', 'list', '--timeout', '2s'], { ...env, SIGNET_ADDR: `relay://127.0.0.1:${relay.port}/nobody` });
    expect(wrongName.status).toBe(1);
    expect(wrongName.stderr).toMatch(/RELAY_NO_SIGNER/);
    const otherCa = await cli(['key', 'list', '--timeout', '2s'], { ...env, SIGNET_CA_FILE: join(other, 'ca.pem') });
    expect(otherCa.status).toBe(1);
    expect(otherCa.stderr).toMatch(/SERVER_UNREACHABLE/);
  });

  it('one answer per request id: a retry gets the same signature and the log one entry', async () => {
    const direct = await startTestServer();
    try {
      const created = await api(direct, 'POST', '/v1/keys', { token: direct.adminToken, json: { name: 'k', algorithm: 'ed25519', user_id: 'k <k@example.org>', purposes: ['detached'] } });
      expect(created.status, created.text).toBe(201);
      const id = randomBytes(16).toString('hex');
      const send = (body: string, token = direct.adminToken): ReturnType<typeof api> =>
        api(direct, 'POST', '/v1/sign/k?name=a.txt', { token, body, headers: { 'x-signet-request-id': id } });
      const first = await send('hello');
      const again = await send('hello');
      expect(first.status, first.text).toBe(200);
      expect(again.status).toBe(200);
      expect(again.json.signature).toBe(first.json.signature);
      expect(again.json.log_index).toBe(first.json.log_index);
      // The same id with another request is refused, not answered with the first one's signature.
      const reused = await api(direct, 'POST', '/v1/sign/k?name=b.txt', { token: direct.adminToken, body: 'other', headers: { 'x-signet-request-id': id } });
      expect(reused.status).toBe(409);
      expect(reused.json.error.code).toBe('REQUEST_ID_REUSED');
      // Without an id, two requests are two signatures.
      const a = await api(direct, 'POST', '/v1/sign/k?name=a.txt', { token: direct.adminToken, body: 'hello' });
      const b = await api(direct, 'POST', '/v1/sign/k?name=a.txt', { token: direct.adminToken, body: 'hello' });
      // The log holds one entry for the retried request: the next signature comes right after it.
      expect(Number(a.json.log_index)).toBe(Number(first.json.log_index) + 1);
      expect(Number(b.json.log_index)).toBe(Number(a.json.log_index) + 1);
    } finally {
      await direct.close();
    }
  });

  it('a peer that completes the handshake and then says nothing is disconnected', async () => {
    const tls = await import('node:tls');
    const before = relay.status().refused.silent ?? 0;
    const socket = tls.connect({ host: '127.0.0.1', port: relay.port, ca: readFileSync(join(ca, 'ca.pem')), minVersion: 'TLSv1.3' });
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => socket.once('secureConnect', () => resolve()));
    await new Promise<void>((resolve) => socket.once('close', () => resolve()));
    expect(relay.status().refused.silent).toBe(before + 1);
  });

  it('serve refuses --listen with --pull', async () => {
    await expect(
      startTestServer({ listen: '127.0.0.1:0', pull: [relay.url], pullCa: join(ca, 'ca.pem'), tlsCert: join(ca, 'enclave.pem'), tlsKey: join(ca, 'enclave.key') }),
    ).rejects.toMatchObject({ code: 'USAGE' });
  });
});
