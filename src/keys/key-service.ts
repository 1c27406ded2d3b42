// Signing keys: create, import, list, and hand the signing engine an opened key handle. Where a
// key lives is its backend's business (src/keys/backend.ts): sealed in the store or in a token.
// What happens to a key after creation (versions, rotation, expiry, revocation, subkeys) is in
// src/keys/lifecycle.ts (docs/keys.md). Opened handles are cached in process memory only (never
// written, never returned by an API).
import { hkdfSync } from 'node:crypto';
import { SignetError } from '../errors.js';
import { policyFindings, type KeyAlgorithm, type KeyProfile, type PublicKeyInfo, type SigningKey } from '../openpgp/index.js';
import { lintCertificate, type LintFinding } from '../openpgp/lint.js';
import type { ImportedKeyring } from '../openpgp/secret-key.js';
import { ARTIFACT_KINDS, type ArtifactKind } from '../policy/kinds.js';
import { Secret } from '../secret.js';
import type { KeyBackendName, KeyRecord, Store } from '../store/types.js';
import { NAME_PATTERN, hasUserIdControls, isValidName, nameRule } from '../names.js';
import { fingerprintHex, type KeyBackend, type KeyHandle, type KeyMaterial } from './backend.js';
import { KeyLifecycle, type RevokeReason } from './lifecycle.js';
import type { DataKeyWrapper } from './seal.js';
import { SealedBackend } from './sealed-backend.js';

/** Key names: what users type and what policies match; the one name rule (src/names.ts). */
export const KEY_NAME_PATTERN = NAME_PATTERN;

export function checkKeyName(name: string): void {
  if (!isValidName(name)) throw new SignetError('NAME_INVALID', nameRule('key'));
}

/** An opened key with the record it was opened from. */
export interface KeySigner extends KeyHandle {
  readonly record: KeyRecord;
}

export interface KeyServiceOptions {
  readonly revalidateMs?: number;
  /** A token backend (settings keys.pkcs11); without it pkcs11 keys are refused. */
  readonly pkcs11?: KeyBackend;
  /** The backend `key create` uses when the request names none (settings keys.default_backend). */
  readonly defaultBackend?: KeyBackendName;
  /** The secret server-side keys are derived from (deriveSecret) when `master` is a token
   *  wrapper: the master key file, which still keys the audit and request MACs. */
  readonly secretRoot?: Secret;
}

export class KeyService {
  readonly #store: Store;
  readonly #secretRoot: Secret | undefined;
  readonly #backends: ReadonlyMap<KeyBackendName, KeyBackend>;
  readonly #defaultBackend: KeyBackendName;
  readonly #now: () => number;
  readonly #signers = new Map<string, { signer: KeySigner; checkedAt: number }>();
  /** How long a cached signer is trusted before its state is read again (several nodes share
   *  one store: a key revoked on one node stops signing on all within this time). */
  readonly #revalidateMs: number;
  /** Versions, rotation, expiry, revocation, subkeys, export (src/keys/lifecycle.ts, docs/keys.md). */
  readonly lifecycle: KeyLifecycle;

