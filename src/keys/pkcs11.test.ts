// The pkcs11 backend against a throwaway SoftHSM2 token: keys are made inside the token and
// cannot be read or wrapped out of it, every algorithm signs what our verifier accepts, a
// missing key, a wrong PIN or a loose PIN file is refused with a stable code, and the token's
// AES key wraps sealed keys' data keys.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseKeyring, signDetachedWith, signingKeysOf, verifyDetached, type KeyAlgorithm } from '../openpgp/index.js';
import { Secret } from '../secret.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import type { KeyRecord } from '../store/types.js';
import { createSoftHsm, type SoftHsm } from '../../test/helpers/softhsm.js';
import { KeyService } from './key-service.js';
import { Pkcs11Backend, parseTokenRef } from './pkcs11-backend.js';
import { tokenMasterWrapper } from './pkcs11-master.js';
import { Pkcs11Token } from './pkcs11.js';
import { sealPrivateKey, unsealPrivateKey } from './seal.js';

let hsm: SoftHsm;
let token: { label: string; pinFile: string };
/** A second token for the PIN tests (SoftHSM sees only tokens made before it is initialised). */
let second: { label: string; pinFile: string };
let backend: Pkcs11Backend;
let dir: string;
let store: SqliteStore;

beforeAll(async () => {
  hsm = createSoftHsm();
  process.env.SOFTHSM2_CONF = hsm.conf;
  token = hsm.addToken('signet-unit');
  second = hsm.addToken('signet-pin');
  backend = new Pkcs11Backend({ module: hsm.module, tokenLabel: token.label, pinFile: token.pinFile });
  dir = mkdtempSync(join(tmpdir(), 'signet-pkcs11-'));
  store = SqliteStore.open(join(dir, 'signet.db'));
  await store.migrate();
});

afterAll(async () => {
  await backend?.close();
  await store?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  hsm?.remove();
});

/** The private object of a key as the token has it, and the token's attribute calls. */
function privateObject(record: Pick<KeyRecord, 'name' | 'tokenRef'>): { find: () => Buffer; t: Pkcs11Token } {
  const t = backend.token;
  const c = t.constants;
  const id = Buffer.from(parseTokenRef(record).id, 'hex');
  return {
    t,
    find: () => t.withSessionSync((s) => t.find(s, [{ type: c.CKA_CLASS, value: c.CKO_PRIVATE_KEY }, { type: c.CKA_ID, value: id }])[0] as Buffer),
  };
}

