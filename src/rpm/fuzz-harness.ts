// One call per fuzz input: everything the signer does with an untrusted package prefix. The only
// failure it may show is a SignetError with an RPM/OpenPGP code (docs/security.md "Threat model"); a fuzz
// driver treats any other throw, or a slow input, as a finding.
import { Buffer } from 'node:buffer';
import { SignetError } from '../errors.js';
import { checkHeaderDigests, packageIdentity } from './identity.js';
import { parseRpmPrefix, rpmPrefixLength } from './package.js';
import type { PrefixOptions } from './package.js';
import { existingSignatures, rebuildSignatureHeader } from './signature-header.js';
import type { SignatureAlgorithm } from './signature-header.js';

export type FuzzOutcome = { ok: true; inPlace: boolean | null } | { ok: false; code: string };

export function exerciseRpmPrefix(
  input: Uint8Array,
  probe?: { packet: Buffer; algorithm: SignatureAlgorithm },
  opts: PrefixOptions = {},
): FuzzOutcome {
  try {
    rpmPrefixLength(input, opts);
    const layout = parseRpmPrefix(input, opts);
    packageIdentity(layout.header);
    existingSignatures(layout.signatureHeader);
    if (probe === undefined) return { ok: true, inPlace: null };
    checkHeaderDigests(layout);
    const rebuilt = rebuildSignatureHeader(layout, probe.packet, probe.algorithm, { replace: true });
    // What we write must parse again, with the same main header.
    const again = parseRpmPrefix(Buffer.concat([layout.lead, rebuilt.signatureHeader, layout.header.bytes]), opts);
    if (!again.header.bytes.equals(layout.header.bytes)) throw new Error('rebuild changed the main header');
    return { ok: true, inPlace: rebuilt.inPlace };
  } catch (err) {
    if (err instanceof SignetError && (err.code === 'RPM_MALFORMED' || err.code === 'RPM_ALREADY_SIGNED' || err.code === 'OPENPGP_MALFORMED')) {
      return { ok: false, code: err.code };
    }
    throw err;
  }
}
