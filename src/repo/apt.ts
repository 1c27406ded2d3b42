// apt repositories: `Release` -> `InRelease` (cleartext-signed) and `Release.gpg` (armored
// detached), both SHA-512 (apt treats SHA-1 signatures as worthless; docs/formats.md "Repository metadata"). With a validity
// period, `Date` and `Valid-Until` are rewritten before signing, so that a repository re-signed on
// a schedule goes stale for clients when the re-signing stops (freeze-attack defence: apt refuses
// a Release whose Valid-Until has passed).
//
// signAptRelease() is the function other front ends (Pulp) reuse: Release bytes in, the three
// files out, written together (files.ts).
import { join } from 'node:path';
import { SignetError } from '../errors.js';
import { CheckedSigner, type RepoSignClient } from './signer.js';
import { readSigningInput, writeFilesAtomic } from './files.js';

/** Largest Release file accepted (Debian's main archive Release is ~150 KiB). */
export const RELEASE_MAX_BYTES = 16 * 1024 * 1024;

/** RFC 1123 date in UTC as Debian archives write it: "Sat, 30 Nov 2026 19:26:02 UTC". */
export function releaseDate(date: Date): string {
  return date.toUTCString().replace(/GMT$/, 'UTC');
}

/** Parses a Release date (RFC 1123 with UTC, GMT, Z or a numeric zone). */
export function parseReleaseDate(value: string): Date | null {
  const normalised = value.trim().replace(/ (UTC|Z)$/i, ' GMT');
  if (!/^[A-Za-z]{3}, \d{1,2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} (GMT|[+-]\d{4})$/.test(normalised)) return null;
  const ms = Date.parse(normalised);
  return Number.isFinite(ms) ? new Date(ms) : null;
}

/** One field of a Release paragraph (single-line fields only; the hash lists are multi-line). */
export function releaseField(release: string, name: string): string | null {
  const re = new RegExp(`^${name}:[ \\t]*(.*)$`, 'im');
  const m = re.exec(release);
  return m ? m[1]!.trim() : null;
}

const HASH_FIELDS = /^(MD5Sum|SHA1|SHA256|SHA512):/i;

/**
 * Sets `Date` to `now` and `Valid-Until` to now + validForSeconds, replacing the fields when
 * present and otherwise inserting them before the first checksum list (where apt-ftparchive
 * puts them). Everything else is kept byte for byte.
 */
export function rewriteReleaseValidity(release: string, now: Date, validForSeconds: number): string {
  if (!Number.isInteger(validForSeconds) || validForSeconds <= 0) throw new SignetError('USAGE', 'the validity period must be a positive number of seconds');
  const date = `Date: ${releaseDate(now)}`;
  const validUntil = `Valid-Until: ${releaseDate(new Date(now.getTime() + validForSeconds * 1000))}`;
  const lines = release.split('\n');
  const trailingNewline = lines.at(-1) === '';
  if (trailingNewline) lines.pop();
  const out: string[] = [];
  let placed = false;
  for (const line of lines) {
    if (/^Date:/i.test(line) || /^Valid-Until:/i.test(line)) {
      if (!placed) out.push(date, validUntil);
      placed = true;
      continue;
    }
    if (!placed && HASH_FIELDS.test(line)) {
      out.push(date, validUntil);
      placed = true;
    }
    out.push(line);
  }
  if (!placed) out.push(date, validUntil);
  return `${out.join('\n')}\n`;
}

/** "7d", "12h", "30m", "90s" or a number of seconds. */
export function parseValidFor(value: string): number {
  const m = /^(\d+)\s*([smhdw]?)$/.exec(value.trim());
  if (!m) throw new SignetError('USAGE', `--valid-for must look like 7d, 12h, 30m or 3600s: ${JSON.stringify(value)}`);
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[m[2] as '' | 's' | 'm' | 'h' | 'd' | 'w'];
  const seconds = Number(m[1]) * unit;
  if (seconds <= 0 || seconds > 366 * 86400) throw new SignetError('USAGE', '--valid-for must be between 1 second and 366 days');
  return seconds;
}

