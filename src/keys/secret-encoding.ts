// How a signing key's private half is stored before sealing (src/keys/seal.ts). node:crypto keys
// (RSA, Ed25519, Ed448) are PKCS#8 DER, as they always were. A composite ML-DSA + EdDSA key
// (docs/keys.md "Profiles: OpenPGP v4 and v6") has no PKCS#8 form in Node 20, so it is stored as
//   "SGC1" ‖ OpenPGP algorithm ID (30 or 31) ‖ 2-byte length ‖ EdDSA PKCS#8 ‖ 32-byte ML-DSA seed
// (the seed form of FIPS 204 §3.6.3, as draft-ietf-openpgp-pqc stores it). PKCS#8 DER starts with
// 0x30, so the two forms cannot be confused.
import { Buffer } from 'node:buffer';
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { SignetError } from '../errors.js';
import { COMPOSITE, compositeSigningKey, isCompositeKey, MLDSA_SEED_BYTES, type CompositeAlgorithm, type SigningKey } from '../openpgp/index.js';

const MAGIC = Buffer.from('SGC1');

/** The bytes to seal; the caller wipes them. */
export function encodeSigningKey(key: SigningKey): Buffer {
  if (!isCompositeKey(key)) return key.export({ format: 'der', type: 'pkcs8' });
  const ed = key.ed.export({ format: 'der', type: 'pkcs8' });
  const head = Buffer.alloc(3);
  head[0] = COMPOSITE[key.algorithm].id;
  head.writeUInt16BE(ed.length, 1);
  const out = Buffer.concat([MAGIC, head, ed, key.mldsaSeed]);
  ed.fill(0);
  return out;
}

function unreadable(): SignetError {
  return new SignetError('KEY_DECRYPT_FAILED', 'the stored key cannot be read');
}

/** The signing key from unsealed bytes. */
export function decodeSigningKey(bytes: Buffer): SigningKey {
  if (!bytes.subarray(0, 4).equals(MAGIC)) return createPrivateKey({ key: bytes, format: 'der', type: 'pkcs8' });
  if (bytes.length < 7) throw unreadable();
  const id = bytes[4];
  const algorithm = (Object.keys(COMPOSITE) as CompositeAlgorithm[]).find((a) => COMPOSITE[a].id === id);
  const edLength = bytes.readUInt16BE(5);
  if (!algorithm || bytes.length !== 7 + edLength + MLDSA_SEED_BYTES) throw unreadable();
  const ed: KeyObject = createPrivateKey({ key: bytes.subarray(7, 7 + edLength), format: 'der', type: 'pkcs8' });
  return compositeSigningKey(algorithm, ed, bytes.subarray(7 + edLength));
}
