// Certificate hygiene: what today's verifiers refuse, found before a verifier does. Read
// tolerantly (any algorithm, any hash), because the point is to name what is wrong, not to
// refuse to look. The checks follow what Sequoia's standard policy (used by sq, sqv, and rpm
// through rpm-sequoia) and GnuPG 2.4 reject:
//   - SHA-1 (and MD5, RIPEMD-160) in self-signatures, bindings and revocations: refused since
//     2023 (SHA-1 collisions are practical, RFC 9580 §9.5); SHA-224 is not accepted by rpm's policy
//     and is below the strength of a 3072-bit key;
//   - a signing subkey without its primary-key binding back-signature (0x19, RFC 9580 §5.2.1):
//     Sequoia and rpm ignore such a subkey (otherwise anyone could claim someone else's subkey);
//   - DSA keys (RFC 9580 §9.1: MUST NOT generate; Sequoia refuses DSA-1024);
//   - RSA under 3072 bits for new keys (RFC 9580 §12.4 recommends at least 3072), under 2048 at all.
import { Buffer } from 'node:buffer';
import { PacketTag, readPackets } from './packet.js';
import { MIN_ACCEPTED_RSA_BITS, REFUSED_SIGNATURE_HASHES } from './policy.js';

export interface LintFinding {
  readonly severity: 'error' | 'warning';
  /** weak-hash, missing-backsig, dsa, rsa-size, v3-key, malformed */
  readonly code: string;
  readonly message: string;
}

const SIGNATURE_TYPE_NAMES: ReadonlyMap<number, string> = new Map([
  [0x10, 'user ID certification'], [0x11, 'user ID certification'], [0x12, 'user ID certification'], [0x13, 'user ID self-signature'],
  [0x18, 'subkey binding'], [0x19, 'primary key binding (back-signature)'], [0x1f, 'direct key signature'], [0x20, 'key revocation'],
  [0x28, 'subkey revocation'], [0x30, 'certification revocation'],
]);

interface RawSubpacket {
  readonly type: number;
  readonly body: Buffer;
}

/** Subpackets of an area, tolerant: stops at the first malformed length. */
function subpackets(area: Buffer): RawSubpacket[] {
  const out: RawSubpacket[] = [];
  let at = 0;
  while (at < area.length) {
    const first = area[at]!;
    let length: number;
    let head: number;
    if (first < 192) [length, head] = [first, 1];
    else if (first < 255 && at + 1 < area.length) [length, head] = [((first - 192) << 8) + area[at + 1]! + 192, 2];
    else if (first === 255 && at + 5 <= area.length) [length, head] = [area.readUInt32BE(at + 1), 5];
    else break;
    if (length === 0 || at + head + length > area.length) break;
    out.push({ type: area[at + head]! & 0x7f, body: area.subarray(at + head + 1, at + head + length) });
    at += head + length;
  }
  return out;
}

function keyDescription(tag: number): string {
  return tag === PacketTag.publicKey || tag === PacketTag.secretKey ? 'primary key' : 'subkey';
}

/** Findings for one certificate or keyring (public or secret packets). `newKey`: the key is
 *  being made now, so what is only discouraged for existing keys is an error. */
export function lintCertificate(bytes: Uint8Array, options: { newKey: boolean }): LintFinding[] {
  const findings: LintFinding[] = [];
  let packets;
  try {
    packets = readPackets(bytes);
  } catch (err) {
    return [{ severity: 'error', code: 'malformed', message: (err as Error).message }];
  }
  let current = 'primary key';
  for (const packet of packets) {
    const body = packet.body;
    if ([PacketTag.publicKey, PacketTag.secretKey, PacketTag.publicSubkey, PacketTag.secretSubkey].includes(packet.tag as 5)) {
      current = keyDescription(packet.tag);
      const version = body[0];
      if (version !== 4 && version !== 6) {
        findings.push({ severity: 'error', code: 'v3-key', message: `the ${current} is a version ${version ?? '?'} key (verifiers accept v4 and v6)` });
        continue;
      }
      // v4 and v6 both: version, creation time (4), algorithm.
      const algorithm = body[5];
      if (algorithm === 17) findings.push({ severity: 'error', code: 'dsa', message: `the ${current} is DSA (RFC 9580 §9.1: not to be generated; Sequoia refuses DSA-1024)` });
      if ((algorithm === 1 || algorithm === 2 || algorithm === 3) && body.length >= 8) {
        const offset = version === 4 ? 6 : 10;
        const bits = body.length >= offset + 2 ? body.readUInt16BE(offset) : 0;
        if (bits < MIN_ACCEPTED_RSA_BITS) findings.push({ severity: 'error', code: 'rsa-size', message: `the ${current} is RSA-${bits} (verifiers refuse RSA under ${MIN_ACCEPTED_RSA_BITS} bits)` });
        else if (bits < 3072) {
          findings.push({ severity: options.newKey ? 'error' : 'warning', code: 'rsa-size', message: `the ${current} is RSA-${bits} (RFC 9580 §12.4: at least 3072 bits${options.newKey ? ' for a new key' : ''})` });
        }
      }
      continue;
    }
    if (packet.tag !== PacketTag.signature || body.length < 6 || body[0] !== 4) continue;
    const type = body[1]!;
    const hash = body[3]!;
    const name = SIGNATURE_TYPE_NAMES.get(type);
    if (!name) continue;
    const weak = REFUSED_SIGNATURE_HASHES.get(hash)?.name;
    const hashedLength = body.readUInt16BE(4);
    const hashed = subpackets(body.subarray(6, 6 + hashedLength));
    const unhashedStart = 6 + hashedLength;
    const unhashed = body.length >= unhashedStart + 2 ? subpackets(body.subarray(unhashedStart + 2, unhashedStart + 2 + body.readUInt16BE(unhashedStart))) : [];
    if (weak) {
      // Third-party certifications do not make the key unusable; the key's own signatures do.
      const own = type === 0x13 || type >= 0x18;
      findings.push({ severity: own ? 'error' : 'warning', code: 'weak-hash', message: `a ${name} on the ${current} uses ${weak} (refused by Sequoia's policy, hence sq, sqv and rpm)` });
    }
    if (type === 0x18) {
      const flags = hashed.find((s) => s.type === 27)?.body[0] ?? 0;
      const embedded = [...hashed, ...unhashed].some((s) => s.type === 32);
      if ((flags & 0x02) !== 0 && !embedded) {
        findings.push({ severity: 'error', code: 'missing-backsig', message: 'a signing subkey has no primary key binding back-signature (0x19): Sequoia and rpm ignore it' });
      }
    }
  }
  return findings;
}
