// What today's verifiers refuse, checked before signet hands out a key or signature and by
// `signet verify-policy` (docs/keys.md "Consumer policy"). The rules are the union of:
// - apt's Sequoia policy (apt 3, /usr/share/apt/default-sequoia.config): SHA-1 and SHA-224
//   signatures, v3 signature packets, DSA (and ElGamal) keys;
// - Sequoia's StandardPolicy, which rpm-sequoia's DEFAULT policy follows: MD5, SHA-1 and
//   RIPEMD-160 for signatures, RSA and DSA keys under 2048 bits.
// Inputs are read at the packet level only (no signature check), so a packet the strict parsers
// refuse (a v3 signature, a DSA key) can still be named.
import { Buffer } from 'node:buffer';
import { readPackets } from './packet.js';
import { ByteReader } from './reader.js';

export interface PolicyFinding {
  /** What is refused, e.g. "SHA-1 signature". */
  readonly what: string;
  /** Which verifiers refuse it. */
  readonly refusedBy: string;
}

const APT = "apt's Sequoia policy";
const SEQUOIA = 'rpm-sequoia DEFAULT and Sequoia StandardPolicy';
const BOTH = `${APT}, ${SEQUOIA}`;

/** Hash algorithms (OpenPGP IDs) that verifiers refuse in signatures: their names and who
 *  refuses them. `signet key lint` (lint.ts) names the same ones. */
export const REFUSED_SIGNATURE_HASHES: ReadonlyMap<number, { readonly name: string; readonly refusedBy: string }> = new Map([
  [1, { name: 'MD5', refusedBy: BOTH }],
  [2, { name: 'SHA-1', refusedBy: BOTH }],
  [3, { name: 'RIPEMD-160', refusedBy: BOTH }],
  [11, { name: 'SHA-224', refusedBy: APT }],
]);
/** The smallest RSA (and DSA) key any of them accepts. */
export const MIN_ACCEPTED_RSA_BITS = 2048;

const HASH_FINDINGS: ReadonlyMap<number, PolicyFinding> = new Map(
  [...REFUSED_SIGNATURE_HASHES].map(([id, { name, refusedBy }]) => [id, { what: `${name} signature`, refusedBy }]),
);
const ALGORITHM_FINDINGS: ReadonlyMap<number, PolicyFinding> = new Map([
  [16, { what: 'ElGamal key', refusedBy: APT }],
  [17, { what: 'DSA key', refusedBy: APT }],
  [20, { what: 'ElGamal key', refusedBy: BOTH }],
]);

/** Findings for one signature packet body (any version). */
export function signatureBodyFindings(body: Uint8Array): PolicyFinding[] {
  const findings: PolicyFinding[] = [];
  const version = body[0];
  if (version === 3 || version === 2) {
    findings.push({ what: `v${version} signature packet`, refusedBy: APT });
    // v3: version, 5 (hashed length), type, time (4), key ID (8), pk algorithm, hash algorithm.
    const pk = body[15];
    const hash = body[16];
    if (pk !== undefined && ALGORITHM_FINDINGS.has(pk)) findings.push(ALGORITHM_FINDINGS.get(pk)!);
    if (hash !== undefined && HASH_FINDINGS.has(hash)) findings.push(HASH_FINDINGS.get(hash)!);
    return findings;
  }
  if (version !== 4 && version !== 6) return [{ what: `signature packet version ${version ?? 'missing'}`, refusedBy: BOTH }];
  const pk = body[2];
  const hash = body[3];
  if (pk !== undefined && ALGORITHM_FINDINGS.has(pk)) findings.push(ALGORITHM_FINDINGS.get(pk)!);
  if (hash !== undefined && HASH_FINDINGS.has(hash)) findings.push(HASH_FINDINGS.get(hash)!);
  return findings;
}

/** Findings for one key packet body (primary or subkey). */
export function keyBodyFindings(body: Uint8Array): PolicyFinding[] {
  const version = body[0];
  if (version !== 4 && version !== 6) return [{ what: `v${version ?? '?'} key`, refusedBy: BOTH }];
  const pk = body[5];
  if (pk !== undefined && ALGORITHM_FINDINGS.has(pk)) return [ALGORITHM_FINDINGS.get(pk)!];
  if (version === 4 && (pk === 1 || pk === 17)) {
    // The first MPI is the RSA modulus or the DSA prime: its bit count is the key size.
    try {
      const reader = new ByteReader(body.subarray(6));
      const bits = reader.u16('key size');
      if (bits < MIN_ACCEPTED_RSA_BITS) return [{ what: `${pk === 1 ? 'RSA' : 'DSA'} key of ${bits} bits (under ${MIN_ACCEPTED_RSA_BITS})`, refusedBy: BOTH }];
    } catch {
      return [{ what: 'truncated key', refusedBy: BOTH }];
    }
  }
  return [];
}

/** Every finding for a binary OpenPGP byte string: signature and key packets alike. */
export function policyFindings(bytes: Uint8Array): PolicyFinding[] {
  const findings: PolicyFinding[] = [];
  for (const packet of readPackets(Buffer.from(bytes))) {
    if (packet.tag === 2) findings.push(...signatureBodyFindings(packet.body));
    else if (packet.tag === 5 || packet.tag === 6 || packet.tag === 7 || packet.tag === 14) findings.push(...keyBodyFindings(packet.body));
  }
  // One line per kind of problem.
  return findings.filter((f, i) => findings.findIndex((g) => g.what === f.what) === i);
}
