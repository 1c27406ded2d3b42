// A key's lifecycle after creation (docs/keys.md): versions and rotation, expiry, revocation,
// disable/enable/delete, signing subkeys, and the keyring a verifier needs. Every change that a
// verifier must see is a signature published in the key's certificate; the store keeps each
// version's certificate (src/store/key-version-types.ts) and the name's row mirrors the current one.
import { generateKeyPair, type KeyObject } from 'node:crypto';
import { SignetError } from '../errors.js';
import {
  bindSigningSubkey,
  certifyUserId,
  editCertificate,
  keyRevocation,
  parseKeyring,
  publicKeyInfo,
  selfCertification,
  userIdKey,
  type CertifyingKey,
  type KeyAlgorithm,
  type RevocationReason,
} from '../openpgp/index.js';
import type { KeyVersionRecord, SubkeyRecord } from '../store/key-version-types.js';
import type { KeyBackendName, KeyRecord, Store } from '../store/types.js';
import { fingerprintHex, type KeyBackend } from './backend.js';
import { lintCertificate } from '../openpgp/lint.js';
import { PacketTag, readPackets } from '../openpgp/packet.js';
import { parseSignatureBody } from '../openpgp/signature.js';

export const REVOCATION_REASON_NAMES = ['compromised', 'superseded', 'retired', 'unspecified'] as const;
/** `unspecified` is code 0 ("no reason"): verifiers treat it as a hard revocation, like
 *  `compromised`, so every signature by the version stops verifying. */
export type RevokeReason = RevocationReason;

export class KeyLifecycle {
  readonly #store: Store;
  readonly #now: () => number;
  /** The configured backend of a name (KEY_BACKEND_UNAVAILABLE when it is not). */
  readonly #backend: (name: KeyBackendName) => KeyBackend;

  constructor(store: Store, now: () => number, backend: (name: KeyBackendName) => KeyBackend) {
    this.#store = store;
    this.#now = now;
    this.#backend = backend;
  }

  /** The primary key of a record as a certifier, through its backend's handle (a token key
   *  certifies inside the token). */
  async certifier(record: KeyRecord): Promise<CertifyingKey> {
    const handle = await this.#backend(record.backend).open(record);
    if (fingerprintHex(handle.info) !== record.fingerprint) {
      throw new SignetError('KEY_DECRYPT_FAILED', `the stored key ${record.name} does not match its fingerprint`);
    }
    return { info: handle.info, sign: (hash, digest) => handle.signDigest(hash, digest) };
  }

  #seconds(): number {
    return Math.floor(this.#now() / 1000);
  }

