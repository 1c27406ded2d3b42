// An RPM package file up to its payload: 96-byte lead ‖ signature header ‖ zero padding to 8 ‖
// main header (docs/formats.md "File layout"; rpm lib/rpmlead.c, lib/signature.c
// rpmReadSignature/rpmWriteSignature, lib/package.c). The payload is never needed.
import type { Buffer } from 'node:buffer';
import { ByteCursor } from './cursor.js';
import { malformed } from './malformed.js';
import { DEFAULT_MAX_HEADER_BYTES, HEADER_PREAMBLE_SIZE, parseHeader, readHeaderSize } from './header.js';
import type { ParsedHeader } from './header.js';

export const LEAD_SIZE = 96;
const LEAD_MAGIC = 0xedabeedb;
/** RPMSIGTYPE_HEADERSIG: the only signature type rpm ≥ 4 reads (rpmLeadCheck). */
const SIGNATURE_TYPE_HEADERSIG = 5;
/** lead layout: magic 4, major 1, minor 1, type 2, archnum 2, name 66, osnum 2, signature_type 2. */
const LEAD_SIGNATURE_TYPE_OFFSET = 78;

export interface RpmPackageLayout {
  /** The 96-byte lead (zero-copy view). */
  lead: Buffer;
  signatureHeader: ParsedHeader;
  /** Zero bytes after the signature header so the main header starts on a multiple of 8. */
  signaturePadding: number;
  /** Main header; `header.bytes` is exactly what a v4 header signature covers. */
  header: ParsedHeader;
  headerOffset: number;
  payloadOffset: number;
}

export interface PrefixOptions {
  /** Cap on each header's index + data bytes; default 64 MiB. */
  maxHeaderBytes?: number;
}

/** How far `rpmPrefixLength` got with the bytes it was given. */
export type RpmPrefixProgress =
  | { complete: true; length: number }
  /** Read at least `needBytes` from the start of the file (never past the payload), then ask again. */
  | { complete: false; needBytes: number };

/** rpmWriteSignature pads the signature header (magic included) to a multiple of 8. */
export function signaturePaddingFor(signatureHeaderSize: number): number {
  return (8 - (signatureHeaderSize % 8)) % 8;
}

function checkLead(bytes: Uint8Array): Buffer {
  const cursor = new ByteCursor(bytes);
  const lead = cursor.block(LEAD_SIZE, 'lead');
  if (lead.readUInt32BE(0) !== LEAD_MAGIC) throw malformed(`lead: bad magic ${lead.subarray(0, 4).toString('hex')}`);
  const major = lead.readUInt8(4);
  if (major !== 3 && major !== 4) throw malformed(`lead: unsupported major version ${major}`);
  const signatureType = lead.readUInt16BE(LEAD_SIGNATURE_TYPE_OFFSET);
  if (signatureType !== SIGNATURE_TYPE_HEADERSIG) throw malformed(`lead: signature type ${signatureType}, expected 5`);
  return lead;
}

/**
 * How many bytes from the start of the file hold lead + headers. Call with what you have read
 * so far (start with 112 bytes or more); at most three rounds. Structural checks on what it
 * reads (magics, entry and size caps) happen here already, so a hostile file cannot make a
 * client read more than the caps allow.
 */
export function rpmPrefixLength(firstBytes: Uint8Array, opts: PrefixOptions = {}): RpmPrefixProgress {
  const maxBytes = opts.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES;
  const needSignaturePreamble = LEAD_SIZE + HEADER_PREAMBLE_SIZE;
  if (firstBytes.length < needSignaturePreamble) return { complete: false, needBytes: needSignaturePreamble };
  checkLead(firstBytes);
  const signature = readHeaderSize(firstBytes, LEAD_SIZE, { isSignatureHeader: true, maxBytes });
  const headerOffset = LEAD_SIZE + signature.totalSize + signaturePaddingFor(signature.totalSize);
  if (firstBytes.length < headerOffset + HEADER_PREAMBLE_SIZE) {
    return { complete: false, needBytes: headerOffset + HEADER_PREAMBLE_SIZE };
  }
  const header = readHeaderSize(firstBytes, headerOffset, { isSignatureHeader: false, maxBytes });
  return { complete: true, length: headerOffset + header.totalSize };
}

/**
 * Parse lead and both headers strictly. `bytes` must hold at least the prefix (see
 * rpmPrefixLength); anything after it is payload and is not looked at.
 */
export function parseRpmPrefix(bytes: Uint8Array, opts: PrefixOptions = {}): RpmPackageLayout {
  const maxBytes = opts.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES;
  const lead = checkLead(bytes);
  const signatureHeader = parseHeader(bytes, LEAD_SIZE, { isSignatureHeader: true, maxBytes });
  const signaturePadding = signaturePaddingFor(signatureHeader.bytes.length);
  const padding = new ByteCursor(bytes).seek(LEAD_SIZE + signatureHeader.bytes.length, 'signature padding').block(signaturePadding, 'signature padding');
  if (padding.some((b) => b !== 0)) throw malformed('signature header padding is not zero');
  const headerOffset = LEAD_SIZE + signatureHeader.bytes.length + signaturePadding;
  const header = parseHeader(bytes, headerOffset, { isSignatureHeader: false, maxBytes });
  return {
    lead,
    signatureHeader,
    signaturePadding,
    header,
    headerOffset,
    payloadOffset: headerOffset + header.bytes.length,
  };
}
