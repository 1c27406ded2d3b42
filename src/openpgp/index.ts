// signet's OpenPGP core (RFC 4880 / RFC 9580, v4 keys and signatures): pure, bytes in and out,
// depending only on node:crypto and node:buffer.
export { armor, crc24, dearmor, type ArmorKind } from './armor.js';
export {
  bindSigningSubkey,
  certifyUserId,
  editCertificate,
  keyRevocation,
  parseKeyring,
  REVOCATION_REASONS,
  selfCertification,
  signingKeysOf,
  splitKeyring,
  userIdKey,
  type CertificateView,
  type CertifyingKey,
  type RevocationReason,
} from './certificate.js';
export { clearsignedMessage, parseClearsigned, verifyClearsigned } from './cleartext.js';
export {
  buildTransferablePublicKey,
  certifyKey,
  generateKey,
  keyIdHex,
  parseTransferablePublicKey,
  publicKeysFromArmor,
  type GeneratedKey,
} from './key.js';
export {
  defaultHash,
  ED25519_OID,
  P256_OID,
  PublicKeyAlgorithm,
  HASH_ID,
  parsePublicKeyBody,
  pkAlgorithmId,
  publicKeyInfo,
  publicKeyObject,
  type HashAlgorithm,
  type KeyAlgorithm,
  type PublicKeyInfo,
} from './public-key.js';
export { importSecretKey, type ImportedKey } from './secret-key.js';
export {
  buildSignaturePacket,
  createSignatureHash,
  parseSignaturePacket,
  rsaDigestInfo,
  signatureHashedArea,
  signatureTrailer,
  signDetached,
  signDetachedWith,
  signDigest,
  verifyDetached,
  verifyDetachedStream,
  type ParsedSignature,
  type SignatureHash,
  type SignatureParams,
  type SignatureType,
  type DigestSigner,
  type Subpacket,
  type VerifyResult,
} from './signature.js';
export { canonicalText, TextModeConverter } from './text.js';
