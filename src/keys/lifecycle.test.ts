// The key lifecycle's refusals (docs/keys.md), as an attacker or a careless operator would meet
// them: an expired, disabled, deleted or revoked key does not sign, on this node at once and on
// another within the revalidation time; a revoked version is not accepted by the CLI's check.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Secret } from '../secret.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { KeyService } from './key-service.js';
import { parseKeyring, signDetachedWith, signingKeysOf, verifyDetached } from '../openpgp/index.js';
import { lintCertificate } from '../openpgp/lint.js';
import { encodePacket, readPackets } from '../openpgp/packet.js';
import { wkdHash, zbase32 } from '../openpgp/wkd.js';

describe('key lifecycle', () => {
  let dir: string;
  let store: SqliteStore;
  let now: number;
  const master = new Secret(randomBytes(32));
  const service = () => new KeyService(store, master, () => now, { revalidateMs: 2000 });

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'signet-lifecycle-'));
    store = SqliteStore.open(join(dir, 'signet.db'));
    await store.migrate();
    now = Date.now();
  });

  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const signs = async (keys: KeyService, name: string): Promise<string> => {
    const signer = await keys.signer(name);
    const data = Buffer.from('artifact');
    const sig = await signDetachedWith(data, signer.signDigest, { type: 0x00, hashAlgorithm: 'sha256', creationTime: Math.floor(now / 1000), signer: signer.info });
    const result = verifyDetached(data, sig, signingKeysOf((await keys.get(name)).publicKey));
    expect(result.ok).toBe(true);
    return signer.info.fingerprint.toString('hex').toUpperCase();
  };

  it('an expired key does not sign; a later expiry or --never lets it sign again', async () => {
    const keys = service();
    await keys.create('exp', { algorithm: 'ed25519', userId: 'E <e@example.org>' });
    const created = Math.floor(now / 1000);
    await keys.lifecycle.expire('exp', created + 100);
    keys.forget('exp');
    await signs(keys, 'exp');
    now += 101_000;
    await expect(keys.signer('exp')).rejects.toMatchObject({ code: 'KEY_EXPIRED' });
    // Another node, with a fresh cache, refuses too.
    await expect(service().signer('exp')).rejects.toMatchObject({ code: 'KEY_EXPIRED' });
    await keys.lifecycle.expire('exp', null);
    expect(parseKeyring((await keys.get('exp')).publicKey)[0]!.expiresAt).toBeNull();
    await signs(keys, 'exp');
  });

  it('a disabled key does not sign on another node within the revalidation time; enable restores it', async () => {
    const a = service();
    const b = service();
    await a.create('dis', { algorithm: 'ed25519', userId: 'D <d@example.org>' });
    await signs(b, 'dis');
    await a.lifecycle.setEnabled('dis', false);
    now += 2001;
    await expect(b.signer('dis')).rejects.toMatchObject({ code: 'KEY_DISABLED' });
    await a.lifecycle.setEnabled('dis', true);
    await signs(b, 'dis');
  });

  it('delete erases every secret (versions, subkeys) and refuses signing; the certificate stays', async () => {
    const keys = service();
    await keys.create('del', { algorithm: 'ed25519', userId: 'D <del@example.org>' });
    await keys.lifecycle.addSubkey('del', 'ed25519');
    await keys.lifecycle.rotate('del', { overlapMs: null });
    await expect(keys.lifecycle.delete('del', false)).rejects.toMatchObject({ code: 'KEY_FORCE_REQUIRED' });
    await keys.lifecycle.delete('del', true);
    keys.forget('del');
    await expect(keys.signer('del')).rejects.toMatchObject({ code: 'KEY_DELETED' });
    expect((await store.getKey('del'))!.sealedSecret.length).toBe(0);
    expect((await store.keyVersions.list('del')).every((v) => v.sealedSecret === null && v.wrappedDataKey === null)).toBe(true);
    expect((await store.keyVersions.listSubkeys('del')).every((s) => s.sealedSecret === null)).toBe(true);
    const { certificates } = await keys.lifecycle.keyring('del');
    expect(certificates).toHaveLength(2);
    await expect(keys.lifecycle.rotate('del', { overlapMs: null })).rejects.toMatchObject({ code: 'KEY_DELETED' });
  });

  it('revoking the current version (by fingerprint) stops signing; revoking an old one does not', async () => {
    const keys = service();
    await keys.create('rev', { algorithm: 'ed25519', userId: 'R <rev@example.org>' });
    const { previous, next } = await keys.lifecycle.rotate('rev', { overlapMs: 86_400_000 });
    await keys.revoke('rev', { version: previous.fingerprint, reason: 'superseded' });
    expect(await signs(keys, 'rev')).toBe(next.fingerprint);
    await keys.revoke('rev', { version: next.fingerprint, reason: 'compromised' });
    await expect(keys.signer('rev')).rejects.toMatchObject({ code: 'KEY_REVOKED' });
    await expect(service().signer('rev')).rejects.toMatchObject({ code: 'KEY_REVOKED' });
    // The CLI's verify-before-write accepts no key of a revoked certificate.
    const keyring = Buffer.concat((await keys.lifecycle.keyring('rev')).certificates);
    expect(parseKeyring(keyring).map((c) => c.revoked)).toEqual([true, true]);
    expect(signingKeysOf(keyring)).toEqual([]);
    await expect(keys.revoke('rev', { version: 'AB'.repeat(20), reason: 'retired' })).rejects.toMatchObject({ code: 'KEY_VERSION_NOT_FOUND' });
  });

  it('a retired version leaves the keyring when its overlap ends; a revoked one never does', async () => {
    const keys = service();
    await keys.create('ov', { algorithm: 'ed25519', userId: 'O <ov@example.org>' });
    const first = await keys.lifecycle.rotate('ov', { overlapMs: 1000 });
    expect((await keys.lifecycle.keyring('ov')).certificates).toHaveLength(2);
    now += 1001;
    expect((await keys.lifecycle.keyring('ov')).versions.map((v) => v.fingerprint)).toEqual([first.next.fingerprint]);
    await keys.revoke('ov', { version: first.previous.fingerprint, reason: 'retired' });
    expect((await keys.lifecycle.keyring('ov')).versions.map((v) => v.fingerprint)).toEqual([first.next.fingerprint, first.previous.fingerprint]);
  });

  it('a signing subkey signs in place of the primary, on every node after the change', async () => {
    const a = service();
    const b = service();
    const record = await a.create('sub', { algorithm: 'ed25519', userId: 'S <sub@example.org>' });
    expect(await signs(b, 'sub')).toBe(record.fingerprint);
    const subkey = await a.lifecycle.addSubkey('sub', 'ed25519');
    now += 2001;
    expect(await signs(b, 'sub')).toBe(subkey.fingerprint);
    expect(lintCertificate((await a.get('sub')).publicKey, { newKey: true })).toEqual([]);
  });
});

describe('lint', () => {
  it('names a signing subkey binding without its back-signature', () => {
    // A binding signature (0x18) with key flags "sign" and no embedded signature (subpacket 32).
    const hashed = Buffer.from([2, 27, 0x02, 5, 2, 0, 0, 0, 1]);
    const body = Buffer.concat([Buffer.from([4, 0x18, 22, 8, 0, hashed.length]), hashed, Buffer.from([0, 0, 0, 0]), Buffer.from([0, 8, 0xff, 0, 8, 0xff])]);
    const findings = lintCertificate(encodePacket(2, body), { newKey: false });
    expect(findings.map((f) => f.code)).toEqual(['missing-backsig']);
    expect(readPackets(encodePacket(2, body))).toHaveLength(1);
  });
});

describe('WKD', () => {
  it('hashes the local part as the Web Key Directory draft example shows', () => {
    // draft-koch-openpgp-webkey-service §3.1: Joe.Doe@Example.ORG -> iy9q119eutrkn8s1mk4r39qejnbu3n5q
    expect(wkdHash('Joe.Doe')).toBe('iy9q119eutrkn8s1mk4r39qejnbu3n5q');
    expect(zbase32(Buffer.alloc(0))).toBe('');
  });
});
