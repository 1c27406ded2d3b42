// Signing keys: create, import, list, and hand the signing engine a decrypted KeyObject.
// Decrypted keys are cached in process memory only (never written, never returned by an API).
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { SignetError } from '../errors.js';
import { generateKey, publicKeyInfo, type KeyAlgorithm, type PublicKeyInfo } from '../openpgp/index.js';
import { ARTIFACT_KINDS, type ArtifactKind } from '../policy/kinds.js';
import type { Secret } from '../secret.js';
import type { KeyRecord, Store } from '../store/types.js';
import { NAME_PATTERN, hasUserIdControls, isValidName, nameRule } from '../names.js';
import { sealPrivateKey, unsealPrivateKey } from './seal.js';
import { KeyLifecycle, unseal, type RevokeReason } from './lifecycle.js';
import { lintCertificate, type LintFinding } from '../openpgp/lint.js';
import type { ImportedKeyring } from '../openpgp/secret-key.js';

/** Key names: what users type and what policies match; the one name rule (src/names.ts). */
export const KEY_NAME_PATTERN = NAME_PATTERN;

export function checkKeyName(name: string): void {
  if (!isValidName(name)) throw new SignetError('NAME_INVALID', nameRule('key'));
}

export interface KeySigner {
  readonly record: KeyRecord;
  readonly info: PublicKeyInfo;
  readonly privateKey: KeyObject;
}

export class KeyService {
  readonly #store: Store;
  readonly #master: Secret;
  readonly #now: () => number;
  readonly #signers = new Map<string, { signer: KeySigner; checkedAt: number }>();
  /** How long a cached signer is trusted before its state is read again (several nodes share
   *  one store: a key revoked on one node stops signing on all within this time). */
  readonly #revalidateMs: number;
  /** Versions, rotation, expiry, revocation, subkeys, export (src/keys/lifecycle.ts, docs/keys.md). */
  readonly lifecycle: KeyLifecycle;

  constructor(store: Store, master: Secret, now: () => number = Date.now, options: { revalidateMs?: number } = {}) {
    this.#store = store;
    this.#master = master;
    this.#now = now;
    this.#revalidateMs = options.revalidateMs ?? 2000;
    this.lifecycle = new KeyLifecycle(store, master, now);
  }

  /** Forget a name's cached signer on this node (lifecycle changes; other nodes re-read within
   *  the revalidation time). */
  forget(name: string): void {
    this.#signers.delete(name);
  }

