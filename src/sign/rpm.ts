// Batch RPM header signing (POST /v1/sign/:key/rpm). The client sends each package's prefix
// (lead ‖ signature header ‖ padding ‖ main header, never the payload); here every prefix is
// re-parsed as strictly as a whole file would be, the package identity (NEVRA, payload digest)
// is read from the main header only — the signature header is unsigned and attacker-controlled
// (docs/formats.md "What is signed, what is trusted") — and the main header bytes are signed as rpmsign 4.14–4.19 does: a v4
// binary-document signature (type 0x00) over the header from its magic through its data
// (docs/formats.md "RPM").
import { SignetError, type ErrorCode } from '../errors.js';
import {
  buildSignaturePacket,
  createSignatureHash,
  defaultHash,

  type HashAlgorithm,
} from '../openpgp/index.js';
import { checkSignable, packageIdentity, parseRpmPrefix, type PackageIdentity } from '../rpm/index.js';
import type { Signer } from './engine.js';

/** Largest prefix (lead + both headers) accepted per package. rpm's own reader allows headers up
 *  to 256 MiB, but real main headers are kilobytes to a few MiB (a kernel package with 10 000
 *  files is about 4 MiB); 32 MiB leaves room without letting one request pin much memory. */
import { MAX_RPM_BATCH, MAX_RPM_PREFIX_BYTES } from '../api/limits.js';
export { MAX_RPM_BATCH, MAX_RPM_PREFIX_BYTES };

export interface RpmSignOptions {
  readonly replace: boolean;
  /** Signature creation time, Unix seconds (one per batch; defaults to now). */
  readonly creationTime?: number;
  /** Throws (POLICY_DENIED, RATE_LIMITED, …) when the caller may not sign this package name. */
  readonly authorize: (packageName: string) => Promise<void>;
}

/** What the server knows about one signed package: from the signed main header only. */
export interface RpmSignedItem {
  readonly ok: true;
  readonly packet: Buffer;
  readonly identity: PackageIdentity;
}

export interface RpmFailedItem {
  readonly ok: false;
  readonly error: SignetError;
  /** Present when the header parsed far enough to name the package. */
  readonly identity?: PackageIdentity;
}

export type RpmItemResult = RpmSignedItem | RpmFailedItem;

export interface RpmBatchResult<S extends Signer> {
  readonly items: RpmItemResult[];
  readonly creationTime: number;
  /** The key that signed and its hash; absent when no package was admitted. */
  readonly signer?: S;
  readonly hashAlgorithm?: HashAlgorithm;
}

/** Errors that belong to one package and must not fail the whole batch. */
const PER_ITEM_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'RPM_MALFORMED',
  'RPM_ALREADY_SIGNED',
  'OPENPGP_MALFORMED',
  'POLICY_DENIED',
  'RATE_LIMITED',
  'BODY_INVALID',
  // A name tag longer than policies' names may be (255 bytes): that package only.
  'NAME_INVALID',
]);

interface Admitted {
  readonly index: number;
  readonly header: Buffer;
  readonly identity: PackageIdentity;
}

/**
 * Parse, check and authorise each prefix, then sign the admitted ones in parallel. The signer is
 * requested only when at least one package was admitted, so a caller denied everything learns
 * nothing about the key. Per-package failures become items; a failing key or signer fails the batch.
 */
export async function signRpmHeaders<S extends Signer>(
  prefixes: readonly Buffer[],
  getSigner: () => Promise<S>,
  options: RpmSignOptions,
): Promise<RpmBatchResult<S>> {
  const creationTime = options.creationTime ?? Math.floor(Date.now() / 1000);
  const items: RpmItemResult[] = new Array<RpmItemResult>(prefixes.length);
  const admitted: Admitted[] = [];
  for (const [index, prefix] of prefixes.entries()) {
    let identity: PackageIdentity | undefined;
    try {
      const layout = parseRpmPrefix(prefix, { maxHeaderBytes: MAX_RPM_PREFIX_BYTES });
      // The prefix must end where the payload starts: trailing bytes are either payload the
      // client should not send or garbage, and are refused rather than ignored.
      if (layout.payloadOffset !== prefix.length) {
        throw new SignetError('RPM_MALFORMED', `rpm: ${prefix.length - layout.payloadOffset} bytes after the main header (send lead and headers only)`);
      }
      identity = packageIdentity(layout.header);
      checkSignable(layout, { replace: options.replace });
      // Policies' `names` match the package name (docs/policy.md), checked per package.
      await options.authorize(identity.name);
      admitted.push({ index, header: layout.header.bytes, identity });
    } catch (err) {
      if (err instanceof SignetError && PER_ITEM_CODES.has(err.code)) {
        items[index] = { ok: false, error: err, ...(identity ? { identity } : {}) };
        continue;
      }
      throw err;
    }
  }
  if (admitted.length === 0) return { items, creationTime };

  const signer = await getSigner();
  const hashAlgorithm = defaultHash(signer.info.algorithm, signer.info.version);
  const packets = await Promise.all(admitted.map((a) => signHeader(signer, a.header, hashAlgorithm, creationTime)));
  admitted.forEach((a, i) => {
    items[a.index] = { ok: true, packet: packets[i]!, identity: a.identity };
  });
  return { items, hashAlgorithm, creationTime, signer };
}

/**
 * One v4 type-0x00 signature over the main header bytes. gpg (and so rpmsign) picks SHA-512 for
 * RSA-4096 and SHA-256 for Ed25519 (docs/formats.md "Signatures"). The key handle signs the
 * digest off the event loop, so a batch uses every core (or the token's sessions).
 */
export async function signHeader(signer: Signer, header: Buffer, hashAlgorithm: HashAlgorithm, creationTime: number): Promise<Buffer> {
  const hash = createSignatureHash({ type: 0x00, hashAlgorithm, creationTime, signer: signer.info });
  hash.update(header);
  const { hashedArea, digest, salt } = hash.finish();
  let raw: Buffer;
  try {
    raw = await signer.signDigest(hashAlgorithm, digest);
  } catch (cause) {
    throw new SignetError('SIGNER_UNAVAILABLE', 'the signing operation failed', { cause });
  }
  return buildSignaturePacket(hashedArea, digest, raw, signer.info, salt);
}
