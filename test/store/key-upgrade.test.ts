// A store written before key versions existed (schema 1–2) upgrades through migrations 3–4 on
// both engines without losing a key: every key becomes its own first version and still signs,
// with the same fingerprint, through the key service.
import { randomBytes, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { KeyService } from '../../src/keys/key-service.js';
import { sealPrivateKey } from '../../src/keys/seal.js';
import { generateKey, parseTransferablePublicKey, signDetachedWith, verifyDetached } from '../../src/openpgp/index.js';
import { Secret } from '../../src/secret.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { MIGRATIONS as PG_MIGRATIONS, migrate as pgMigrate } from '../../src/store/postgres/migrations.js';
import { keyValues } from '../../src/store/rows.js';
import { MIGRATIONS } from '../../src/store/sqlite/migrations.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { KeyRecord, Store } from '../../src/store/types.js';
import { usePgCluster } from './fixtures.js';

const master = new Secret(randomBytes(32));
// A store from before key versions (3–4) and backends (5).
const OLD = (v: number): boolean => v !== 3 && v !== 4 && v !== 5 && v < 30;

/** A key row exactly as the key service wrote it before versions existed. */
async function legacyKey(name: string, algorithm: 'ed25519' | 'rsa4096', state: 'active' | 'revoked' = 'active'): Promise<KeyRecord> {
  const g = await generateKey({ algorithm, userId: `${name} <${name}@example.org>` });
  const fingerprint = g.info.fingerprint.toString('hex').toUpperCase();
  const pkcs8 = (g.privateKey as KeyObject).export({ format: 'der', type: 'pkcs8' });
  const sealed = sealPrivateKey(master, { name, fingerprint }, pkcs8);
  return {
    name, fingerprint, keyId: g.info.keyId.toString('hex').toUpperCase(), algorithm, userId: g.userIds[0]!, keyCreatedAt: g.info.creationTime,
    publicKey: g.transferablePublicKey, sealedSecret: sealed.sealedSecret, wrappedDataKey: sealed.wrappedDataKey, origin: 'generated',
    state, purposes: ['detached'], createdAt: Date.now(), backend: 'sealed', tokenRef: null,
  };
}

async function checkUpgraded(store: Store, keys: KeyRecord[]): Promise<void> {
  const service = new KeyService(store, master);
  for (const k of keys) {
    const [only, ...rest] = await store.keyVersions.list(k.name);
    expect(rest).toEqual([]);
    expect(only).toMatchObject({ fingerprint: k.fingerprint, backend: 'sealed', state: k.state === 'revoked' ? 'revoked' : 'active' });
    if (k.state === 'revoked') {
      await expect(service.signer(k.name)).rejects.toMatchObject({ code: 'KEY_REVOKED' });
      continue;
    }
    const signer = await service.signer(k.name);
    expect(signer.info.fingerprint.toString('hex').toUpperCase()).toBe(k.fingerprint);
    const data = Buffer.from('signed after the upgrade');
    const sig = await signDetachedWith(data, signer.signDigest, { type: 0x00, hashAlgorithm: 'sha256', creationTime: Math.floor(Date.now() / 1000), signer: signer.info });
    const result = verifyDetached(data, sig, [parseTransferablePublicKey((await store.getKey(k.name))!.publicKey).info]);
    expect(result.ok && result.signer.fingerprint.toString('hex').toUpperCase()).toBe(k.fingerprint);
  }
}

describe('key versions: upgrading a store made before them', () => {
  it('SQLite', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'signet-upgrade-'));
    try {
      const path = join(dir, 'signet.db');
      const db = new Database(path);
      db.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)');
      for (const m of MIGRATIONS.filter((m) => OLD(m.version))) {
        db.exec(m.sqlite);
        db.prepare('INSERT INTO schema_migrations VALUES (?, 0)').run(m.version);
      }
      const keys = [await legacyKey('ed', 'ed25519'), await legacyKey('rsa', 'rsa4096'), await legacyKey('gone', 'ed25519', 'revoked')];
      for (const k of keys) db.prepare('INSERT INTO keys VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').run(...keyValues(k).slice(0, 13));
      db.close();
      const store = SqliteStore.open(path);
      await store.migrate();
      try {
        await checkUpgraded(store, keys);
      } finally {
        await store.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const cluster = usePgCluster();
  it('PostgreSQL', async () => {
    const store = PostgresStore.open(await cluster().createDatabase());
    try {
      await pgMigrate(store.db, PG_MIGRATIONS.filter((m) => OLD(m.version)));
      const keys = [await legacyKey('ed', 'ed25519'), await legacyKey('rsa', 'rsa4096'), await legacyKey('gone', 'ed25519', 'revoked')];
      for (const k of keys) {
        await store.db.query(
          `INSERT INTO keys (name, fingerprint, key_id, algorithm, user_id, key_created_at, public_key, sealed_secret, wrapped_data_key, origin, state, created_at, purposes)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
          keyValues(k).slice(0, 13),
        );
      }
      await store.migrate();
      await checkUpgraded(store, keys);
    } finally {
      await store.close();
    }
  });
});