  async create(name: string, options: { algorithm: KeyAlgorithm; userId: string; purposes?: readonly ArtifactKind[] }): Promise<KeyRecord> {
    checkKeyName(name);
    if (await this.#store.getKey(name)) throw new SignetError('KEY_EXISTS', `a key named ${name} exists`);
    const generated = await generateKey({ algorithm: options.algorithm, userId: options.userId });
    // A new certificate must pass every hygiene check (docs/keys.md "Hygiene").
    const findings = lintCertificate(generated.transferablePublicKey, { newKey: true }).filter((f) => f.severity === 'error');
    if (findings.length > 0) throw new SignetError('KEY_LINT_FAILED', findings.map((f) => f.message).join('; '));
    const record = await this.#insert(name, generated.privateKey, generated.info, generated.transferablePublicKey, generated.userIds, 'generated', options.purposes);
    await this.lifecycle.storeRevocationCertificate(name, record.fingerprint, generated);
    return record;
  }

  async importSecret(
    name: string,
    privateKey: KeyObject,
    info: PublicKeyInfo,
    transferablePublicKey: Buffer,
    userIds: string[],
    purposes?: readonly ArtifactKind[],
  ): Promise<KeyRecord> {
    checkKeyName(name);
    // A user ID is shown by `key list` and the gpg shim's listings, which tools parse line by
    // line: a newline in it could plant a line ("[GNUPG:] GOODSIG …"). Refused at the door.
    if (userIds.some(hasUserIdControls)) throw new SignetError('KEY_IMPORT_FAILED', 'a user ID of the key contains control characters');
    return this.#insert(name, privateKey, info, transferablePublicKey, userIds, 'imported', purposes);
  }

  /** Import what `gpg --export-secret-keys` or `--export-secret-subkeys` wrote: the primary (or,
   *  from a stub, only its public part: the primary stays offline) and its signing subkeys, the
   *  newest of which then signs. Returns the hygiene findings (docs/keys.md "Hygiene"): an
   *  import warns, it does not refuse. */
  async importKeyring(name: string, imported: ImportedKeyring, purposes?: readonly ArtifactKind[]): Promise<{ record: KeyRecord; findings: LintFinding[] }> {
    checkKeyName(name);
    if (imported.userIds.some(hasUserIdControls)) throw new SignetError('KEY_IMPORT_FAILED', 'a user ID of the key contains control characters');
    const findings = lintCertificate(imported.transferablePublicKey, { newKey: false });
    const record = await this.#insert(name, imported.privateKey, imported.info, imported.transferablePublicKey, imported.userIds, 'imported', purposes);
    // Oldest first, so the newest signing subkey ends up the active one.
    for (const sub of [...imported.signingSubkeys].reverse()) {
      const fingerprint = sub.info.fingerprint.toString('hex').toUpperCase();
      const pkcs8 = sub.privateKey.export({ format: 'der', type: 'pkcs8' });
      const sealed = sealPrivateKey(this.#master, { name, fingerprint }, pkcs8);
      pkcs8.fill(0);
      await this.#store.keyVersions.addSubkey({
        fingerprint, keyName: name, primaryFingerprint: record.fingerprint, keyId: sub.info.keyId.toString('hex').toUpperCase(),
        algorithm: sub.info.algorithm, keyCreatedAt: sub.info.creationTime, sealedSecret: sealed.sealedSecret, wrappedDataKey: sealed.wrappedDataKey,
        backend: 'sealed', state: 'active', createdAt: this.#now(),
      }, record.publicKey);
    }
    if (imported.privateKey) await this.lifecycle.storeRevocationCertificate(name, record.fingerprint, { info: imported.info, privateKey: imported.privateKey });
    return { record, findings };
  }

  /** Replace the kinds the key may ever sign (admin; the route logs and audits it). Cached
   *  signers are dropped so the change holds from the next request on this node (other nodes:
   *  within the revalidation time). */
  async setPurposes(name: string, purposes: readonly ArtifactKind[]): Promise<KeyRecord> {
    await this.#store.setKeyPurposes(name, purposes);
    this.#signers.delete(name);
    return this.get(name);
  }

  async get(name: string): Promise<KeyRecord> {
    const record = await this.#store.getKey(name);
    if (!record) throw new SignetError('KEY_NOT_FOUND', `no key named ${name}`);
    return record;
  }

  list(): Promise<KeyRecord[]> {
    return this.#store.listKeys();
  }

  /** Revoke the name (its current version) or one version. Without options (the original form)
   *  the current version is revoked with no reason given (a hard revocation). */
  async revoke(name: string, options: { version?: string; reason?: RevokeReason; message?: string } = {}): Promise<void> {
    try {
      await this.lifecycle.revoke(name, { reason: options.reason ?? 'unspecified', ...(options.version ? { version: options.version } : {}),
        ...(options.message !== undefined ? { message: options.message } : {}) });
    } finally {
      this.#signers.delete(name);
    }
  }

