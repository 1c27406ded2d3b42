// RPM lead/header parser and signature-header rewrite (docs/architecture.md "Layers"). Pure: bytes in,
// bytes out; no I/O.
export {
  DEFAULT_MAX_HEADER_BYTES,
  HEADER_MAGIC,
  MAX_HEADER_ENTRIES,
  MAX_SIGNATURE_HEADER_ENTRIES,
  entryBytes,
  findEntry,
  parseHeader,
  readHeaderSize,
  readInt32,
  readString,
  readStringArray,
} from './header.js';
export type { HeaderSize, ParseHeaderOptions, ParsedHeader, RegionTag, RpmHeaderIndexEntry } from './header.js';
export { LEAD_SIZE, parseRpmPrefix, rpmPrefixLength, signaturePaddingFor } from './package.js';
export type { PrefixOptions, RpmPackageLayout, RpmPrefixProgress } from './package.js';
export { checkHeaderDigests, headerDigests, packageIdentity } from './identity.js';
export type { PackageIdentity } from './identity.js';
export {
  assemblePrefix,
  compactPrefix,
  checkSignable,
  existingSignatures,
  inspectSignaturePacket,
  prefixForMainHeader,
  rebuildSignatureHeader,
  rebuildSignatureHeaderWith,
  signatureTagFor,
} from './signature-header.js';
export type { HeaderSignature, RebuiltSignatureHeader, SignatureAlgorithm, SignaturePacketInfo, SignatureTag } from './signature-header.js';
export { RpmType, SigTag, Tag } from './tags.js';
export { exerciseRpmPrefix } from './fuzz-harness.js';
export type { FuzzOutcome } from './fuzz-harness.js';