  async #record(name: string): Promise<KeyRecord> {
    const record = await this.#store.getKey(name);
    if (!record) throw new SignetError('KEY_NOT_FOUND', `no key named ${name}`);
    return record;
  }

  async #version(name: string, fingerprint?: string): Promise<KeyVersionRecord> {
    const record = await this.#record(name);
    const fpr = (fingerprint ?? record.fingerprint).toUpperCase();
    const version = await this.#store.keyVersions.get(fpr);
    if (!version || version.keyName !== name) throw new SignetError('KEY_VERSION_NOT_FOUND', `the key ${name} has no version ${fpr}`);
    return version;
  }

  /** The version's primary key; refused when it is offline (a stub was imported) or gone. */
  async #primary(version: KeyVersionRecord): Promise<CertifyingKey> {
    if (version.fingerprint.length === 64) {
      throw new SignetError('KEY_PROFILE_UNSUPPORTED', `the key ${version.keyName} is an OpenPGP v6 key: rotate, expire, revoke and subkeys are for v4 keys (docs/keys.md)`);
    }
    if (version.backend === 'sealed' && (!version.sealedSecret || !version.wrappedDataKey || version.sealedSecret.length === 0)) {
      throw new SignetError('KEY_PRIMARY_OFFLINE', `the primary key ${version.fingerprint} of ${version.keyName} is not on this server (offline primary or deleted key)`);
    }
    // The version opened as its backend opens any key: sealed or in a token, one path.
    const record = await this.#record(version.keyName);
    return this.certifier({
      ...record, fingerprint: version.fingerprint, keyId: version.keyId, algorithm: version.algorithm, keyCreatedAt: version.keyCreatedAt,
      publicKey: version.publicKey, sealedSecret: version.sealedSecret ?? Buffer.alloc(0), wrappedDataKey: version.wrappedDataKey ?? Buffer.alloc(0),
      backend: version.backend as KeyBackendName, tokenRef: version.tokenRef,
    });
  }

  #checkChangeable(record: KeyRecord): void {
    if (record.state === 'deleted') throw new SignetError('KEY_DELETED', `the key ${record.name} is deleted`);
    if (record.state === 'revoked') throw new SignetError('KEY_REVOKED', `the key ${record.name} is revoked`);
  }

  /** Made at creation and import (when the primary is here): a revocation certificate kept for
   *  safekeeping, exported only by an admin (`signet key revocation-cert`). */
  async storeRevocationCertificate(name: string, fingerprint: string, primary: CertifyingKey): Promise<void> {
    // Key signatures are written as v4 packets (src/openpgp/certificate.ts): a v6 key gets none.
    if (primary.info.version === 6) return;
    const certificate = await keyRevocation(primary, 'unspecified', 'revocation certificate made at key creation', this.#seconds());
    await this.#store.keyVersions.update(fingerprint, { revocationCertificate: certificate });
  }

  /** A new version becomes the signing one; the previous stays in the keyring until now + overlap
   *  (null: until revoked), and certifies the new version's user ID. */
  async rotate(name: string, options: { overlapMs: number | null; algorithm?: KeyAlgorithm }): Promise<{ previous: KeyVersionRecord; next: KeyVersionRecord }> {
    const record = await this.#record(name);
    this.#checkChangeable(record);
    const previous = await this.#version(name);
    const old = await this.#primary(previous);
    const algorithm = options.algorithm ?? previous.algorithm;
    // The new version lives where the previous one does (a token key rotates inside the token).
    const backendName = previous.backend as KeyBackendName;
    const generated = await this.#backend(backendName).generate(name, { algorithm, userId: record.userId, creationTime: this.#seconds() });
    const lint = lintCertificate(generated.transferablePublicKey, { newKey: true });
    if (lint.some((f) => f.severity === 'error')) throw new SignetError('KEY_LINT_FAILED', lint.map((f) => f.message).join('; '));
    const uid = Buffer.from(record.userId, 'utf8');
    const certification = await certifyUserId(old, generated.info, uid, this.#seconds());
    const certificate = editCertificate(generated.transferablePublicKey, { userIdSignatures: new Map([[userIdKey(uid), [certification]]]) });
    const fingerprint = fingerprintHex(generated.info);
    const material = generated.material;
    const next: KeyVersionRecord = {
      keyName: name, fingerprint, keyId: generated.info.keyId.toString('hex').toUpperCase(), algorithm, keyCreatedAt: generated.info.creationTime,
      publicKey: certificate, sealedSecret: material.sealedSecret.length > 0 ? material.sealedSecret : null,
      wrappedDataKey: material.wrappedDataKey.length > 0 ? material.wrappedDataKey : null, backend: material.backend, tokenRef: material.tokenRef,
      state: 'active', createdAt: this.#now(), expiresAt: null, exportUntil: null, revocationCertificate: null, revocationReason: null,
    };
    await this.#store.keyVersions.rotate(name, next, { fingerprint: previous.fingerprint, exportUntil: options.overlapMs === null ? null : this.#now() + options.overlapMs });
    await this.storeRevocationCertificate(name, fingerprint, await this.#primary(next));
    return { previous, next };
  }

  /** A new self-signature on every user ID of the current version, with the new expiry (null:
   *  never), as `gpg --quick-set-expire` makes. */
  async expire(name: string, expiresAt: number | null): Promise<KeyVersionRecord> {
    const record = await this.#record(name);
    this.#checkChangeable(record);
    const version = await this.#version(name);
    const primary = await this.#primary(version);
    const view = parseKeyring(version.publicKey)[0]!;
    // A later self-signature supersedes the earlier one (RFC 9580 §5.2.3.10): strictly later.
    // When that is a second still to come (an expiry set in the second the key was made), wait
    // for it: Sequoia (sq, sqv, rpm) ignores a signature from the future and would read the
    // certificate without the new expiry until then.
    const created = Math.max(this.#seconds(), newestSelfSignatureTime(version.publicKey) + 1);
    const early = created * 1000 - this.#now();
    if (early > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(early, 1000)));
    const additions = new Map<string, Buffer[]>();
    for (const body of view.userIdBodies) additions.set(userIdKey(body), [await selfCertification(primary, body, created, expiresAt)]);
    const publicKey = editCertificate(version.publicKey, { userIdSignatures: additions });
    await this.#store.keyVersions.update(version.fingerprint, { publicKey, expiresAt });
    return { ...version, publicKey, expiresAt };
  }

  /** Revokes a version (default: the current one, which then no longer signs: the name is
   *  revoked). The revocation signature is made with the primary; with an offline primary, the
   *  revocation certificate made at creation is published instead. */
  async revoke(name: string, options: { version?: string; reason: RevokeReason; message?: string }): Promise<KeyVersionRecord> {
    const record = await this.#record(name);
    if (record.state === 'deleted') throw new SignetError('KEY_DELETED', `the key ${name} is deleted`);
    const version = await this.#version(name, options.version);
    if (version.state === 'revoked') throw new SignetError('KEY_REVOKED', `the version ${version.fingerprint} of ${name} is already revoked`);
    let signature: Buffer | null = null;
    if (version.backend !== 'sealed' || (version.sealedSecret && version.sealedSecret.length > 0)) {
      signature = await keyRevocation(await this.#primary(version), options.reason, options.message ?? '', this.#seconds());
    } else if (version.revocationCertificate) {
      signature = version.revocationCertificate;
    }
    const publicKey = signature ? editCertificate(version.publicKey, { keySignatures: [signature] }) : version.publicKey;
    await this.#store.keyVersions.update(version.fingerprint, { publicKey, state: 'revoked', revocationReason: options.reason });
    if (version.fingerprint === record.fingerprint) await this.#store.setKeyState(name, 'revoked');
    return { ...version, publicKey, state: 'revoked', revocationReason: options.reason };
  }

  async setEnabled(name: string, enabled: boolean): Promise<KeyRecord> {
    const record = await this.#record(name);
    this.#checkChangeable(record);
    await this.#store.setKeyState(name, enabled ? 'active' : 'disabled');
    return { ...record, state: enabled ? 'active' : 'disabled' };
  }

  async delete(name: string, force: boolean): Promise<KeyRecord> {
    if (!force) throw new SignetError('KEY_FORCE_REQUIRED', `deleting ${name} erases its secret keys for good: pass --force`);
    const record = await this.#record(name);
    if (record.state === 'deleted') throw new SignetError('KEY_DELETED', `the key ${name} is deleted`);
    await this.#store.keyVersions.destroySecrets(name);
    return { ...record, state: 'deleted' };
  }

  /** A new signing subkey of the current version; from now on signatures are made by it. */
  async addSubkey(name: string, algorithm: KeyAlgorithm): Promise<SubkeyRecord> {
    const record = await this.#record(name);
    this.#checkChangeable(record);
    const version = await this.#version(name);
    const primary = await this.#primary(version);
    const privateKey = await new Promise<KeyObject>((resolve, reject) => {
      const done = (err: Error | null, _pub: KeyObject, priv: KeyObject): void => (err ? reject(err) : resolve(priv));
      if (algorithm === 'rsa4096') generateKeyPair('rsa', { modulusLength: 4096, publicExponent: 65537 }, done);
      else generateKeyPair('ed25519', {}, done);
    });
    const info = publicKeyInfo(privateKey, this.#seconds());
    const bound = await bindSigningSubkey(primary, { info, privateKey }, this.#seconds());
    const publicKey = editCertificate(version.publicKey, { subkeys: [bound] });
    // A subkey is a software key, sealed whatever backend holds the primary.
    const sealed = await this.#backend('sealed').importKey(name, privateKey, info);
    const subkey: SubkeyRecord = {
      fingerprint: fingerprintHex(info), keyName: name, primaryFingerprint: version.fingerprint, keyId: info.keyId.toString('hex').toUpperCase(),
      algorithm, keyCreatedAt: info.creationTime, sealedSecret: sealed.sealedSecret, wrappedDataKey: sealed.wrappedDataKey, backend: 'sealed',
      state: 'active', createdAt: this.#now(),
    };
    await this.#store.keyVersions.addSubkey(subkey, publicKey);
    return subkey;
  }

  /** The certificates a verifier needs, current version first: every version not retired past
   *  its overlap (revoked versions always, so their revocation reaches verifiers). */
  async keyring(name: string): Promise<{ certificates: Buffer[]; versions: KeyVersionRecord[] }> {
    const record = await this.#record(name);
    const all = await this.#store.keyVersions.list(name);
    const now = this.#now();
    const versions = all.filter((v) => v.fingerprint === record.fingerprint || v.state !== 'retired' || v.exportUntil === null || v.exportUntil > now);
    versions.sort((a, b) => Number(b.fingerprint === record.fingerprint) - Number(a.fingerprint === record.fingerprint));
    // Older stores and tests may hold a name with no version row: the name's own certificate.
    if (versions.length === 0) return { certificates: [record.publicKey], versions };
    return { certificates: versions.map((v) => (v.fingerprint === record.fingerprint ? record.publicKey : v.publicKey)), versions };
  }

  versions(name: string): Promise<KeyVersionRecord[]> {
    return this.#store.keyVersions.list(name);
  }

  subkeys(name: string): Promise<SubkeyRecord[]> {
    return this.#store.keyVersions.listSubkeys(name);
  }

  async revocationCertificate(name: string, fingerprint?: string): Promise<Buffer> {
    const version = await this.#version(name, fingerprint);
    if (!version.revocationCertificate) throw new SignetError('NOT_FOUND', `no revocation certificate is stored for ${version.fingerprint} (an offline primary, or a key from before they were made)`);
    return version.revocationCertificate;
  }
}

function newestSelfSignatureTime(certificate: Buffer): number {
  let newest = 0;
  for (const packet of readPackets(certificate)) {
    if (packet.tag !== PacketTag.signature) continue;
    try {
      newest = Math.max(newest, parseSignatureBody(packet.body).creationTime);
    } catch {
      // A signature signet cannot parse supersedes nothing here.
    }
  }
  return newest;
}