  /** The decrypted key for signing. Cached; a revoked key is refused. */
  async signer(name: string): Promise<KeySigner> {
    const cached = this.#signers.get(name);
    if (cached && this.#now() - cached.checkedAt < this.#revalidateMs) return cached.signer;
    const record = await this.get(name);
    const expiresAt = record.state === 'active' ? await this.#expiry(record) : null;
    if (expiresAt !== null && expiresAt <= Math.floor(this.#now() / 1000)) {
      this.#signers.delete(name);
      throw new SignetError('KEY_EXPIRED', `the key ${name} expired at ${new Date(expiresAt * 1000).toISOString()}`);
    }
    // The certificate changes with every lifecycle step (subkey, expiry, revocation): a cached
    // signer is reused only while it is the same.
    if (cached && record.fingerprint === cached.signer.record.fingerprint && record.state === 'active' && record.publicKey.equals(cached.signer.record.publicKey)) {
      // The record is re-read, so purposes changed on another node apply here too.
      const signer: KeySigner = record.purposes.join(',') === cached.signer.record.purposes.join(',') ? cached.signer : { ...cached.signer, record: { ...record, algorithm: cached.signer.record.algorithm } };
      this.#signers.set(name, { signer, checkedAt: this.#now() });
      return signer;
    }
    this.#signers.delete(name);
    if (record.state === 'disabled') throw new SignetError('KEY_DISABLED', `the key ${name} is disabled (signet key enable ${name})`);
    if (record.state === 'deleted') throw new SignetError('KEY_DELETED', `the key ${name} is deleted`);
    if (record.state !== 'active') throw new SignetError('KEY_REVOKED', `the key ${name} is revoked`);
    // A signing subkey of the current version signs in its place (docs/keys.md "Subkeys").
    const subkey = (await this.#store.keyVersions.listSubkeys(name)).find((k) => k.state === 'active' && k.primaryFingerprint === record.fingerprint);
    if (subkey) {
      if (!subkey.sealedSecret || !subkey.wrappedDataKey) throw new SignetError('KEY_DELETED', `the key ${name} is deleted`);
      const key = unseal(this.#master, name, subkey.fingerprint, { sealedSecret: subkey.sealedSecret, wrappedDataKey: subkey.wrappedDataKey }, subkey.keyCreatedAt);
      // The algorithm a signing answer names is the signing key's: RPM puts an RSA and an EdDSA
      // signature in different header tags.
      const signer: KeySigner = { record: { ...record, algorithm: subkey.algorithm }, info: key.info, privateKey: key.privateKey };
      this.#signers.set(name, { signer, checkedAt: this.#now() });
      return signer;
    }
    if (record.sealedSecret.length === 0) throw new SignetError('KEY_PRIMARY_OFFLINE', `the key ${name} has no signing key on this server (offline primary without a signing subkey)`);
    const binding = { name: record.name, fingerprint: record.fingerprint };
    const pkcs8 = unsealPrivateKey(this.#master, binding, record);
    let privateKey: KeyObject;
    try {
      privateKey = createPrivateKey({ key: pkcs8.reveal(), format: 'der', type: 'pkcs8' });
    } catch {
      throw new SignetError('KEY_DECRYPT_FAILED', `the stored key ${name} cannot be decrypted`);
    } finally {
      pkcs8.wipe();
    }
    const info = publicKeyInfo(privateKey, record.keyCreatedAt);
    if (info.fingerprint.toString('hex').toUpperCase() !== record.fingerprint) {
      throw new SignetError('KEY_DECRYPT_FAILED', `the stored key ${name} does not match its fingerprint`);
    }
    const signer: KeySigner = { record, info, privateKey };
    this.#signers.set(name, { signer, checkedAt: this.#now() });
    return signer;
  }

  /** The current version's key expiration time (Unix seconds), or null. */
  async #expiry(record: KeyRecord): Promise<number | null> {
    return (await this.#store.keyVersions.get(record.fingerprint))?.expiresAt ?? null;
  }

  async #insert(
    name: string,
    privateKey: KeyObject | null,
    info: PublicKeyInfo,
    transferablePublicKey: Buffer,
    userIds: string[],
    origin: KeyRecord['origin'],
    purposes: readonly ArtifactKind[] = ARTIFACT_KINDS,
  ): Promise<KeyRecord> {
    const fingerprint = info.fingerprint.toString('hex').toUpperCase();
    // An offline primary (a stub was imported) has no sealed secret: empty blobs.
    let sealed: { sealedSecret: Buffer; wrappedDataKey: Buffer } = { sealedSecret: Buffer.alloc(0), wrappedDataKey: Buffer.alloc(0) };
    if (privateKey) {
      const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' });
      sealed = sealPrivateKey(this.#master, { name, fingerprint }, pkcs8);
      pkcs8.fill(0);
    }
    const record: KeyRecord = {
      name,
      fingerprint,
      keyId: info.keyId.toString('hex').toUpperCase(),
      algorithm: info.algorithm,
      userId: userIds[0] ?? '',
      keyCreatedAt: info.creationTime,
      publicKey: transferablePublicKey,
      sealedSecret: sealed.sealedSecret,
      wrappedDataKey: sealed.wrappedDataKey,
      origin,
      state: 'active',
      purposes: [...purposes],
      createdAt: this.#now(),
    };
    await this.#store.insertKey(record);
    return record;
  }
}
