// Encryption at rest (docs/architecture.md, invariant 1; docs/security.md "Keys at rest"). A key's private material is sealed with AES-256-GCM
// under its own random data key; the data key is wrapped with AES-256-GCM under the master key,
// either the file's (master.key) or a non-extractable AES key in a PKCS#11 token
// (docs/key-backends.md "The master key in the token"): a DataKeyWrapper.
// The associated data binds each blob to its purpose, version, key name and fingerprint, so a
// swapped, edited or rolled-back blob fails authentication instead of decrypting to another key.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { SignetError } from '../errors.js';
import { Secret } from '../secret.js';

const VERSION = 1;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

export interface KeyBinding {
  readonly name: string;
  readonly fingerprint: string;
}

function aad(purpose: 'signet/key/v1' | 'signet/dek/v1', binding: KeyBinding): Buffer {
  // Length-prefixed fields: no two bindings share an encoding.
  const parts = [purpose, binding.name, binding.fingerprint].map((s) => Buffer.from(s, 'utf8'));
  return Buffer.concat([Buffer.from([VERSION]), ...parts.flatMap((p) => [u16(p.length), p])]);
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

function encrypt(key: Buffer, plaintext: Buffer, associated: Buffer): Buffer {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(associated);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([Buffer.from([VERSION]), nonce, body, cipher.getAuthTag()]);
}

function decrypt(key: Buffer, blob: Buffer, associated: Buffer, name: string): Buffer {
  const failed = new SignetError('KEY_DECRYPT_FAILED', `the stored key ${name} cannot be decrypted`);
  if (blob.length < 1 + NONCE_BYTES + TAG_BYTES || blob[0] !== VERSION) throw failed;
  const nonce = blob.subarray(1, 1 + NONCE_BYTES);
  const tag = blob.subarray(blob.length - TAG_BYTES);
  const body = blob.subarray(1 + NONCE_BYTES, blob.length - TAG_BYTES);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, nonce);
    decipher.setAAD(associated);
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(body), decipher.final()]);
  } catch {
    throw failed;
  }
}

/** Wraps and unwraps data keys. The wrapped form starts with a version byte that says which
 *  kind of wrapper made it (1: the master key file, 2: a token key). */
export interface DataKeyWrapper {
  wrap(dataKey: Buffer, associated: Buffer): Buffer;
  /** The data key, or SignetError (KEY_DECRYPT_FAILED, KEY_TOKEN_UNAVAILABLE). */
  unwrap(blob: Buffer, associated: Buffer, name: string): Buffer;
}

/** Version byte of a data key wrapped by a token key (src/keys/pkcs11-master.ts). */
export const TOKEN_WRAPPED_VERSION = 2;

/** The master key file's wrapper: AES-256-GCM under the 32 bytes of master.key. */
export function fileMasterWrapper(master: Secret): DataKeyWrapper {
  return {
    wrap: (dataKey, associated) => encrypt(master.reveal(), dataKey, associated),
    unwrap: (blob, associated, name) => {
      if (blob[0] === TOKEN_WRAPPED_VERSION) {
        throw new SignetError('KEY_TOKEN_UNAVAILABLE', `the stored key ${name} is wrapped by the token master key; configure keys.pkcs11 and keys.master_in_token`);
      }
      return decrypt(master.reveal(), blob, associated, name);
    },
  };
}

function wrapperOf(master: Secret | DataKeyWrapper): DataKeyWrapper {
  return master instanceof Secret ? fileMasterWrapper(master) : master;
}

/** The data-key binding (exported for token wrappers, which bind the same fields). */
export function dataKeyAad(binding: KeyBinding): Buffer {
  return aad('signet/dek/v1', binding);
}

export interface SealedKey {
  readonly sealedSecret: Buffer;
  readonly wrappedDataKey: Buffer;
}

export function sealPrivateKey(master: Secret | DataKeyWrapper, binding: KeyBinding, pkcs8: Buffer): SealedKey {
  const dataKey = randomBytes(32);
  try {
    return {
      sealedSecret: encrypt(dataKey, pkcs8, aad('signet/key/v1', binding)),
      wrappedDataKey: wrapperOf(master).wrap(dataKey, dataKeyAad(binding)),
    };
  } finally {
    dataKey.fill(0);
  }
}

/** The PKCS#8 bytes, as a Secret: the caller turns them into a KeyObject and wipes them. */
export function unsealPrivateKey(master: Secret | DataKeyWrapper, binding: KeyBinding, sealed: SealedKey): Secret {
  const dataKey = wrapperOf(master).unwrap(sealed.wrappedDataKey, dataKeyAad(binding), binding.name);
  try {
    const pkcs8 = decrypt(dataKey, sealed.sealedSecret, aad('signet/key/v1', binding), binding.name);
    const secret = new Secret(pkcs8);
    pkcs8.fill(0);
    return secret;
  } finally {
    dataKey.fill(0);
  }
}
