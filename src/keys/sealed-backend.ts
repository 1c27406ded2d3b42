// The `sealed` backend: a node:crypto private key whose PKCS#8 bytes are sealed in the store
// under their own data key, the data key wrapped by the master key (seal.ts). Opening unseals
// into process memory; signing runs off the event loop (digest-signer.ts).
import { createPrivateKey, generateKeyPair, type KeyObject } from 'node:crypto';
import { SignetError } from '../errors.js';
import { certifyKey, publicKeyInfo, type KeyAlgorithm, type PublicKeyInfo } from '../openpgp/index.js';
import type { Secret } from '../secret.js';
import type { KeyRecord } from '../store/types.js';
import { fingerprintHex, type GenerateOptions, type KeyBackend, type KeyHandle, type KeyMaterial, type StoredKey } from './backend.js';
import { closeSigningPool, signDigestOffThread } from './digest-signer.js';
import { sealPrivateKey, unsealPrivateKey, type DataKeyWrapper } from './seal.js';

const RSA_BITS = 4096;

function softwareKey(algorithm: KeyAlgorithm): Promise<KeyObject> {
  return new Promise<KeyObject>((resolve, reject) => {
    const done = (err: Error | null, _pub: KeyObject, priv: KeyObject): void => (err ? reject(err) : resolve(priv));
    if (algorithm === 'rsa4096') generateKeyPair('rsa', { modulusLength: RSA_BITS, publicExponent: 65537 }, done);
    else if (algorithm === 'ed25519') generateKeyPair('ed25519', {}, done);
    else reject(new SignetError('ALGORITHM_UNSUPPORTED', `the sealed backend makes rsa4096 and ed25519 keys, not ${algorithm} (use --backend pkcs11)`));
  });
}

/** The handle of a software key: whoever holds the KeyObject can sign. */
export function softwareHandle(privateKey: KeyObject, info: PublicKeyInfo): KeyHandle {
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
    const creationTime = options.creationTime ?? Math.floor(Date.now() / 1000);
    const privateKey = await softwareKey(options.algorithm);
    const info = publicKeyInfo(privateKey, creationTime);
    const transferablePublicKey = await certifyKey(info, options.userId, creationTime, softwareHandle(privateKey, info).signDigest);
    return { info, transferablePublicKey, userIds: [options.userId], material: await this.importKey(name, privateKey, info) };
  }

  async importKey(name: string, privateKey: KeyObject, info: PublicKeyInfo): Promise<KeyMaterial> {
    const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' });
    try {
      const sealed = sealPrivateKey(this.#master, { name, fingerprint: fingerprintHex(info) }, pkcs8);
      return { backend: 'sealed', ...sealed, tokenRef: null };
    } finally {
      pkcs8.fill(0);
    }
  }

  async open(record: KeyRecord): Promise<KeyHandle> {
    const pkcs8 = unsealPrivateKey(this.#master, { name: record.name, fingerprint: record.fingerprint }, record);
    let privateKey: KeyObject;
    try {
      privateKey = createPrivateKey({ key: pkcs8.reveal(), format: 'der', type: 'pkcs8' });
    } catch {
      throw new SignetError('KEY_DECRYPT_FAILED', `the stored key ${record.name} cannot be decrypted`);
    } finally {
      pkcs8.wipe();
    }
    const info = publicKeyInfo(privateKey, record.keyCreatedAt);
    if (fingerprintHex(info) !== record.fingerprint) {
      throw new SignetError('KEY_DECRYPT_FAILED', `the stored key ${record.name} does not match its fingerprint`);
    }
    return softwareHandle(privateKey, info);
  }

  async close(): Promise<void> {
    await closeSigningPool();
  }
}
