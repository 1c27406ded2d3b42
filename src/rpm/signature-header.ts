// Rebuilding the signature header with new header signatures, laid out exactly as rpmsign does
// (sign/rpmgensig.c rpmSign: unloadImmutableRegion, headerPut of the packets, RESERVEDSPACE
// shrunk by the growth, headerReload → header.c doExport with a legacy region): one v4
// signature as rpmsign 4.14–4.19 writes it, or the rpm 6 layout of `rpmsign --rpmv6` (tag 278
// holding every signature, base64, and the legacy tag for the v4 one). docs/formats.md
// "Rebuilding the signature header in place" and "RPM 6: several signatures" have the observed
// results.
import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import { SignetError } from '../errors.js';
import { ByteCursor } from './cursor.js';
import { malformed } from './malformed.js';
import { HEADER_MAGIC, INDEX_ENTRY_SIZE, entryBytes, findEntry, readStringArray } from './header.js';
import type { ParsedHeader } from './header.js';
import { checkHeaderDigests } from './identity.js';
import { signaturePaddingFor } from './package.js';
import type { RpmPackageLayout } from './package.js';
import { RpmType, SIGNATURE_PACKET_TAGS, SigTag, Tag, typeSize } from './tags.js';

/** The key types a header signature can come from (src/openpgp KeyAlgorithm, named here because
 *  the RPM core imports no other core). rsa4096 and ecdsa-p256 sign v4 only; ed448 and the
 *  composite types v6 only; ed25519 either. */
export type SignatureAlgorithm = 'rsa4096' | 'ed25519' | 'ecdsa-p256' | 'ed448' | 'mldsa65-ed25519' | 'mldsa87-ed448';
export type SignatureTag = typeof SigTag.DSA | typeof SigTag.RSA;

/** OpenPGP public-key algorithm ids (RFC 9580 §9.1; 30, 31: draft-ietf-openpgp-pqc). */
const PUBKEY_RSA = 1;
const PUBKEY_ECDSA = 19;
const PUBKEY_EDDSA = 22;
const V6_PUBKEY: Readonly<Record<SignatureAlgorithm, number | null>> = {
  rsa4096: null, 'ecdsa-p256': null, ed25519: 27, ed448: 28, 'mldsa65-ed25519': 30, 'mldsa87-ed448': 31,
};
/** Our signatures are far smaller (an ML-DSA-87+Ed448 one is under 5 KiB); rpm itself only caps
 *  the whole signature header. */
const MAX_SIGNATURE_PACKET_BYTES = 64 * 1024;

/**
 * rpmgensig.c putSignature picks the tag from the packet's public-key algorithm: RSA →
 * RSAHEADER 268, anything else it accepts (DSA, EdDSA since 4.16, ECDSA) → DSAHEADER 267.
 */
export function signatureTagFor(algorithm: SignatureAlgorithm): SignatureTag {
  return algorithm === 'rsa4096' ? SigTag.RSA : SigTag.DSA;
}

/** Every OpenPGP signature the (unsigned, untrusted) signature header carries: one per legacy
 *  tag, and each string of tag 278 (rpm 6) decoded from base64. */
export function existingSignatures(sig: ParsedHeader): { tag: number; packet: Buffer }[] {
  if (sig.regionTag !== Tag.HEADERSIGNATURES) throw malformed('signatures are read from the signature header only');
  const found: { tag: number; packet: Buffer }[] = [];
  for (const tag of SIGNATURE_PACKET_TAGS) {
    const entry = findEntry(sig, tag);
    if (entry !== undefined) found.push({ tag, packet: entryBytes(sig, entry) });
  }
  const openpgp = findEntry(sig, SigTag.OPENPGP);
  if (openpgp !== undefined) {
    for (const text of readStringArray(sig, SigTag.OPENPGP) ?? []) {
      if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) throw malformed('tag 278 holds a string that is not base64');
      found.push({ tag: SigTag.OPENPGP, packet: Buffer.from(text, 'base64') });
    }
  }
  return found;
}

