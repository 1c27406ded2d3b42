// The `sealed` backend: a software private key (node:crypto, or a composite ML-DSA + EdDSA key
// for experimental v6 keys) whose bytes are sealed in the store under their own data key, the
// data key wrapped by the master key (seal.ts). Opening unseals into process memory; signing
// runs off the event loop (digest-signer.ts).
import { SignetError } from '../errors.js';
import { generateKey, publicKeyInfoFor, type PublicKeyInfo, type SigningKey } from '../openpgp/index.js';
import type { Secret } from '../secret.js';
import type { KeyRecord } from '../store/types.js';
import { fingerprintHex, type GenerateOptions, type KeyBackend, type KeyHandle, type KeyMaterial, type StoredKey } from './backend.js';
import { closeSigningPool, signDigestOffThread } from './digest-signer.js';
import { recordKeyVersion } from './profile.js';
import { sealPrivateKey, unsealPrivateKey, type DataKeyWrapper } from './seal.js';
import { decodeSigningKey, encodeSigningKey } from './secret-encoding.js';

/** The handle of a software key: whoever holds the key object can sign. */
export function softwareHandle(privateKey: SigningKey, info: PublicKeyInfo): KeyHandle {
  return {
    info,
    signDigest: (hashAlgorithm, digest) => signDigestOffThread(privateKey, info.algorithm, hashAlgorithm, digest),
  };
}

export class SealedBackend implements KeyBackend {
  readonly name = 'sealed' as const;
  readonly #master: Secret | DataKeyWrapper;

  constructor(master: Secret | DataKeyWrapper) {
    this.#master = master;
  }

  async generate(name: string, options: GenerateOptions): Promise<StoredKey> {
    const made = await generateKey({
      algorithm: options.algorithm,
      userId: options.userId,
      profile: options.profile ?? 'rfc4880',
      ...(options.creationTime !== undefined ? { creationTime: options.creationTime } : {}),
    });
    return { info: made.info, transferablePublicKey: made.transferablePublicKey, userIds: made.userIds, material: await this.importKey(name, made.privateKey, made.info) };
  }

  async importKey(name: string, privateKey: SigningKey, info: PublicKeyInfo): Promise<KeyMaterial> {
    const bytes = encodeSigningKey(privateKey);
    try {
      const sealed = sealPrivateKey(this.#master, { name, fingerprint: fingerprintHex(info) }, bytes);
      return { backend: 'sealed', ...sealed, tokenRef: null };
    } finally {
      bytes.fill(0);
    }
  }

  async open(record: KeyRecord): Promise<KeyHandle> {
    const bytes = unsealPrivateKey(this.#master, { name: record.name, fingerprint: record.fingerprint }, record);
    let privateKey: SigningKey;
    try {
      privateKey = decodeSigningKey(bytes.reveal());
    } catch {
      throw new SignetError('KEY_DECRYPT_FAILED', `the stored key ${record.name} cannot be decrypted`);
    } finally {
      bytes.wipe();
    }
    // v4 or v6 from the stored fingerprint (src/keys/profile.ts): the packet is rebuilt as it was.
    const info = publicKeyInfoFor(privateKey, record.keyCreatedAt, recordKeyVersion(record));
    if (fingerprintHex(info) !== record.fingerprint) {
      throw new SignetError('KEY_DECRYPT_FAILED', `the stored key ${record.name} does not match its fingerprint`);
    }
    return softwareHandle(privateKey, info);
  }

  async close(): Promise<void> {
    await closeSigningPool();
  }
}
