// What a package is, read only from the main header: its immutable region is what the header
// signature covers, while the signature header is unsigned and attacker-controlled, so nothing
// from it reaches trusted output or log metadata (docs/formats.md "What is signed, what is trusted"; CVE-2021-20271).
import { createHash } from 'node:crypto';
import { malformed } from './malformed.js';
import { findEntry, readInt32, readString, readStringArray } from './header.js';
import type { ParsedHeader } from './header.js';
import type { RpmPackageLayout } from './package.js';
import { SigTag, Tag } from './tags.js';

export interface PackageIdentity {
  name: string;
  epoch: number | null;
  version: string;
  release: string;
  arch: string;
  /** `name-[epoch:]version-release.arch`, as rpm's %{nevra}. */
  nevra: string;
  /** First PAYLOADDIGEST (5092) value, hex. */
  payloadDigest: string | null;
  /** PAYLOADDIGESTALGO (5093): an OpenPGP hash id, 8 = SHA-256. */
  payloadDigestAlgo: number | null;
  /** SHA-256 of the main header bytes (what a v4 header signature covers), hex. */
  headerSha256: string;
}

function requireMainHeader(header: ParsedHeader): void {
  if (header.regionTag !== Tag.HEADERIMMUTABLE) throw malformed('identity must come from the main header');
}

// Names go into log metadata and terminals: refuse control characters outright.
function identityField(header: ParsedHeader, tag: number, what: string): string | null {
  const value = readString(header, tag);
  if (value === null) return null;
  if (value.length === 0 || [...value].some((c) => c.charCodeAt(0) < 0x20 || c === '\x7f')) throw malformed(`${what} is empty or has control characters`);
  return value;
}

function singleInt32(header: ParsedHeader, tag: number, what: string): number | null {
  const values = readInt32(header, tag);
  if (values === null) return null;
  if (values.length !== 1) throw malformed(`${what} has ${values.length} values, expected 1`);
  return values[0]!;
}

export function packageIdentity(header: ParsedHeader): PackageIdentity {
  requireMainHeader(header);
  const required = (tag: number, what: string): string => {
    const value = identityField(header, tag, what);
    if (value === null) throw malformed(`main header has no ${what}`);
    return value;
  };
  const name = required(Tag.NAME, 'name');
  const version = required(Tag.VERSION, 'version');
  const release = required(Tag.RELEASE, 'release');
  // tagexts.c getNEVRA: a source package (no SOURCERPM tag) without ARCH is "src".
  const isSource = findEntry(header, Tag.SOURCERPM) === undefined;
  const arch = identityField(header, Tag.ARCH, 'arch') ?? (isSource ? 'src' : null);
  if (arch === null) throw malformed('main header has no arch');
  const epoch = singleInt32(header, Tag.EPOCH, 'epoch');
  const digests = readStringArray(header, Tag.PAYLOADDIGEST);
  const payloadDigest = digests?.[0] ?? null;
  if (payloadDigest !== null && !/^[0-9a-f]+$/u.test(payloadDigest)) throw malformed('payload digest is not lower-case hex');
  return {
    name,
    epoch,
    version,
    release,
    arch,
    nevra: `${name}-${epoch === null ? '' : `${epoch}:`}${version}-${release}.${arch}`,
    payloadDigest,
    payloadDigestAlgo: singleInt32(header, Tag.PAYLOADDIGESTALGO, 'payload digest algorithm'),
    headerSha256: createHash('sha256').update(header.bytes).digest('hex'),
  };
}

/** Digests of the main header bytes, as rpm stores them in signature tags 269 and 273. */
export function headerDigests(header: ParsedHeader): { sha1: string; sha256: string } {
  requireMainHeader(header);
  return {
    sha1: createHash('sha1').update(header.bytes).digest('hex'),
    sha256: createHash('sha256').update(header.bytes).digest('hex'),
  };
}

/**
 * The signature header's SHA256 (273, written by rpm ≥ 4.14) and, if present, SHA1 (269) must
 * match the main header: signing a header they do not match yields a package rpmkeys rejects.
 */
export function checkHeaderDigests(layout: RpmPackageLayout): void {
  const actual = headerDigests(layout.header);
  const sha256 = readString(layout.signatureHeader, SigTag.SHA256);
  if (sha256 === null) throw malformed('signature header has no header SHA256 digest (tag 273)');
  if (sha256 !== actual.sha256) throw malformed('header SHA256 digest (tag 273) does not match the main header');
  const sha1 = readString(layout.signatureHeader, SigTag.SHA1);
  if (sha1 !== null && sha1 !== actual.sha1) throw malformed('header SHA1 digest (tag 269) does not match the main header');
}