export interface SignaturePacketInfo {
  version: number;
  signatureType: number;
  pubkeyAlgorithm: number;
  hashAlgorithm: number;
}

/**
 * Just enough OpenPGP (RFC 4880 §4.2, §5.2.3) to refuse a packet that is not one v4 binary
 * signature of the expected algorithm before it is stored where rpmkeys will look for it.
 */
export function inspectSignaturePacket(packet: Uint8Array, algorithm: SignatureAlgorithm): SignaturePacketInfo {
  const bad = (reason: string) => new SignetError('OPENPGP_MALFORMED', `rpm signature packet: ${reason}`);
  if (packet.length === 0 || packet.length > MAX_SIGNATURE_PACKET_BYTES) throw bad(`size ${packet.length} out of range`);
  let cursor: ByteCursor;
  let bodyLength: number;
  try {
    cursor = new ByteCursor(packet);
    const first = cursor.uint8('packet tag');
    if ((first & 0x80) === 0) throw bad('not a packet header');
    let tag: number;
    if ((first & 0x40) === 0) {
      tag = (first >> 2) & 0x0f;
      const lengthType = first & 0x03;
      if (lengthType === 3) throw bad('indeterminate length');
      bodyLength = lengthType === 0 ? cursor.uint8('length') : lengthType === 1 ? cursor.uint16('length') : cursor.uint32('length');
    } else {
      tag = first & 0x3f;
      const l0 = cursor.uint8('length');
      if (l0 < 192) bodyLength = l0;
      else if (l0 < 224) bodyLength = ((l0 - 192) << 8) + cursor.uint8('length') + 192;
      else if (l0 === 255) bodyLength = cursor.uint32('length');
      else throw bad('partial body length');
    }
    if (tag !== 2) throw bad(`packet tag ${tag}, expected a signature (2)`);
  } catch (err) {
    if (err instanceof SignetError && err.code === 'RPM_MALFORMED') throw bad('truncated header');
    throw err;
  }
  if (cursor.remaining !== bodyLength) throw bad(`length ${bodyLength} does not match the ${cursor.remaining} bytes given (one packet only)`);
  if (bodyLength < 4) throw bad('body too short');
  const version = cursor.uint8('version');
  const signatureType = cursor.uint8('signature type');
  const pubkeyAlgorithm = cursor.uint8('public-key algorithm');
  const hashAlgorithm = cursor.uint8('hash algorithm');
  if (version !== 4 && version !== 6) throw bad(`version ${version}, expected 4 or 6`);
  if (signatureType !== 0x00) throw bad(`signature type ${signatureType}, expected binary document (0)`);
  const v4 = algorithm === 'rsa4096' ? PUBKEY_RSA : algorithm === 'ecdsa-p256' ? PUBKEY_ECDSA : algorithm === 'ed25519' ? PUBKEY_EDDSA : null;
  const expected = version === 6 ? V6_PUBKEY[algorithm] : v4;
  if (expected === null || pubkeyAlgorithm !== expected) throw bad(`public-key algorithm ${pubkeyAlgorithm} in a v${version} signature, expected ${expected ?? 'none'} for ${algorithm}`);
  // SHA-256 (8), SHA-384 (9), SHA-512 (10), and for v6 SHA3-256 (12), SHA3-512 (14): MD5 and
  // SHA-1 are broken (collisions are practical).
  const allowed = version === 6 ? [8, 9, 10, 12, 14] : [8, 9, 10];
  if (!allowed.includes(hashAlgorithm)) throw bad(`hash algorithm ${hashAlgorithm} not allowed`);
  return { version, signatureType, pubkeyAlgorithm, hashAlgorithm };
}

/**
 * Everything the signer must know before it signs `layout.header.bytes`: the immutable region
 * covers a payload digest (without one, a header signature says nothing about the payload,
 * github.com/rpm-software-management/rpm/issues/1671), the stored header digests match, and the package is not signed already unless
 * replacing was asked for.
 */