function checkRelease(release: Buffer, asGiven = false): string {
  if (release.length === 0) throw new SignetError('BODY_EMPTY', 'the Release file is empty');
  if (release.length > RELEASE_MAX_BYTES) throw new SignetError('BODY_TOO_LARGE', `a Release file is at most ${RELEASE_MAX_BYTES} bytes`);
  const text = release.toString('utf8');
  if (!Buffer.from(text, 'utf8').equals(release)) throw new SignetError('BODY_INVALID', 'the Release file is not UTF-8 text');
  // apt reads one deb822 paragraph; a blank line would end it, and a stray armor line would make
  // the InRelease ambiguous.
  // A loop, not /\n+$/: that expression retries every newline of every run and is quadratic in
  // a Release made of newlines.
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 0x0a) end--;
  const body = text.slice(0, end);
  if (/\n[ \t]*\n/.test(body)) throw new SignetError('BODY_INVALID', 'the Release file has more than one paragraph');
  if (/^-----BEGIN PGP /m.test(text)) throw new SignetError('BODY_INVALID', 'the Release file is already signed');
  if (asGiven) return text;
  if (releaseField(text, 'Suite') === null && releaseField(text, 'Codename') === null) {
    throw new SignetError('BODY_INVALID', 'the Release file names neither Suite nor Codename');
  }
  return text.endsWith('\n') ? text : `${text}\n`;
}

export interface AptSignOptions {
  /** Rewrite Date and Valid-Until: valid for this many seconds from `now`. */
  readonly validForSeconds?: number;
  readonly now?: Date;
  /** Artifact name for policy and the log (default "Release"). */
  readonly name?: string;
  /**
   * Sign the bytes exactly as given, for a caller that publishes its own Release (Pulp's
   * AptReleaseSigningService): no Suite/Codename requirement and no final newline added, so
   * Release.gpg verifies against the caller's file. Still one UTF-8 paragraph, not yet signed.
   */
  readonly asGiven?: boolean;
}

export interface SignedRelease {
  /** The Release text that was signed (rewritten when a validity was asked for). */
  readonly release: Buffer;
  /** Cleartext-signed Release. */
  readonly inRelease: Buffer;
  /** Armored detached signature of `release`. */
  readonly releaseGpg: Buffer;
  readonly fingerprint: string;
  readonly validUntil: string | null;
  readonly logIndex: number[];
}

/** Signs Release bytes; writes nothing. Both signatures are checked before they are returned. */
export async function signReleaseBytes(client: RepoSignClient, key: string, release: Buffer, options: AptSignOptions = {}): Promise<SignedRelease> {
  let text = checkRelease(release, options.asGiven ?? false);
  if (options.validForSeconds !== undefined) text = rewriteReleaseValidity(text, options.now ?? new Date(), options.validForSeconds);
  const bytes = Buffer.from(text, 'utf8');
  const name = options.name ?? 'Release';
  const signer = new CheckedSigner(client, key);
  const inRelease = await signer.cleartext(bytes, 'apt', name, 'sha512');
  const detached = await signer.detached(bytes, 'apt', name, { armor: true, hash: 'sha512' });
  return {
    release: bytes,
    inRelease: Buffer.from(inRelease.cleartext ?? '', 'utf8'),
    releaseGpg: Buffer.from(detached.armored ?? '', 'utf8'),
    fingerprint: detached.fingerprint,
    validUntil: releaseField(text, 'Valid-Until'),
    logIndex: [inRelease.logIndex, detached.logIndex].filter((i): i is number => i !== undefined),
  };
}

export interface AptSignResult {
  readonly release: string;
  readonly inRelease: string;
  readonly releaseGpg: string;
  readonly fingerprint: string;
  readonly validUntil: string | null;
  readonly logIndex: number[];
}

/**
 * Signs `release` and writes DIR/Release (the signed text), DIR/InRelease and DIR/Release.gpg:
 * all three reach the disk before any is renamed into place, so a failure leaves the old set.
 */
export async function signAptRelease(client: RepoSignClient, key: string, release: Buffer, distDir: string, options: AptSignOptions = {}): Promise<AptSignResult> {
  const signed = await signReleaseBytes(client, key, release, options);
  const paths = { release: join(distDir, 'Release'), inRelease: join(distDir, 'InRelease'), releaseGpg: join(distDir, 'Release.gpg') };
  writeFilesAtomic([
    { path: paths.release, data: signed.release },
    { path: paths.releaseGpg, data: signed.releaseGpg },
    { path: paths.inRelease, data: signed.inRelease },
  ]);
  return { ...paths, fingerprint: signed.fingerprint, validUntil: signed.validUntil, logIndex: signed.logIndex };
}

/** `signet repo sign apt DIST_DIR`: DIST_DIR/Release -> InRelease + Release.gpg. */
export async function signAptDist(client: RepoSignClient, key: string, distDir: string, options: AptSignOptions = {}): Promise<AptSignResult> {
  const release = readSigningInput(join(distDir, 'Release'), RELEASE_MAX_BYTES);
  return signAptRelease(client, key, release, distDir, options);
}
