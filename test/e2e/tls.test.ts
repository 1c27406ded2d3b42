// TLS: the server speaks TLS 1.3 only by default; the client trusts a private CA via --ca-file.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignetClient } from '../../src/client/client.js';
import { requireTools } from '../helpers/tools.js';
import { requireBuild, ROOT, SIGNET } from '../helpers/cli.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

describe('TLS', () => {
  let dir: string;
  let t: TestServer;

  beforeAll(async () => {
    requireTools('openssl');
    dir = mkdtempSync(join(tmpdir(), 'signet-tls-'));
    const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', join(dir, 'tls.key'), '-out', join(dir, 'tls.crt')], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    t = await startTestServer({ tlsCert: join(dir, 'tls.crt'), tlsKey: join(dir, 'tls.key') });
  }, 60_000);

  afterAll(async () => {
    await t?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('serves https with TLS 1.3 to a client that trusts the CA', async () => {
    expect(t.url).toMatch(/^https:\/\//);
    const client = new SignetClient({ addr: t.url, token: t.adminToken, caFile: join(dir, 'tls.crt') });
    try {
      expect((await client.listKeys()).keys).toEqual([]);
    } finally {
      client.close();
    }
  });

  it('refuses a TLS 1.2 client', async () => {
    const port = Number(new URL(t.url).port);
    const outcome = await new Promise<string>((resolve) => {
      const socket = tls.connect({ host: '127.0.0.1', port, maxVersion: 'TLSv1.2', ca: readFileSync(join(dir, 'tls.crt')), servername: 'localhost' }, () => {
        resolve(`connected with ${socket.getProtocol()}`);
        socket.destroy();
      });
      socket.on('error', (err) => resolve(`error: ${(err as NodeJS.ErrnoException).code ?? err.message}`));
    });
    expect(outcome).toMatch(/^error: /);
  });

  it('refuses an untrusted certificate on the client side', async () => {
    const client = new SignetClient({ addr: t.url, token: t.adminToken });
    try {
      // The message names the way out: the CA file to trust.
      await expect(client.listKeys()).rejects.toMatchObject({ code: 'SERVER_UNREACHABLE', message: expect.stringMatching(/not trusted .*--ca-file/) });
    } finally {
      client.close();
    }
  });
  // bin/signet moves NODE_EXTRA_CA_CERTS aside for `signet sign` and `signet rpm sign` (Node 20
  // would parse it at every start); the client must still trust what it names for https://.
  it('signet sign run as a user runs it trusts the CA in NODE_EXTRA_CA_CERTS, and nothing more without it', async () => {
    requireBuild();
    const admin = new SignetClient({ addr: t.url, token: t.adminToken, caFile: join(dir, 'tls.crt') });
    try {
      await admin.createKey({ name: 'extra-ca', algorithm: 'ed25519', user_id: 'X <x@example.org>' });
    } finally {
      admin.close();
    }
    const file = join(dir, 'artifact.txt');
    writeFileSync(file, 'artifact\n');
    // Asynchronous: the server runs in this process and must keep answering.
    const run = (env: Record<string, string>) =>
      new Promise<{ status: number; stderr: string }>((resolve, reject) => {
        const child = spawn(SIGNET, ['sign', '--key', 'extra-ca', file], {
          cwd: ROOT,
          env: { PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`, HOME: dir, SIGNET_ADDR: t.url, SIGNET_TOKEN: t.adminToken, ...env },
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('error', reject);
        child.on('close', (status) => resolve({ status: status ?? -1, stderr }));
      });
    const trusted = await run({ NODE_EXTRA_CA_CERTS: join(dir, 'tls.crt') });
    expect(trusted.stderr).toMatch(/signed .* with extra-ca/);
    expect(trusted.status).toBe(0);
    const untrusted = await run({});
    expect(untrusted.status).toBe(1);
    expect(untrusted.stderr).toMatch(/not trusted .*--ca-file/);
  });
});