export function checkSignable(layout: RpmPackageLayout, opts: { replace?: boolean } = {}): void {
  // parseHeader admits no entry outside the region, so presence means covered by it.
  if (findEntry(layout.header, Tag.PAYLOADDIGEST) === undefined && findEntry(layout.header, Tag.PAYLOADDIGESTALT) === undefined) {
    throw malformed('no payload digest in the immutable region');
  }
  checkHeaderDigests(layout);
  const existing = existingSignatures(layout.signatureHeader);
  if (existing.length > 0 && opts.replace !== true) {
    throw new SignetError('RPM_ALREADY_SIGNED', `rpm: package already has a signature (tag ${existing.map((s) => s.tag).join(', ')})`);
  }
}

interface HeaderEntryData {
  tag: number;
  type: number;
  count: number;
  bytes: Uint8Array;
}

/** header.c alignDiff: numeric data is aligned to its element size within the data store. */
function alignedOffset(type: number, offset: number): number {
  const size = typeSize(type);
  return size > 1 ? Math.ceil(offset / size) * size : offset;
}

/** Data-store size of `entries` laid out in tag order, without the region trailer. */
function dataSizeOf(entries: readonly HeaderEntryData[]): number {
  let size = 0;
  for (const e of entries) size = alignedOffset(e.type, size) + e.bytes.length;
  return size;
}

/**
 * Serialise a signature header the way doExport writes a header with a legacy region (what
 * headerReload of a region-less header produces): index = region entry pointing at the
 * trailer, then entries by tag; data in tag order, zero-padded for alignment; the trailer
 * (62, BIN, -16 × entry count, 16) last.
 */
function serialiseSignatureHeader(sorted: readonly HeaderEntryData[]): Buffer {
  const entryCount = sorted.length + 1;
  const trailerOffset = dataSizeOf(sorted);
  const dataSize = trailerOffset + 16;
  const out = Buffer.alloc(HEADER_MAGIC.length + 8 + entryCount * INDEX_ENTRY_SIZE + dataSize);
  // Big-endian writes through a DataView (V8 builtins, fast before the JIT warms up).
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  HEADER_MAGIC.copy(out, 0);
  view.setUint32(8, entryCount);
  view.setUint32(12, dataSize);
  const dataStart = 16 + entryCount * INDEX_ENTRY_SIZE;
  const writeEntry = (at: number, tag: number, type: number, offset: number, count: number) => {
    view.setUint32(at, tag);
    view.setUint32(at + 4, type);
    view.setInt32(at + 8, offset);
    view.setUint32(at + 12, count);
  };
  const writeIndex = (i: number, tag: number, type: number, offset: number, count: number) => writeEntry(16 + i * INDEX_ENTRY_SIZE, tag, type, offset, count);
  writeIndex(0, Tag.HEADERSIGNATURES, RpmType.BIN, trailerOffset, 16);
  let offset = 0;
  sorted.forEach((e, i) => {
    offset = alignedOffset(e.type, offset);
    writeIndex(i + 1, e.tag, e.type, offset, e.count);
    out.set(e.bytes, dataStart + offset);
    offset += e.bytes.length;
  });
  // The region trailer ends the data.
  writeEntry(dataStart + trailerOffset, Tag.HEADERSIGNATURES, RpmType.BIN, -(entryCount * INDEX_ENTRY_SIZE), 16);
  return out;
}

export interface RebuiltSignatureHeader {
  /** New signature header bytes followed by its zero padding to 8. */
  signatureHeader: Buffer;
  /**
   * True: same length as the old header + padding, so it overwrites bytes 96… in place and
   * nothing after it moves. False: the caller must write lead ‖ this ‖ main header ‖ payload.
   */
  inPlace: boolean;
}

