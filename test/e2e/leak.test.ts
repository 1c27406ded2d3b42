// Leak test: a full flow with logs captured. No private key bytes, token, passphrase or master key
// may appear in logs, error responses, or any file but the two that hold them by design
// (DATA/master.key, DATA/admin-token).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrCreateMasterKey } from '../../src/keys/master-key.js';
import { KeyService } from '../../src/keys/key-service.js';
import { requireTools } from '../helpers/tools.js';
import { Gpg } from '../helpers/gpg.js';
import { api, startTestServer, type TestServer } from '../helpers/server.js';

const PASSPHRASE = 'leak-test passphrase 7Q';

function variants(bytes: Buffer): string[] {
  return [bytes.toString('hex'), bytes.toString('hex').toUpperCase(), bytes.toString('base64'), bytes.toString('base64url')].filter((s) => s.length >= 16);
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

describe('no secret leaks', () => {
  let t: TestServer;
  const responses: string[] = [];

  beforeAll(async () => {
    requireTools('gpg');
    t = await startTestServer({ logLevel: 'trace' });
    const call = async (...args: Parameters<typeof api>) => {
      const r = await api(...args);
      responses.push(r.text);
      return r;
    };
    await call(t, 'POST', '/v1/keys', { token: t.adminToken, json: { name: 'rsa', algorithm: 'rsa4096', user_id: 'R <r@example.org>' } });
    await call(t, 'POST', '/v1/keys', { token: t.adminToken, json: { name: 'ed', algorithm: 'ed25519', user_id: 'E <e@example.org>' } });
    const g = new Gpg();
    try {
      g.run(['--passphrase', PASSPHRASE, '--pinentry-mode', 'loopback', '--quick-gen-key', 'Imp <imp@example.org>', 'ed25519', 'sign', 'never']);
      const exported = g.run(['--passphrase', PASSPHRASE, '--pinentry-mode', 'loopback', '--armor', '--export-secret-keys']).stdout;
      await call(t, 'POST', '/v1/keys/import', { token: t.adminToken, json: { name: 'imp', secret_key: exported, passphrase: 'wrong passphrase 9Z' } });
      await call(t, 'POST', '/v1/keys/import', { token: t.adminToken, json: { name: 'imp', secret_key: exported, passphrase: PASSPHRASE } });
    } finally {
      g.close();
    }
    for (const key of ['rsa', 'ed', 'imp']) {
      await call(t, 'POST', `/v1/sign/${key}?name=a.tar`, { token: t.adminToken, body: 'artifact' });
      await call(t, 'POST', `/v1/sign/${key}?clear=1`, { token: t.adminToken, body: 'text' });
    }
    await call(t, 'GET', '/v1/keys', { token: `${t.adminToken.slice(0, -1)}x` });
    await call(t, 'POST', '/v1/sign/ed', { token: t.adminToken, body: '' });
    await call(t, 'GET', '/metrics');
  }, 120_000);

  afterAll(async () => {
    await t?.close();
  });

  it('keeps every secret out of logs, responses and stored files', async () => {
    const master = await loadOrCreateMasterKey({ dataDir: t.dataDir });
    const keys = new KeyService(t.server.store, master.key);
    const secrets: Array<[string, string]> = [];
    secrets.push(['admin token', t.adminToken]);
    secrets.push(['passphrase', PASSPHRASE]);
    secrets.push(['wrong passphrase', 'wrong passphrase 9Z']);
    for (const v of variants(master.key.reveal())) secrets.push(['master key', v]);
    for (const name of ['rsa', 'ed', 'imp']) {
      const { privateKey: signingKey } = await keys.signer(name);
      if (!(signingKey instanceof KeyObject)) throw new Error('expected a node:crypto key');
      const privateKey = signingKey;
      for (const v of variants(privateKey.export({ format: 'der', type: 'pkcs8' }))) secrets.push([`${name} pkcs8`, v]);
      const jwk = privateKey.export({ format: 'jwk' });
      for (const field of ['d', 'p', 'q'] as const) {
        const value = jwk[field];
        if (typeof value === 'string') {
          secrets.push([`${name} ${field}`, value]);
          for (const v of variants(Buffer.from(value, 'base64url'))) secrets.push([`${name} ${field}`, v]);
        }
      }
    }
    expect(t.logs.length).toBeGreaterThan(10);
    const haystacks: Array<[string, string]> = [
      ['logs', t.logs.join('\n')],
      ['responses', responses.join('\n')],
    ];
    for (const file of filesUnder(t.dataDir)) {
      const base = file.slice(t.dataDir.length + 1);
      if (base === 'master.key' || base === 'admin-token') continue;
      if (statSync(file).size > 64 * 1024 * 1024) continue;
      haystacks.push([`data/${base}`, readFileSync(file).toString('latin1')]);
      // Raw binary forms too: the DB must hold no plaintext key or token bytes.
      haystacks.push([`data/${base} (hex)`, readFileSync(file).toString('hex')]);
    }
    for (const [where, text] of haystacks) {
      for (const [what, secret] of secrets) {
        expect(text.includes(secret), `${what} found in ${where}`).toBe(false);
      }
    }
  });

  it('logs name the request, key and artifact', () => {
    const signs = t.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.event === 'sign');
    expect(signs.length).toBe(6);
    expect(signs[0]).toMatchObject({ key: 'rsa', artifact: 'a.tar', status: 200 });
    expect(typeof signs[0]?.reqId).toBe('string');
    expect(typeof signs[0]?.token).toBe('string');
  });
});
