// signet's OpenPGP core (RFC 4880 / RFC 9580, v4 and v6 keys and signatures): pure, bytes in and out,
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
  verifyDirectKeySignature,
  type GeneratedKey,
} from './key.js';
export {
  compositeSigningKey,
  COMPOSITE,
  defaultHash,
  ED25519_OID,
  P256_OID,
  PublicKeyAlgorithm,
  isComposite,
  isCompositeKey,
  KEY_ALGORITHMS,
  loadMlDsa,
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

// Whoever imports the OpenPGP core whole (the server, most commands, the tests) can sign and verify
// composite ML-DSA keys at once; light importers load ML-DSA when they meet one (public-key.ts).
import { loadMlDsa as loadMlDsaNow } from './public-key.js';
await loadMlDsaNow();