/**
 * Add `signaturePacket` (a v4 signature of `layout.header.bytes`) to the signature header.
 * Keeps every entry but the region and RESERVEDSPACE (and, with `replace`, every existing
 * signature, as rpmgensig.c deleteSigs does), then sizes RESERVEDSPACE so index + data keep
 * their old total. When RESERVEDSPACE cannot absorb the growth (or is absent), it is kept at its
 * old size and the header grows, as rpmsign does.
 */
export function rebuildSignatureHeader(
  layout: RpmPackageLayout,
  signaturePacket: Buffer,
  algorithm: SignatureAlgorithm,
  opts: { replace?: boolean } = {},
): RebuiltSignatureHeader {
  return rebuildSignatureHeaderWith(layout, [{ packet: signaturePacket, algorithm }], { ...opts, rpmv6: false });
}

/** One header signature to write, with the type of the key that made it. */
export interface HeaderSignature {
  readonly packet: Buffer;
  readonly algorithm: SignatureAlgorithm;
}

/**
 * Several header signatures at once, as `rpmsign --rpmv6 --addsign` run once per key writes
 * them (rpm 6.1, checked in test/interop/rpm6.test.ts): tag 278 (OPENPGP, STRING_ARRAY) holds
 * every packet as base64 in the given order, and the first v4 signature also goes into its
 * legacy tag (268 RSA, 267 EdDSA) so rpm 4.x still finds it. `rpmv6: false` (one v4 signature
 * only) is the rpm 4.14–4.19 layout: the legacy tag alone. A v6 signature needs rpm 6, so it is
 * always written in the rpm 6 layout.
 */
export function rebuildSignatureHeaderWith(
  layout: RpmPackageLayout,
  signatures: readonly HeaderSignature[],
  opts: { replace?: boolean; rpmv6: boolean },
): RebuiltSignatureHeader {
  checkSignable(layout, opts);
  if (signatures.length === 0) throw new SignetError('BAD_REQUEST', 'rpm: no signature to write');
  const versions = signatures.map((s) => inspectSignaturePacket(s.packet, s.algorithm).version);
  const rpmv6 = opts.rpmv6 || signatures.length > 1 || versions.includes(6);
  const sig = layout.signatureHeader;

  const kept: HeaderEntryData[] = [];
  let reserved: HeaderEntryData | undefined;
  for (const e of sig.entries.slice(1)) {
    const data = { tag: e.tag, type: e.type, count: e.count, bytes: entryBytes(sig, e) };
    if (e.tag === SigTag.RESERVEDSPACE) reserved = data;
    else if (!SIGNATURE_PACKET_TAGS.includes(e.tag) && e.tag !== SigTag.OPENPGP) kept.push(data);
    // Existing signatures: checkSignable refused them unless replace, and replace drops them.
  }
  const legacy = signatures.findIndex((_, i) => versions[i] === 4);
  if (legacy >= 0) {
    const { packet, algorithm } = signatures[legacy]!;
    kept.push({ tag: signatureTagFor(algorithm), type: RpmType.BIN, count: packet.length, bytes: packet });
  }
  if (rpmv6) {
    // rpm 6 writes each packet as one base64 line (no armor, no line breaks), NUL-terminated.
    const strings = signatures.map((s) => Buffer.from(`${s.packet.toString('base64')}\0`, 'latin1'));
    kept.push({ tag: SigTag.OPENPGP, type: RpmType.STRING_ARRAY, count: strings.length, bytes: Buffer.concat(strings) });
  }
  const byTag = (a: HeaderEntryData, b: HeaderEntryData) => a.tag - b.tag;

  // index + data of the old header; the new one (one region entry and trailer alike) must match.
  const oldSize = sig.bytes.length;
  if (reserved !== undefined) {
    const withoutReserved = [...kept, { ...reserved, count: 0, bytes: new Uint8Array(0) }].sort(byTag);
    const fixedSize = 16 + (withoutReserved.length + 1) * INDEX_ENTRY_SIZE + dataSizeOf(withoutReserved) + 16;
    // rpmgensig.c: only when the shrunk RESERVEDSPACE keeps at least one byte (diff < count).
    const reservedSize = oldSize - fixedSize;
    if (reservedSize >= 1) {
      const entries = [...kept, { ...reserved, count: reservedSize, bytes: new Uint8Array(reservedSize) }].sort(byTag);
      const header = serialiseSignatureHeader(entries);
      // RESERVEDSPACE (BIN, align 1) is the highest signature tag, so nothing after it shifts;
      // verify anyway rather than overwrite the main header.
      if (header.length === oldSize) {
        return { signatureHeader: withPadding(header), inPlace: true };
      }
    }
    kept.push(reserved);
  }
  const header = serialiseSignatureHeader(kept.sort(byTag));
  const padded = withPadding(header);
  return { signatureHeader: padded, inPlace: padded.length === oldSize + layout.signaturePadding };
}