describe('pkcs11 backend (SoftHSM2)', () => {
  const algorithms: KeyAlgorithm[] = ['ed25519', 'ecdsa-p256', 'rsa4096'];
  const made: Partial<Record<KeyAlgorithm, KeyRecord>> = {};

  it.each(algorithms)('%s: made in the token, self-certified and signing through the handle', async (algorithm) => {
    const keys = new KeyService(store, new Secret(randomBytes(32)), undefined, { pkcs11: backend });
    const record = await keys.create(`hsm-${algorithm}`, { algorithm, userId: `HSM ${algorithm} <hsm@example.org>`, backend: 'pkcs11' });
    made[algorithm] = record;
    expect(record.backend).toBe('pkcs11');
    expect(record.sealedSecret.length + record.wrappedDataKey.length).toBe(0);
    expect(parseTokenRef(record).label).toBe(`signet:hsm-${algorithm}`);
    const signer = await keys.signer(record.name);
    const data = Buffer.from(`signed by a token ${algorithm}\n`);
    const sig = await signDetachedWith(data, signer.signDigest, { type: 0x00, hashAlgorithm: algorithm === 'rsa4096' ? 'sha512' : 'sha256', creationTime: 1_750_000_000, signer: signer.info });
    expect(verifyDetached(data, sig, [signer.info]).ok).toBe(true);
    expect(verifyDetached(Buffer.from('tampered'), sig, [signer.info])).toMatchObject({ ok: false, reason: 'BAD_SIGNATURE' });
  }, 120_000);

  it('keeps private keys inside: sensitive, not extractable, value unreadable, wrapping refused', async () => {
    for (const algorithm of algorithms) {
      const record = made[algorithm];
      expect(record, `${algorithm} key was made`).toBeDefined();
      const { t, find } = privateObject(record as KeyRecord);
      const c = t.constants;
      const object = find();
      const flags = t.withSessionSync((s) => t.p.C_GetAttributeValue(s, object, [{ type: c.CKA_SENSITIVE }, { type: c.CKA_EXTRACTABLE },
        { type: c.CKA_ALWAYS_SENSITIVE }, { type: c.CKA_NEVER_EXTRACTABLE }]));
      expect(flags.map((a) => (a.value as Buffer)[0])).toEqual([1, 0, 1, 1]);
      // What an attacker holding the PIN would try: read the secret value out.
      const secretAttribute = algorithm === 'rsa4096' ? c.CKA_PRIVATE_EXPONENT : c.CKA_VALUE;
      expect(() => t.withSessionSync((s) => t.p.C_GetAttributeValue(s, object, [{ type: secretAttribute }])), algorithm)
        .toThrow(expect.objectContaining({ code: c.CKR_ATTRIBUTE_SENSITIVE }));
      // ... or wrap it out under a key of their own.
      const wrapping = t.withSessionSync((s) => t.p.C_GenerateKey(s, { mechanism: c.CKM_AES_KEY_GEN }, [
        { type: c.CKA_VALUE_LEN, value: 32 }, { type: c.CKA_WRAP, value: true }, { type: c.CKA_EXTRACTABLE, value: true }]));
      expect(() => t.withSessionSync((s) => t.p.C_WrapKey(s, { mechanism: c.CKM_AES_KEY_WRAP_PAD }, wrapping, object, Buffer.alloc(8192))), algorithm)
        .toThrow(expect.objectContaining({ code: c.CKR_KEY_UNEXTRACTABLE }));
    }
  });

  it('imports a software key into the token as a non-extractable object', async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    const { publicKeyInfo, buildTransferablePublicKey } = await import('../openpgp/index.js');
    const { privateKey } = generateKeyPairSync('ed25519');
    const info = publicKeyInfo(privateKey, 1_750_000_000);
    const tpk = await buildTransferablePublicKey(info, privateKey, 'Imported <i@example.org>', 1_750_000_000);
    const keys = new KeyService(store, new Secret(randomBytes(32)), undefined, { pkcs11: backend });
    const record = await keys.importSecret('hsm-imported', privateKey, info, tpk, ['Imported <i@example.org>'], undefined, 'pkcs11');
    expect(record.backend).toBe('pkcs11');
    const signer = await keys.signer('hsm-imported');
    const sig = await signDetachedWith(Buffer.from('x'), signer.signDigest, { type: 0x00, hashAlgorithm: 'sha256', creationTime: 1_750_000_001, signer: signer.info });
    expect(verifyDetached(Buffer.from('x'), sig, [info]).ok).toBe(true);
    const { t, find } = privateObject(record);
    expect(() => t.withSessionSync((s) => t.p.C_GetAttributeValue(s, find(), [{ type: t.constants.CKA_VALUE }])))
      .toThrow(expect.objectContaining({ code: t.constants.CKR_ATTRIBUTE_SENSITIVE }));
  });

  it('refuses a key the token does not hold, and a server without the backend', async () => {
    const record = made.ed25519 as KeyRecord;
    const missing = { ...record, tokenRef: JSON.stringify({ id: 'ab'.repeat(16), label: 'signet:gone' }) };
    await expect(backend.open(missing)).rejects.toMatchObject({ code: 'KEY_TOKEN_UNAVAILABLE' });
    const noToken = new KeyService(store, new Secret(randomBytes(32)));
    await expect(noToken.signer(record.name)).rejects.toMatchObject({ code: 'KEY_BACKEND_UNAVAILABLE' });
    await expect(noToken.create('x', { algorithm: 'ed25519', userId: 'x <x@example.org>', backend: 'pkcs11' })).rejects.toMatchObject({ code: 'KEY_BACKEND_UNAVAILABLE' });
    // ECDSA keys exist only in tokens.
    await expect(noToken.create('y', { algorithm: 'ecdsa-p256', userId: 'y <y@example.org>' })).rejects.toMatchObject({ code: 'ALGORITHM_UNSUPPORTED' });
  });

  it('a key whose token object answers with another public key is refused', async () => {
    // Point the record of the Ed25519 key at the ECDSA key's objects (a swapped reference).
    const keys = new KeyService(store, new Secret(randomBytes(32)), undefined, { pkcs11: backend });
    const ed = made.ed25519 as KeyRecord;
    const other = await keys.create('hsm-other', { algorithm: 'ed25519', userId: 'other <o@example.org>', backend: 'pkcs11' });
    const swapped = { ...ed, name: 'swapped', tokenRef: other.tokenRef };
    const db = (await import('better-sqlite3')).default;
    const raw = new db(join(dir, 'signet.db'));
    raw.prepare('UPDATE keys SET token_ref = ? WHERE name = ?').run(swapped.tokenRef, ed.name);
    raw.close();
    await expect(keys.signer(ed.name)).rejects.toMatchObject({ code: 'KEY_DECRYPT_FAILED' });
  });

  it('refuses a PIN file others can read, and a wrong PIN, without printing the PIN', () => {
    const loose = join(dir, 'loose.pin');
    writeFileSync(loose, '1234\n', { mode: 0o644 });
    chmodSync(loose, 0o644);
    expect(() => Pkcs11Token.open({ module: hsm.module, tokenLabel: second.label, pinFile: loose })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    const wrong = join(dir, 'wrong.pin');
    writeFileSync(wrong, 'not-the-pin-9f8e7d\n', { mode: 0o600 });
    let error: unknown;
    try {
      Pkcs11Token.open({ module: hsm.module, tokenLabel: second.label, pinFile: wrong });
    } catch (err) {
      error = err;
    }
    expect(error).toMatchObject({ code: 'KEY_TOKEN_UNAVAILABLE' });
    expect(String((error as Error).message)).toContain('CKR_PIN_INCORRECT');
    expect(String((error as Error).message)).not.toContain('not-the-pin');
    expect(() => Pkcs11Token.open({ module: hsm.module, tokenLabel: 'no-such-token', pinFile: token.pinFile })).toThrow(expect.objectContaining({ code: 'KEY_TOKEN_UNAVAILABLE' }));
  });

  it('the token master key wraps data keys: round trip, tamper refused, master.key alone refused', async () => {
    const fileMaster = new Secret(randomBytes(32));
    const wrapper = await tokenMasterWrapper(store, backend.token, fileMaster);
    const binding = { name: 'k', fingerprint: 'F'.repeat(40) };
    const pkcs8 = randomBytes(48);
    const sealed = sealPrivateKey(wrapper, binding, pkcs8);
    expect(sealed.wrappedDataKey[0]).toBe(2);
    expect(unsealPrivateKey(wrapper, binding, sealed).reveal().equals(pkcs8)).toBe(true);
    // Another binding (a swapped row) and an edited blob fail authentication.
    expect(() => unsealPrivateKey(wrapper, { ...binding, name: 'other' }, sealed)).toThrow(expect.objectContaining({ code: 'KEY_DECRYPT_FAILED' }));
    const edited = Buffer.from(sealed.wrappedDataKey);
    edited[edited.length - 1]! ^= 1;
    expect(() => unsealPrivateKey(wrapper, binding, { ...sealed, wrappedDataKey: edited })).toThrow(expect.objectContaining({ code: 'KEY_DECRYPT_FAILED' }));
    // The data dir and master.key without the token: refused with a code that says why.
    expect(() => unsealPrivateKey(fileMaster, binding, sealed)).toThrow(expect.objectContaining({ code: 'KEY_TOKEN_UNAVAILABLE' }));
    // A second start finds the same token key (recorded in the store), not a new one.
    const again = await tokenMasterWrapper(store, backend.token, fileMaster);
    expect(unsealPrivateKey(again, binding, sealed).reveal().equals(pkcs8)).toBe(true);
    // Keys sealed under master.key before the switch still open.
    const old = sealPrivateKey(fileMaster, binding, pkcs8);
    expect(unsealPrivateKey(again, binding, old).reveal().equals(pkcs8)).toBe(true);
  });

  it('the log key in the token signs checkpoints the verifier key opens', async () => {
    const { openNote, parseVerifierKey, signNote } = await import('../tlog/note.js');
    const { loadLogSigner } = await import('../tlog/service.js');
    const logStore = SqliteStore.open(join(dir, 'log.db'));
    await logStore.migrate();
    try {
      const master = new Secret(randomBytes(32));
      const signer = await loadLogSigner(logStore, master, 'example.org/log', backend, true);
      expect(JSON.parse((await logStore.getMeta('tlog_key')) as string)).toMatchObject({ v: 2, backend: 'pkcs11' });
      const note = signNote('example.org/log\n1\nAAAA\n', [signer]);
      expect(openNote(note, [parseVerifierKey(signer.verifierKey)]).verified).toHaveLength(1);
      // Reopened from the store: the same key.
      const reopened = await loadLogSigner(logStore, master, undefined, backend, true);
      expect(reopened.verifierKey).toBe(signer.verifierKey);
      // Without the token the log key is refused, not replaced.
      await expect(loadLogSigner(logStore, master, undefined)).rejects.toMatchObject({ code: 'KEY_BACKEND_UNAVAILABLE' });
    } finally {
      await logStore.close();
    }
  });

  it('the lifecycle of a token key: rotation makes the next version in the token, certified by the previous; expiry, a subkey and revocation are certified inside the token', async () => {
    const keys = new KeyService(store, new Secret(randomBytes(32)), undefined, { pkcs11: backend });
    const first = await keys.create('hsm-life', { algorithm: 'ed25519', userId: 'HSM life <life@example.org>', backend: 'pkcs11' });
    const signs = async (): Promise<string> => {
      keys.forget('hsm-life');
      const signer = await keys.signer('hsm-life');
      const data = randomBytes(64);
      const sig = await signDetachedWith(data, signer.signDigest, { type: 0x00, hashAlgorithm: 'sha256', creationTime: Math.floor(Date.now() / 1000), signer: signer.info });
      const { certificates } = await keys.lifecycle.keyring('hsm-life');
      expect(verifyDetached(data, sig, certificates.flatMap((c) => signingKeysOf(c))).ok).toBe(true);
      return signer.info.fingerprint.toString('hex').toUpperCase();
    };
    expect(await signs()).toBe(first.fingerprint);

    const { next } = await keys.lifecycle.rotate('hsm-life', { overlapMs: 60_000 });
    expect(next.backend).toBe('pkcs11');
    expect(next.tokenRef).not.toBeNull();
    expect(next.sealedSecret).toBeNull();
    expect(await signs()).toBe(next.fingerprint);
    // The new certificate carries the previous version's certification of its user ID.
    const view = parseKeyring(next.publicKey)[0]!;
    expect(view.primary.fingerprint.toString('hex').toUpperCase()).toBe(next.fingerprint);
    expect(next.publicKey.includes(Buffer.from(first.fingerprint, 'hex'))).toBe(true);

    const expiresAt = Math.floor(Date.now() / 1000) + 3600;
    await keys.lifecycle.expire('hsm-life', expiresAt);
    expect(parseKeyring((await keys.get('hsm-life')).publicKey)[0]!.expiresAt).toBe(expiresAt);

    const subkey = await keys.lifecycle.addSubkey('hsm-life', 'ed25519');
    expect(subkey.backend).toBe('sealed');
    expect(await signs()).toBe(subkey.fingerprint);

    await keys.revoke('hsm-life', { reason: 'retired' });
    expect(parseKeyring((await keys.get('hsm-life')).publicKey)[0]!.revoked).toBe(true);
    keys.forget('hsm-life');
    await expect(keys.signer('hsm-life')).rejects.toMatchObject({ code: 'KEY_REVOKED' });
  }, 180_000);
});