  constructor(store: Store, master: Secret | DataKeyWrapper, now: () => number = Date.now, options: KeyServiceOptions = {}) {
    this.#store = store;
    this.#secretRoot = options.secretRoot ?? (master instanceof Secret ? master : undefined);
    const backends = new Map<KeyBackendName, KeyBackend>([['sealed', new SealedBackend(master)]]);
    if (options.pkcs11) backends.set('pkcs11', options.pkcs11);
    this.#backends = backends;
    this.#defaultBackend = options.defaultBackend ?? 'sealed';
    this.#now = now;
    this.#revalidateMs = options.revalidateMs ?? 2000;
    this.lifecycle = new KeyLifecycle(store, now, (name) => this.#backend(name));
  }

  /** A secret for a purpose, derived from the master key file (HKDF-SHA256, RFC 5869; never the
   *  master key itself): the same on every node of one store, e.g. the MAC key of v6 midstate
   *  salts. */
  deriveSecret(label: string): Buffer {
    if (!this.#secretRoot) throw new SignetError('INTERNAL', 'no master key to derive a secret from');
    return Buffer.from(hkdfSync('sha256', this.#secretRoot.reveal(), Buffer.alloc(0), Buffer.from(`signet ${label}`, 'utf8'), 32));
  }

  /** The backend a new key goes to when none is named. */
  get defaultBackend(): KeyBackendName {
    return this.#defaultBackend;
  }

  #backend(name: KeyBackendName): KeyBackend {
    const backend = this.#backends.get(name);
    if (!backend) {
      throw new SignetError('KEY_BACKEND_UNAVAILABLE', `the ${name} key backend is not configured on this server (settings keys.${name})`);
    }
    return backend;
  }

  /** Forget a name's cached signer on this node (lifecycle changes; other nodes re-read within
   *  the revalidation time). */
  forget(name: string): void {
    this.#signers.delete(name);
  }

  async create(
    name: string,
    options: { algorithm: KeyAlgorithm; userId: string; purposes?: readonly ArtifactKind[]; backend?: KeyBackendName; profile?: KeyProfile },
  ): Promise<KeyRecord> {
    checkKeyName(name);
    const backend = this.#backend(options.backend ?? this.#defaultBackend);
    if (await this.#store.getKey(name)) throw new SignetError('KEY_EXISTS', `a key named ${name} exists`);
    const made = await backend.generate(name, { algorithm: options.algorithm, userId: options.userId, profile: options.profile ?? 'rfc4880' });
    // A new certificate must pass every hygiene check (docs/keys.md "Hygiene").
    const findings = lintCertificate(made.transferablePublicKey, { newKey: true }).filter((f) => f.severity === 'error');
    if (findings.length > 0) throw new SignetError('KEY_LINT_FAILED', findings.map((f) => f.message).join('; '));
    const record = await this.#insert(name, made.material, made.info, made.transferablePublicKey, made.userIds, 'generated', options.purposes);
    await this.lifecycle.storeRevocationCertificate(name, record.fingerprint, await this.lifecycle.certifier(record));
    return record;
  }

  async importSecret(
    name: string,
    privateKey: SigningKey,
    info: PublicKeyInfo,
    transferablePublicKey: Buffer,
    userIds: string[],
    purposes?: readonly ArtifactKind[],
    backendName?: KeyBackendName,
  ): Promise<KeyRecord> {
    checkKeyName(name);
    // A user ID is shown by `key list` and the gpg shim's listings, which tools parse line by
    // line: a newline in it could plant a line ("[GNUPG:] GOODSIG …"). Refused at the door.
    if (userIds.some(hasUserIdControls)) throw new SignetError('KEY_IMPORT_FAILED', 'a user ID of the key contains control characters');
    const backend = this.#backend(backendName ?? 'sealed');
    const material = await backend.importKey(name, privateKey, info);
    return this.#insert(name, material, info, transferablePublicKey, userIds, 'imported', purposes);
  }

  /** Import what `gpg --export-secret-keys` or `--export-secret-subkeys` wrote: the primary (or,
   *  from a stub, only its public part: the primary stays offline) and its signing subkeys, the
   *  newest of which then signs. Returns the hygiene findings (docs/keys.md "Hygiene"): an
   *  import warns, it does not refuse. The primary goes to `backendName` (default sealed);
   *  signing subkeys are sealed. */
  async importKeyring(name: string, imported: ImportedKeyring, purposes?: readonly ArtifactKind[], backendName?: KeyBackendName): Promise<{ record: KeyRecord; findings: LintFinding[] }> {
    checkKeyName(name);
    if (imported.userIds.some(hasUserIdControls)) throw new SignetError('KEY_IMPORT_FAILED', 'a user ID of the key contains control characters');
    const findings = lintCertificate(imported.transferablePublicKey, { newKey: false });
    // An offline primary (a stub was imported) has no private material here: empty blobs.
    const material: KeyMaterial = imported.privateKey
      ? await this.#backend(backendName ?? 'sealed').importKey(name, imported.privateKey, imported.info)
      : { backend: 'sealed', sealedSecret: Buffer.alloc(0), wrappedDataKey: Buffer.alloc(0), tokenRef: null };
    const record = await this.#insert(name, material, imported.info, imported.transferablePublicKey, imported.userIds, 'imported', purposes);
    // Oldest first, so the newest signing subkey ends up the active one.
    for (const sub of [...imported.signingSubkeys].reverse()) {
      const sealed = await this.#backend('sealed').importKey(name, sub.privateKey, sub.info);
      await this.#store.keyVersions.addSubkey({
        fingerprint: fingerprintHex(sub.info), keyName: name, primaryFingerprint: record.fingerprint, keyId: sub.info.keyId.toString('hex').toUpperCase(),
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

  /** The opened key for signing. Cached; a revoked, disabled, deleted or expired key is refused. */
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
    let handle: KeyHandle;
    let signingRecord = record;
    // A signing subkey of the current version signs in its place (docs/keys.md "Subkeys").
    const subkey = (await this.#store.keyVersions.listSubkeys(name)).find((k) => k.state === 'active' && k.primaryFingerprint === record.fingerprint);
    if (subkey) {
      if (!subkey.sealedSecret || !subkey.wrappedDataKey) throw new SignetError('KEY_DELETED', `the key ${name} is deleted`);
      handle = await this.#backend('sealed').open({
        ...record, fingerprint: subkey.fingerprint, algorithm: subkey.algorithm, keyCreatedAt: subkey.keyCreatedAt,
        sealedSecret: subkey.sealedSecret, wrappedDataKey: subkey.wrappedDataKey, backend: 'sealed', tokenRef: null,
      });
      // The algorithm a signing answer names is the signing key's: RPM puts an RSA and an EdDSA
      // signature in different header tags.
      signingRecord = { ...record, algorithm: subkey.algorithm };
    } else {
      if (record.backend === 'sealed' && record.sealedSecret.length === 0) {
        throw new SignetError('KEY_PRIMARY_OFFLINE', `the key ${name} has no signing key on this server (offline primary without a signing subkey)`);
      }
      handle = await this.#backend(record.backend).open(record);
      if (fingerprintHex(handle.info) !== record.fingerprint) {
        throw new SignetError('KEY_DECRYPT_FAILED', `the stored key ${name} does not match its fingerprint`);
      }
    }
    const signer: KeySigner = { record: signingRecord, info: handle.info, signDigest: (hash, digest) => handle.signDigest(hash, digest) };
    this.#signers.set(name, { signer, checkedAt: this.#now() });
    return signer;
  }

  /** Releases the backends' resources (server shutdown). */
  async close(): Promise<void> {
    for (const backend of this.#backends.values()) await backend.close?.();
  }

  /** The current version's key expiration time (Unix seconds), or null. */
  async #expiry(record: KeyRecord): Promise<number | null> {
    return (await this.#store.keyVersions.get(record.fingerprint))?.expiresAt ?? null;
  }

  async #insert(
    name: string,
    material: KeyMaterial,
    info: PublicKeyInfo,
    transferablePublicKey: Buffer,
    userIds: string[],
    origin: KeyRecord['origin'],
    purposes: readonly ArtifactKind[] = ARTIFACT_KINDS,
  ): Promise<KeyRecord> {
    // What today's verifiers refuse (SHA-1/SHA-224 self-signatures, DSA, short RSA) is refused
    // here, so no key signet holds makes signatures they reject (docs/keys.md "Consumer policy").
    const findings = policyFindings(transferablePublicKey);
    if (findings.length > 0) {
      throw new SignetError('POLICY_REJECTED', `the key would make signatures current verifiers refuse: ${findings.map((f) => `${f.what} (${f.refusedBy})`).join('; ')}`);
    }
    const record: KeyRecord = {
      name,
      fingerprint: fingerprintHex(info),
      keyId: info.keyId.toString('hex').toUpperCase(),
      algorithm: info.algorithm,
      userId: userIds[0] ?? '',
      keyCreatedAt: info.creationTime,
      publicKey: transferablePublicKey,
      sealedSecret: material.sealedSecret,
      wrappedDataKey: material.wrappedDataKey,
      backend: material.backend,
      tokenRef: material.tokenRef,
      origin,
      state: 'active',
      purposes: [...purposes],
      createdAt: this.#now(),
    };
    await this.#store.insertKey(record);
    return record;
  }
}