function withPadding(header: Buffer): Buffer {
  return Buffer.concat([header, Buffer.alloc(signaturePaddingFor(header.length))]);
}

/**
 * What `signet rpm sign` sends for a package: lead ‖ its signature header without RESERVEDSPACE
 * ‖ padding ‖ main header. RESERVEDSPACE is zeros that only keep room for a signature in the file
 * (4 KiB of a typical 6 KiB prefix); every other entry stays (header digests, any existing
 * signature), so the server checks what it would check on the file's own prefix, and signs the
 * same main header bytes.
 */
export function compactPrefix(layout: RpmPackageLayout): Buffer {
  const sig = layout.signatureHeader;
  const kept: HeaderEntryData[] = [];
  for (const e of sig.entries.slice(1)) {
    if (e.tag !== SigTag.RESERVEDSPACE) kept.push({ tag: e.tag, type: e.type, count: e.count, bytes: entryBytes(sig, e) });
  }
  if (kept.length === sig.entries.length - 1) {
    return Buffer.concat([layout.lead, sig.bytes, Buffer.alloc(layout.signaturePadding), layout.header.bytes]);
  }
  const header = serialiseSignatureHeader(kept.sort((a, b) => a.tag - b.tag));
  return Buffer.concat([layout.lead, withPadding(header), layout.header.bytes]);
}

/** The complete prefix (lead ‖ signature header ‖ padding ‖ main header) after a rebuild. */
export function assemblePrefix(layout: RpmPackageLayout, rebuilt: RebuiltSignatureHeader): Buffer {
  return Buffer.concat([layout.lead, rebuilt.signatureHeader, layout.header.bytes]);
}

const LEAD_MAGIC = Buffer.from([0xed, 0xab, 0xee, 0xdb]);

/**
 * The prefix form POST /v1/sign/:key/rpm takes, for a caller that holds only the main header:
 * rpmsign (4.14–4.19) hands gpg exactly the main header bytes (magic through data) on stdin, and
 * signet-gpg forwards them here. A minimal v3 lead (signature type 5) and a signature header
 * holding only the header digests (tags 269, 273, computed from these bytes) make a prefix the
 * server parses and checks as strictly as a real package's; nothing in them is trusted.
 */
export function prefixForMainHeader(mainHeader: Buffer): Buffer {
  const lead = Buffer.alloc(96);
  LEAD_MAGIC.copy(lead, 0);
  lead.writeUInt8(3, 4); // major
  lead.writeUInt16BE(1, 76); // osnum
  lead.writeUInt16BE(5, 78); // signature type: header signature
  const sha1 = createHash('sha1').update(mainHeader).digest('hex');
  const sha256 = createHash('sha256').update(mainHeader).digest('hex');
  const text = (s: string) => Buffer.from(`${s}\0`, 'latin1');
  const signatureHeader = serialiseSignatureHeader([
    { tag: SigTag.SHA1, type: RpmType.STRING, count: 1, bytes: text(sha1) },
    { tag: SigTag.SHA256, type: RpmType.STRING, count: 1, bytes: text(sha256) },
  ]);
  return Buffer.concat([lead, withPadding(signatureHeader), mainHeader]);
}
