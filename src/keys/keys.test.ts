// Keys at rest (docs/security.md "Keys at rest"): tamper, swap and wrong-master-key cases fail closed.
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Secret } from '../secret.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { KeyService } from './key-service.js';
import { loadOrCreateMasterKey, verifyMasterKey } from './master-key.js';
import { sealPrivateKey, unsealPrivateKey } from './seal.js';
import { signDetachedWith, verifyDetached } from '../openpgp/index.js';

describe('sealing', () => {
  const master = new Secret(randomBytes(32));
  const binding = { name: 'rel', fingerprint: 'AB'.repeat(20) };
  const pkcs8 = randomBytes(48);

  it('round-trips and binds name and fingerprint', () => {
    const sealed = sealPrivateKey(master, binding, pkcs8);
    expect(unsealPrivateKey(master, binding, sealed).reveal()).toEqual(pkcs8);
    expect(() => unsealPrivateKey(master, { ...binding, name: 'other' }, sealed)).toThrow(expect.objectContaining({ code: 'KEY_DECRYPT_FAILED' }));
    expect(() => unsealPrivateKey(master, { ...binding, fingerprint: 'CD'.repeat(20) }, sealed)).toThrow(expect.objectContaining({ code: 'KEY_DECRYPT_FAILED' }));
    expect(() => unsealPrivateKey(new Secret(randomBytes(32)), binding, sealed)).toThrow(expect.objectContaining({ code: 'KEY_DECRYPT_FAILED' }));
  });

  it('fails closed on every single-byte change of either blob', () => {
    const sealed = sealPrivateKey(master, binding, pkcs8);
    for (const field of ['sealedSecret', 'wrappedDataKey'] as const) {
      for (let i = 0; i < sealed[field].length; i++) {
        const copy = Buffer.from(sealed[field]);
        copy[i] = (copy[i] as number) ^ 0x01;
        expect(() => unsealPrivateKey(master, binding, { ...sealed, [field]: copy })).toThrow(expect.objectContaining({ code: 'KEY_DECRYPT_FAILED' }));
      }
    }
  });

  it('never reuses a nonce across 10,000 seals', () => {
    const nonces = new Set<string>();
    for (let i = 0; i < 10_000; i++) {
      const s = sealPrivateKey(master, binding, pkcs8);
      nonces.add(s.sealedSecret.subarray(1, 13).toString('hex'));
      nonces.add(s.wrappedDataKey.subarray(1, 13).toString('hex'));
    }
    expect(nonces.size).toBe(20_000);
  });
});

