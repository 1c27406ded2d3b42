// The seam for where a key lives (docs/key-backends.md). A backend makes or takes in a key and,
// given its stored record, opens a handle that exposes the public part and signs a digest. The
// OpenPGP core builds the packets and hashes around it (certifications included); the signing
// engine, the pipeline and every route see only the handle, never which backend is behind it.
import type { HashAlgorithm, KeyAlgorithm, KeyProfile, PublicKeyInfo, SigningKey } from '../openpgp/index.js';
import type { KeyBackendName, KeyRecord } from '../store/types.js';

export type { KeyBackendName };

/** An opened key: its public part and its private operation. */
export interface KeyHandle {
  readonly info: PublicKeyInfo;
  /** The raw signature over a finished OpenPGP digest (RSA: EMSA-PKCS1-v1_5 over the DigestInfo;
   *  EdDSA and ECDSA: r ‖ s). Asynchronous and off the event loop. */
  signDigest(hashAlgorithm: HashAlgorithm, digest: Buffer): Promise<Buffer>;
}

/** The columns that say where a key's private half is: sealed material or a token reference. */
export interface KeyMaterial {
  readonly backend: KeyBackendName;
  readonly sealedSecret: Buffer;
  readonly wrappedDataKey: Buffer;
  readonly tokenRef: string | null;
}

/** A key the backend made or took in: its public certificate and where its private half is. */
export interface StoredKey {
  readonly info: PublicKeyInfo;
  readonly transferablePublicKey: Buffer;
  readonly userIds: string[];
  readonly material: KeyMaterial;
}

export interface GenerateOptions {
  readonly algorithm: KeyAlgorithm;
  readonly userId: string;
  /** Key creation time, Unix seconds (defaults to now). */
  readonly creationTime?: number;
  /** OpenPGP v4 (rfc4880, the default) or v6 (rfc9580; docs/keys.md "Profiles"). */
  readonly profile?: KeyProfile;
}

export interface KeyBackend {
  readonly name: KeyBackendName;
  /** Makes a key (inside the token, for a token backend) and self-certifies it with its own
   *  handle. `name` is signet's name for the key: material is bound to it. */
  generate(name: string, options: GenerateOptions): Promise<StoredKey>;
  /** Takes in a software private key (from `key import`); the caller has checked it matches `info`. */
  importKey(name: string, privateKey: SigningKey, info: PublicKeyInfo): Promise<KeyMaterial>;
  /** Opens a stored key; refuses (KEY_DECRYPT_FAILED, KEY_TOKEN_UNAVAILABLE, …) when the
   *  private half cannot be reached or does not match the record's fingerprint. */
  open(record: KeyRecord): Promise<KeyHandle>;
  /** Releases what the backend holds (worker threads, token sessions). */
  close?(): Promise<void>;
}

/** The fingerprint the store writes: 40 upper-case hex digits. */
export function fingerprintHex(info: PublicKeyInfo): string {
  return info.fingerprint.toString('hex').toUpperCase();
}
