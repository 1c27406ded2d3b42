// signet's OpenPGP core (RFC 4880 / RFC 9580, v4 and v6 keys and signatures): pure, bytes in and out,
// depending only on node:crypto and node:buffer.
export { armor, crc24, dearmor, type ArmorKind } from './armor.js';
export { clearsignedMessage, parseClearsigned, verifyClearsigned } from './cleartext.js';
export {
  buildTransferablePublicKey,
  generateKey,
  keyIdHex,
  parseTransferablePublicKey,
  publicKeysFromArmor,
  verifyDirectKeySignature,
  type GeneratedKey,
} from './key.js';
export {
  compositeSigningKey,
  COMPOSITE,
  defaultHash,
  ED25519_OID,
  isComposite,
  isCompositeKey,
  KEY_ALGORITHMS,
  KEY_PROFILES,
  MLDSA_SEED_BYTES,
  profileAllows,
  profileVersion,
  publicKeyInfoFor,
  publicKeyMaterial,
  type CompositeAlgorithm,
  type CompositeSigningKey,
  type KeyProfile,
  type KeyVersion,
  type SigningKey,
  HASH_ID,
  parsePublicKeyBody,
  pkAlgorithmId,
  publicKeyInfo,
  publicKeyObject,
  type HashAlgorithm,
  type KeyAlgorithm,
  type PublicKeyInfo,
} from './public-key.js';
export { keyBodyFindings, policyFindings, signatureBodyFindings, type PolicyFinding } from './policy.js';
export { importSecretKey, type ImportedKey } from './secret-key.js';
export {
  buildSignaturePacket,
  createSignatureHash,
  newSalt,
  SALT_BYTES,
  parseSignaturePacket,
  signatureHashedArea,
  signatureTrailer,
  signDetached,
  signDigest,
  verifyDetached,
  verifyDetachedStream,
  type ParsedSignature,
  type SignatureHash,
  type SignatureParams,
  type SignatureType,
  type Subpacket,
  type VerifyResult,
} from './signature.js';
export { canonicalText, TextModeConverter } from './text.js';
