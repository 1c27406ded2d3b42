// Signing keys: create, import, list, and hand the signing engine a decrypted KeyObject.
// Decrypted keys are cached in process memory only (never written, never returned by an API).
import { hkdfSync } from 'node:crypto';
import { SignetError } from '../errors.js';
import { generateKey, policyFindings, publicKeyInfoFor, type KeyAlgorithm, type KeyProfile, type PublicKeyInfo, type SigningKey } from '../openpgp/index.js';
import { ARTIFACT_KINDS, type ArtifactKind } from '../policy/kinds.js';
import type { Secret } from '../secret.js';
import type { KeyRecord, Store } from '../store/types.js';
import { NAME_PATTERN, hasUserIdControls, isValidName, nameRule } from '../names.js';
import { recordKeyVersion } from './profile.js';
import { sealPrivateKey, unsealPrivateKey } from './seal.js';
import { decodeSigningKey, encodeSigningKey } from './secret-encoding.js';

/** Key names: what users type and what policies match; the one name rule (src/names.ts). */
export const KEY_NAME_PATTERN = NAME_PATTERN;

export function checkKeyName(name: string): void {
  if (!isValidName(name)) throw new SignetError('NAME_INVALID', nameRule('key'));
}

export interface KeySigner {
  readonly record: KeyRecord;
  readonly info: PublicKeyInfo;
  /** A node:crypto key, or a composite ML-DSA + EdDSA key (v6 only). */
  readonly privateKey: SigningKey;
}

export class KeyService {
  readonly #store: Store;
  readonly #master: Secret;
  readonly #now: () => number;
  readonly #signers = new Map<string, { signer: KeySigner; checkedAt: number }>();
  /** How long a cached signer is trusted before its state is read again (several nodes share
   *  one store: a key revoked on one node stops signing on all within this time). */
  readonly #revalidateMs: number;

  constructor(store: Store, master: Secret, now: () => number = Date.now, options: { revalidateMs?: number } = {}) {
    this.#store = store;
    this.#master = master;
    this.#now = now;
    this.#revalidateMs = options.revalidateMs ?? 2000;
  }

  async create(name: string, options: { algorithm: KeyAlgorithm; userId: string; purposes?: readonly ArtifactKind[]; profile?: KeyProfile }): Promise<KeyRecord> {
    checkKeyName(name);
    if (await this.#store.getKey(name)) throw new SignetError('KEY_EXISTS', `a key named ${name} exists`);
    const generated = await generateKey({ algorithm: options.algorithm, userId: options.userId, profile: options.profile ?? 'rfc4880' });
    return this.#insert(name, generated.privateKey, generated.info, generated.transferablePublicKey, generated.userIds, 'generated', options.purposes);
  }

  async importSecret(
    name: string,
    privateKey: SigningKey,
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

  /** Replace the kinds the key may ever sign (admin; the route logs and audits it). Cached
   *  signers are dropped so the change holds from the next request on this node (other nodes:
   *  within the revalidation time). */
  async setPurposes(name: string, purposes: readonly ArtifactKind[]): Promise<KeyRecord> {
    await this.#store.setKeyPurposes(name, purposes);
    this.#signers.delete(name);
    return this.get(name);
  }

  /** A secret for a purpose, derived from the master key (HKDF-SHA256; never the master key
   *  itself): the same on every node of one store, e.g. the MAC key of v6 midstate salts. */
  deriveSecret(label: string): Buffer {
    return Buffer.from(hkdfSync('sha256', this.#master.reveal(), Buffer.alloc(0), Buffer.from(`signet ${label}`, 'utf8'), 32));
  }

  async get(name: string): Promise<KeyRecord> {
    const record = await this.#store.getKey(name);
    if (!record) throw new SignetError('KEY_NOT_FOUND', `no key named ${name}`);
    return record;
  }

  list(): Promise<KeyRecord[]> {
    return this.#store.listKeys();
  }

  async revoke(name: string): Promise<void> {
    await this.#store.setKeyState(name, 'revoked');
    this.#signers.delete(name);
  }

  /** The decrypted key for signing. Cached; a revoked key is refused. */
  async signer(name: string): Promise<KeySigner> {
    const cached = this.#signers.get(name);
    if (cached && this.#now() - cached.checkedAt < this.#revalidateMs) return cached.signer;
    const record = await this.get(name);
    if (cached && record.fingerprint === cached.signer.record.fingerprint && record.state === 'active') {
      // The record is re-read, so purposes changed on another node apply here too.
      const signer: KeySigner = record.purposes.join(',') === cached.signer.record.purposes.join(',') ? cached.signer : { ...cached.signer, record };
      this.#signers.set(name, { signer, checkedAt: this.#now() });
      return signer;
    }
    this.#signers.delete(name);
    if (record.state !== 'active') throw new SignetError('KEY_REVOKED', `the key ${name} is revoked`);
    const binding = { name: record.name, fingerprint: record.fingerprint };
    const pkcs8 = unsealPrivateKey(this.#master, binding, record);
    let privateKey: SigningKey;
    try {
      privateKey = decodeSigningKey(pkcs8.reveal());
    } catch {
      throw new SignetError('KEY_DECRYPT_FAILED', `the stored key ${name} cannot be decrypted`);
    } finally {
      pkcs8.wipe();
    }
    // v4 or v6 from the stored fingerprint (src/keys/profile.ts): the packet is rebuilt as it was.
    const info = publicKeyInfoFor(privateKey, record.keyCreatedAt, recordKeyVersion(record));
    if (info.fingerprint.toString('hex').toUpperCase() !== record.fingerprint) {
      throw new SignetError('KEY_DECRYPT_FAILED', `the stored key ${name} does not match its fingerprint`);
    }
    const signer: KeySigner = { record, info, privateKey };
    this.#signers.set(name, { signer, checkedAt: this.#now() });
    return signer;
  }

  async #insert(
    name: string,
    privateKey: SigningKey,
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
    const fingerprint = info.fingerprint.toString('hex').toUpperCase();
    const pkcs8 = encodeSigningKey(privateKey);
    const sealed = sealPrivateKey(this.#master, { name, fingerprint }, pkcs8);
    pkcs8.fill(0);
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