describe('master key and KeyService', () => {
  let dir: string;
  let store: SqliteStore;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'signet-keys-'));
    store = SqliteStore.open(join(dir, 'signet.db'));
    await store.migrate();
  });

  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates the master key 0600 in a 0700 data dir and reads it back', async () => {
    const data = join(dir, 'data');
    const a = await loadOrCreateMasterKey({ dataDir: data });
    expect(a.created).toBe(true);
    expect(statSync(data).mode & 0o777).toBe(0o700);
    expect(statSync(a.path).mode & 0o777).toBe(0o600);
    const b = await loadOrCreateMasterKey({ dataDir: data });
    expect(b.created).toBe(false);
    expect(b.key.reveal()).toEqual(a.key.reveal());
  });

  it('refuses a malformed master key file without echoing it', async () => {
    const file = join(dir, 'bad.key');
    writeFileSync(file, 'signet-master-key-v1:SECRETSECRETSECRET\n', { mode: 0o600 });
    const err = await loadOrCreateMasterKey({ dataDir: dir, masterKeyFile: file }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'MASTER_KEY_UNREADABLE' });
    expect(String((err as Error).message)).not.toContain('SECRETSECRET');
    await expect(loadOrCreateMasterKey({ dataDir: dir, masterKeyFile: join(dir, 'missing.key') })).rejects.toMatchObject({ code: 'MASTER_KEY_UNREADABLE' });
  });

  it('refuses a different master key and leaves the check value alone', async () => {
    const master = new Secret(randomBytes(32));
    await verifyMasterKey(store, master);
    const check = await store.getMeta('master_key_check');
    await expect(verifyMasterKey(store, new Secret(randomBytes(32)))).rejects.toMatchObject({ code: 'MASTER_KEY_MISMATCH' });
    expect(await store.getMeta('master_key_check')).toBe(check);
    await verifyMasterKey(store, master);
  });

  it('creates keys that sign; swapped blobs fail with no fallback', async () => {
    const master = new Secret(randomBytes(32));
    const keys = new KeyService(store, master);
    const a = await keys.create('a', { algorithm: 'ed25519', userId: 'A <a@example.org>' });
    const b = await keys.create('b', { algorithm: 'ed25519', userId: 'B <b@example.org>' });
    const signer = await keys.signer('a');
    const sig = await signDetachedWith(Buffer.from('x'), signer.signDigest, { type: 0x00, hashAlgorithm: 'sha256', creationTime: 1_700_000_000, signer: signer.info });
    expect(verifyDetached(Buffer.from('x'), sig, [signer.info]).ok).toBe(true);
    for (const record of [a, b]) {
      expect(JSON.stringify(record)).not.toContain(master.reveal().toString('base64'));
      expect(inspect(master)).toBe('[redacted]');
    }
    // Swap the sealed blobs of a and b in the database: both keys must now fail.
    const path = join(dir, 'signet.db');
    await store.close();
    const Database = (await import('better-sqlite3')).default;
    const db = new Database(path);
    db.prepare('UPDATE keys SET sealed_secret = ?, wrapped_data_key = ? WHERE name = ?').run(b.sealedSecret, b.wrappedDataKey, 'a');
    db.prepare('UPDATE keys SET sealed_secret = ?, wrapped_data_key = ? WHERE name = ?').run(a.sealedSecret, a.wrappedDataKey, 'b');
    db.close();
    store = SqliteStore.open(path);
    const fresh = new KeyService(store, master);
    await expect(fresh.signer('a')).rejects.toMatchObject({ code: 'KEY_DECRYPT_FAILED' });
    await expect(fresh.signer('b')).rejects.toMatchObject({ code: 'KEY_DECRYPT_FAILED' });
  });

  it('validates names and refuses revoked keys', async () => {
    const keys = new KeyService(store, new Secret(randomBytes(32)));
    for (const bad of ['', 'A', '../x', 'a/b', 'a%2Fb', '*', 'a\u0000', 'ａ', 'a..b', 'x'.repeat(65)]) {
      await expect(keys.create(bad, { algorithm: 'ed25519', userId: 'u' })).rejects.toMatchObject({ code: 'NAME_INVALID' });
    }
    await keys.create('r', { algorithm: 'ed25519', userId: 'R <r@example.org>' });
    await keys.signer('r');
    await keys.revoke('r');
    await expect(keys.signer('r')).rejects.toMatchObject({ code: 'KEY_REVOKED' });
    await expect(keys.get('missing')).rejects.toMatchObject({ code: 'KEY_NOT_FOUND' });
  });

  it('stops signing with a key revoked through another node within the revalidation time', async () => {
    let now = 1_000_000;
    const master = new Secret(randomBytes(32));
    const nodeA = new KeyService(store, master, () => now, { revalidateMs: 2000 });
    const nodeB = new KeyService(store, master, () => now, { revalidateMs: 2000 });
    await nodeA.create('shared', { algorithm: 'ed25519', userId: 'S <s@example.org>' });
    await nodeB.signer('shared');
    await nodeA.revoke('shared');
    now += 1999;
    await nodeB.signer('shared'); // still cached
    now += 2;
    await expect(nodeB.signer('shared')).rejects.toMatchObject({ code: 'KEY_REVOKED' });
  });
});
