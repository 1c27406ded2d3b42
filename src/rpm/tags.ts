// Tag and type numbers from rpm's include/rpm/rpmtag.h (4.14–4.19) and lib/header.c.

/** Data types (rpmTagType). RPM_MIN_TYPE is 1: type 0 (NULL) never appears on disk. */
export const RpmType = {
  CHAR: 1,
  INT8: 2,
  INT16: 3,
  INT32: 4,
  INT64: 5,
  STRING: 6,
  BIN: 7,
  STRING_ARRAY: 8,
  I18NSTRING: 9,
} as const;
export const RPM_MIN_TYPE = 1;
export const RPM_MAX_TYPE = 9;

/** Bytes per element; -1 for NUL-terminated string types (header.c typeSizes). */
export function typeSize(type: number): number {
  switch (type) {
    case RpmType.CHAR:
    case RpmType.INT8:
    case RpmType.BIN:
      return 1;
    case RpmType.INT16:
      return 2;
    case RpmType.INT32:
      return 4;
    case RpmType.INT64:
      return 8;
    default:
      return -1;
  }
}

/** Alignment of an entry's data within the data store (header.c typeAlign). */
export function typeAlignment(type: number): number {
  const size = typeSize(type);
  return size > 1 ? size : 1;
}

/** Region tags: HEADERIMAGE 61, HEADERSIGNATURES 62, HEADERIMMUTABLE 63; tags < 100 are reserved. */
export const Tag = {
  HEADERIMAGE: 61,
  HEADERSIGNATURES: 62,
  HEADERIMMUTABLE: 63,
  HEADERI18NTABLE: 100,
  NAME: 1000,
  VERSION: 1001,
  RELEASE: 1002,
  EPOCH: 1003,
  ARCH: 1022,
  SOURCERPM: 1044,
  PAYLOADDIGEST: 5092,
  PAYLOADDIGESTALGO: 5093,
  PAYLOADDIGESTALT: 5097,
} as const;

/** Signature-header tags (RPMSIGTAG_*; the 26x/27x ones share numbers with RPMTAG_*HEADER). */
export const SigTag = {
  BADSHA1_1: 264,
  BADSHA1_2: 265,
  DSA: 267,
  RSA: 268,
  SHA1: 269,
  LONGSIZE: 270,
  LONGARCHIVESIZE: 271,
  SHA256: 273,
  FILESIGNATURES: 274,
  FILESIGNATURELENGTH: 275,
  VERITYSIGNATURES: 276,
  VERITYSIGNATUREALGO: 277,
  /** rpm 6 (RPMSIGTAG_OPENPGP): every OpenPGP header signature, each base64 in a string array;
   *  written by `rpmsign --rpmv6` next to the legacy 267/268 for a v4 signature. */
  OPENPGP: 278,
  SIZE: 1000,
  LEMD5_1: 1001,
  PGP: 1002,
  LEMD5_2: 1003,
  MD5: 1004,
  GPG: 1005,
  PGP5: 1006,
  PAYLOADSIZE: 1007,
  RESERVEDSPACE: 1008,
} as const;

/**
 * The only tags a 4.14–4.19 signature header may hold, with their types (rpmvs.c checks
 * signatures are BIN and digests STRING). Anything else there is ambiguity we refuse
 * (docs/formats.md "What is signed, what is trusted"): e.g. PAYLOADDIGEST 5092 belongs to the signed main header only.
 */
export const SIGNATURE_HEADER_TAG_TYPES: ReadonlyMap<number, number> = new Map([
  [SigTag.BADSHA1_1, RpmType.BIN],
  [SigTag.BADSHA1_2, RpmType.BIN],
  [SigTag.DSA, RpmType.BIN],
  [SigTag.RSA, RpmType.BIN],
  [SigTag.SHA1, RpmType.STRING],
  [SigTag.LONGSIZE, RpmType.INT64],
  [SigTag.LONGARCHIVESIZE, RpmType.INT64],
  [SigTag.SHA256, RpmType.STRING],
  [SigTag.FILESIGNATURES, RpmType.STRING_ARRAY],
  [SigTag.FILESIGNATURELENGTH, RpmType.INT32],
  [SigTag.VERITYSIGNATURES, RpmType.STRING_ARRAY],
  [SigTag.VERITYSIGNATUREALGO, RpmType.INT32],
  [SigTag.OPENPGP, RpmType.STRING_ARRAY],
  [SigTag.SIZE, RpmType.INT32],
  [SigTag.LEMD5_1, RpmType.BIN],
  [SigTag.PGP, RpmType.BIN],
  [SigTag.LEMD5_2, RpmType.BIN],
  [SigTag.MD5, RpmType.BIN],
  [SigTag.GPG, RpmType.BIN],
  [SigTag.PGP5, RpmType.BIN],
  [SigTag.PAYLOADSIZE, RpmType.INT32],
  [SigTag.RESERVEDSPACE, RpmType.BIN],
]);

/** Signature tags that carry one OpenPGP signature packet (rpmgensig.c deleteSigs); tag 278
 *  (OPENPGP) carries several, base64 (src/rpm/signature-header.ts). */
export const SIGNATURE_PACKET_TAGS: readonly number[] = [SigTag.DSA, SigTag.RSA, SigTag.PGP, SigTag.GPG, SigTag.PGP5];

/**
 * In the main header, RPMTAG_SIG_BASE+1 … +21 (257–277) are the signature tags as rpm merges
 * them into installed headers; a package file's main header never holds them (PUBKEYS 266
 * aside, which is not a signature). Finding one there means someone smuggled a signature or
 * digest into the signed header: reject (CVE-2021-20271 family).
 */
export function isSignatureTagInMainHeader(tag: number): boolean {
  return tag >= 257 && tag <= 278 && tag !== 266;
}
