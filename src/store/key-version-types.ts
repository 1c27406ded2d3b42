// Key versions and signing subkeys (docs/keys.md). A key name (the `keys` row, which always
// mirrors the name's current version) maps to one or more versions: OpenPGP primary keys, the
// newest the signing one, older ones kept for verification (rotation) or as revoked. A version
// may carry signing subkeys; when it has an active one, signatures are made by it. Both engines
// implement this with the same tables (migrations 3 and 4), so `signet store migrate` copies them
// by name.
import type { KeyAlgorithm } from '../openpgp/public-key.js';

/** active: the name's signing version; retired: rotated out, kept for verification (exported
 *  until `exportUntil`); revoked: a revocation signature is published, never signs again. */
export type KeyVersionState = 'active' | 'retired' | 'revoked';

export interface KeyVersionRecord {
  readonly keyName: string;
  /** v4 fingerprint of the version's primary key, 40 upper-case hex digits. */
  readonly fingerprint: string;
  readonly keyId: string;
  readonly algorithm: KeyAlgorithm;
  /** OpenPGP key creation time, Unix seconds. */
  readonly keyCreatedAt: number;
  /** This version's certificate: primary key, revocations, user IDs with their self-signatures
   *  (and the previous version's certification), subkeys with their binding signatures. */
  readonly publicKey: Buffer;
  /** Sealed primary secret (src/keys/seal.ts), or null: an offline primary (a stub was
   *  imported) or a deleted key. */
  readonly sealedSecret: Buffer | null;
  readonly wrappedDataKey: Buffer | null;
  /** Where the secret lives; 'sealed' is the software backend (sealed under the master key). */
  readonly backend: string;
  /** The key's object in its token (backend pkcs11), else null (docs/key-backends.md). */
  readonly tokenRef: string | null;
  readonly state: KeyVersionState;
  /** Row creation time, Unix ms. */
  readonly createdAt: number;
  /** Key expiration time of the current self-signature, Unix seconds, or null for none. */
  readonly expiresAt: number | null;
  /** A retired version is in the exported keyring until this time (Unix ms), null: always. */
  readonly exportUntil: number | null;
  /** A key revocation signature made at creation, for safekeeping (admin export only). */
  readonly revocationCertificate: Buffer | null;
  /** compromised | superseded | retired once revoked, else null. */
  readonly revocationReason: string | null;
}

export type SubkeyState = 'active' | 'retired' | 'revoked';

export interface SubkeyRecord {
  readonly fingerprint: string;
  readonly keyName: string;
  /** The version (primary key) the subkey is bound to. */
  readonly primaryFingerprint: string;
  readonly keyId: string;
  readonly algorithm: KeyAlgorithm;
  readonly keyCreatedAt: number;
  /** null when the subkey's secret is gone (deleted key). */
  readonly sealedSecret: Buffer | null;
  readonly wrappedDataKey: Buffer | null;
  readonly backend: string;
  readonly state: SubkeyState;
  readonly createdAt: number;
}

export interface KeyVersionChanges {
  readonly publicKey?: Buffer;
  readonly state?: KeyVersionState;
  readonly expiresAt?: number | null;
  readonly revocationReason?: string | null;
  readonly revocationCertificate?: Buffer | null;
}

export interface KeyVersionStore {
  /** Every version of a name, newest first. */
  list(name: string): Promise<KeyVersionRecord[]>;
  get(fingerprint: string): Promise<KeyVersionRecord | undefined>;
  /**
   * One transaction: the current version becomes `retired` with `previous.publicKey` (now
   * carrying nothing new, or its revocation) and `previous.exportUntil`; `next` is inserted as
   * the `active` version, and the name's `keys` row takes next's fingerprint, key ID, algorithm,
   * certificate and sealed secret. Throws KEY_NOT_FOUND, KEY_EXISTS (fingerprint taken).
   */
  rotate(name: string, next: KeyVersionRecord, previous: { fingerprint: string; exportUntil: number | null }): Promise<void>;
  /** Change one version; when it is the name's current version, its certificate is mirrored to
   *  the `keys` row. Throws KEY_NOT_FOUND. */
  update(fingerprint: string, changes: KeyVersionChanges): Promise<void>;
  /** The subkeys of a name, newest first. */
  listSubkeys(name: string): Promise<SubkeyRecord[]>;
  /** One transaction: the name's other active subkeys become `retired`, the subkey is inserted
   *  `active`, and its version's certificate becomes `primaryPublicKey` (which carries the new
   *  binding). Throws KEY_EXISTS (fingerprint taken). */
  addSubkey(subkey: SubkeyRecord, primaryPublicKey: Buffer): Promise<void>;
  /** Delete: every sealed secret of the name (versions, subkeys, the keys row) is erased and the
   *  name's state becomes `deleted`; certificates stay for verification. Throws KEY_NOT_FOUND. */
  destroySecrets(name: string): Promise<void>;
}
