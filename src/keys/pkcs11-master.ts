// The master key in the token (docs/key-backends.md "The master key in the token"): data keys of
// sealed software keys are wrapped by a non-extractable AES-256 key inside a PKCS#11 token
// (CKM_AES_GCM, PKCS#11 v3.0 §2.10.8, with the same associated data as the file master key),
// so the data dir and its backups open no key without the token. The token key is made on the
// first start and its CKA_ID recorded in the store; a later start refuses to make another one.
import { randomBytes } from 'node:crypto';
import { SignetError } from '../errors.js';
import type { Secret } from '../secret.js';
import type { Store } from '../store/types.js';
import { Pkcs11Token, tokenError } from './pkcs11.js';
import { fileMasterWrapper, TOKEN_WRAPPED_VERSION, type DataKeyWrapper } from './seal.js';

const META = 'token_master_key';
const LABEL = 'signet:master-key';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/**
 * The token's AES key as a DataKeyWrapper. New data keys are wrapped by the token; data keys
 * wrapped by master.key before the switch (version 1) still open with it: such keys stay as safe
 * as master.key until they are made again (docs/key-backends.md).
 */
export async function tokenMasterWrapper(store: Store, token: Pkcs11Token, fileMaster: Secret): Promise<DataKeyWrapper> {
  const c = token.constants;
  const recorded = await store.getMeta(META);
  let id: Buffer;
  if (recorded === undefined) {
    id = randomBytes(16);
    await token.withSession(async (session) => {
      try {
        await token.p.C_GenerateKeyAsync(session, { mechanism: c.CKM_AES_KEY_GEN }, [
          { type: c.CKA_TOKEN, value: true },
          { type: c.CKA_ID, value: id },
          { type: c.CKA_LABEL, value: LABEL },
          { type: c.CKA_VALUE_LEN, value: 32 },
          { type: c.CKA_PRIVATE, value: true },
          { type: c.CKA_ENCRYPT, value: true },
          { type: c.CKA_DECRYPT, value: true },
          { type: c.CKA_SENSITIVE, value: true },
          { type: c.CKA_EXTRACTABLE, value: false },
        ]);
      } catch (err) {
        throw tokenError('C_GenerateKey (master key)', err);
      }
    });
    const kept = await store.putMetaIfAbsent(META, id.toString('hex'));
    // Another node made one first: use that one (ours stays unused in the token).
    id = Buffer.from(kept, 'hex');
  } else {
    id = Buffer.from(recorded, 'hex');
  }
  const found = await token.withSession((session) => {
    try {
      return token.find(session, [{ type: c.CKA_CLASS, value: c.CKO_SECRET_KEY }, { type: c.CKA_ID, value: id }], 2);
    } catch (err) {
      throw tokenError('C_FindObjects (master key)', err);
    }
  });
  if (found.length !== 1) {
    throw new SignetError('KEY_TOKEN_UNAVAILABLE', `PKCS#11: the token ${token.label} does not hold this store's master key (CKA_ID ${id.toString('hex')}); nothing was changed`);
  }
  const key = found[0] as Buffer;
  const file = fileMasterWrapper(fileMaster);
  const gcm = (iv: Buffer, aad: Buffer) => ({ mechanism: c.CKM_AES_GCM, parameter: { type: c.CK_PARAMS_AES_GCM, iv, ivBits: NONCE_BYTES * 8, aad, tagBits: TAG_BYTES * 8 } });
  return {
    wrap(dataKey, associated) {
      const iv = randomBytes(NONCE_BYTES);
      const body = token.withSessionSync((session) => {
        try {
          token.p.C_EncryptInit(session, gcm(iv, associated), key);
          return Buffer.from(token.p.C_Encrypt(session, dataKey, Buffer.alloc(dataKey.length + TAG_BYTES)));
        } catch (err) {
          throw tokenError('C_Encrypt (data key)', err);
        }
      });
      return Buffer.concat([Buffer.from([TOKEN_WRAPPED_VERSION]), iv, body]);
    },
    unwrap(blob, associated, name) {
      if (blob[0] !== TOKEN_WRAPPED_VERSION) return file.unwrap(blob, associated, name);
      const failed = new SignetError('KEY_DECRYPT_FAILED', `the stored key ${name} cannot be decrypted`);
      if (blob.length < 1 + NONCE_BYTES + TAG_BYTES) throw failed;
      const iv = blob.subarray(1, 1 + NONCE_BYTES);
      const body = blob.subarray(1 + NONCE_BYTES);
      return token.withSessionSync((session) => {
        try {
          token.p.C_DecryptInit(session, gcm(Buffer.from(iv), associated), key);
          return Buffer.from(token.p.C_Decrypt(session, body, Buffer.alloc(body.length)));
        } catch (err) {
          // A wrong tag (edited blob, another binding) and a token failure look alike here:
          // CKR_ENCRYPTED_DATA_INVALID is the tag, anything else the token.
          const code = (err as { code?: number }).code;
          if (code === c.CKR_ENCRYPTED_DATA_INVALID || code === c.CKR_GENERAL_ERROR) throw failed;
          throw tokenError('C_Decrypt (data key)', err);
        }
      });
    },
  };
}
