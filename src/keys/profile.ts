// A key's OpenPGP profile (docs/keys.md "Profiles: OpenPGP v4 and v6"), read from what the store
// already holds: a v6 fingerprint is 32 bytes (64 hex digits), a v4 one 20 (RFC 9580 §5.5.4). No
// column is needed, and keys stored before v6 existed are v4 by construction.
import { SignetError } from '../errors.js';
import type { KeyProfile, KeyVersion } from '../openpgp/index.js';

export function recordKeyVersion(record: { readonly fingerprint: string }): KeyVersion {
  return record.fingerprint.length === 64 ? 6 : 4;
}

export function recordProfile(record: { readonly fingerprint: string }): KeyProfile {
  return recordKeyVersion(record) === 6 ? 'rfc9580' : 'rfc4880';
}

/** Outputs whose consumers read only v4 signatures (docs/keys.md "Which consumer reads what"):
 *  pacman (GnuPG through gpgme), git (gpg.program), debsign/dpkg and apt through gpgv all run
 *  GnuPG 2.4 or older, which cannot read v6 keys or signatures; so do the tools that call
 *  signet-gpg in gpg's place. */
export const V4_ONLY_OUTPUTS = {
  pacman: 'pacman (it verifies with GnuPG)',
  git: 'git (it verifies with gpg)',
  apt: 'apt through gpgv (Debian 12, Ubuntu 24.04; apt 3 with sqv reads v6, gpgv does not)',
  'signet-gpg': 'the tools that call signet-gpg in place of gpg (git, makepkg/repo-add, debsign) and their gpg-based verifiers',
} as const;
export type V4OnlyOutput = keyof typeof V4_ONLY_OUTPUTS;

export function isV4Only(kind: string): kind is V4OnlyOutput {
  return Object.hasOwn(V4_ONLY_OUTPUTS, kind);
}

/** Refuses a v6 key for an output whose verifiers cannot read v6 signatures. */
export function requireV4For(output: V4OnlyOutput, record: { readonly name: string; readonly fingerprint: string }): void {
  if (recordKeyVersion(record) === 6) {
    throw new SignetError('KEY_PROFILE_UNSUPPORTED', `the key ${record.name} is an OpenPGP v6 (rfc9580) key, which ${V4_ONLY_OUTPUTS[output]} cannot verify; sign with a v4 (rfc4880) key`);
  }
}
