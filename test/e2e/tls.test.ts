// TLS: the server speaks TLS 1.3 only by default; the client trusts a private CA via --ca-file.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignetClient } from '../../src/client/client.js';
import { requireTools } from '../helpers/tools.js';
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
});
