// Certificate maintenance (RFC 9580 §5.2.1, §5.2.3, §10.1): the key signatures a key's
// lifecycle needs, built here and only here, and the certificate editing that places them.
//   - a new positive self-certification carrying a Key Expiration Time (as `gpg --quick-set-expire`);
//   - a key revocation (0x20) with a Reason for Revocation subpacket (§5.2.3.31);
//   - a certification by another key over a user ID (0x10), which rotation uses so the previous
//     version vouches for the next one;
//   - a subkey binding (0x18) with the primary-key binding back-signature (0x19) embedded
//     (§5.2.3.34, Embedded Signature), which Sequoia and rpm require of signing subkeys.
// Parsing keyrings (several certificates one after the other, §10.1) finds every key a signature
// may name: primaries and bound signing subkeys.
import { Buffer } from 'node:buffer';
import { SignetError } from '../errors.js';
import { groupTransferableKey, userIdHashPrefix, verifyUserIdSelfSignature, decodeUserId } from './key.js';
import { encodePacket, PacketTag, readPackets, type Packet } from './packet.js';
import { defaultHash, HASH_ID, keyHashPrefix, parsePublicKeyBody, pkAlgorithmId, type HashAlgorithm, type PublicKeyInfo, type SigningKey } from './public-key.js';
import { malformed } from './reader.js';
import { buildSignaturePacket, hashSignedInput, parseSignatureBody, signDigest, subpacket, SubpacketType, verifyParsed, type DigestSigner, type ParsedSignature } from './signature.js';

/** A key that makes key signatures: its public info and either its private key (software) or
 *  its signing operation (a key handle: a token never lets the private key out). */
export type CertifyingKey =
  | { readonly info: PublicKeyInfo; readonly privateKey: SigningKey; readonly sign?: undefined }
  | { readonly info: PublicKeyInfo; readonly sign: DigestSigner; readonly privateKey?: undefined };

/** Reason for Revocation codes (RFC 9580 §5.2.3.31). */
export const REVOCATION_REASONS = { unspecified: 0, superseded: 1, compromised: 2, retired: 3 } as const;
export type RevocationReason = keyof typeof REVOCATION_REASONS;

const SUBPACKET_REASON_FOR_REVOCATION = 29;
const SUBPACKET_EMBEDDED_SIGNATURE = 32;
/** Key flags (RFC 9580 §5.2.3.29). */
const FLAG_CERTIFY = 0x01;
const FLAG_SIGN = 0x02;

function u32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value);
  return out;
}

function hashedArea(type: number, signer: PublicKeyInfo, hashAlgorithm: HashAlgorithm, creationTime: number, extra: Buffer[]): Buffer {
  const area = Buffer.concat([
    subpacket(SubpacketType.issuerFingerprint, Buffer.concat([Buffer.from([4]), signer.fingerprint])),
    subpacket(SubpacketType.creationTime, u32(creationTime)),
    ...extra,
  ]);
  if (area.length > 0xffff) throw new SignetError('INTERNAL', 'hashed area too long');
  return Buffer.concat([Buffer.from([4, type, pkAlgorithmId(signer.algorithm), HASH_ID[hashAlgorithm], area.length >> 8, area.length & 0xff]), area]);
}

/** One key signature packet of `type` by `signer` over `chunks` (the hash input before the
 *  hashed area). Returns the whole packet. */
async function keySignature(signer: CertifyingKey, type: number, creationTime: number, chunks: Buffer[], extra: Buffer[] = []): Promise<Buffer> {
  const hashAlgorithm = defaultHash(signer.info.algorithm);
  const area = hashedArea(type, signer.info, hashAlgorithm, creationTime, extra);
  const digest = hashSignedInput(hashAlgorithm, chunks, area);
  const raw = signer.sign ? await signer.sign(hashAlgorithm, digest) : await signDigest(signer.privateKey, signer.info.algorithm, hashAlgorithm, digest);
  return buildSignaturePacket(area, digest, raw, signer.info);
}

/** The self-signature subpackets signet writes (key flags certify+sign, preferred hashes,
 *  features: MDC), with a Key Expiration Time (seconds after the key's creation) when given. */
function selfSignatureSubpackets(expirationSeconds: number | null, flags: number): Buffer[] {
  return [
    subpacket(SubpacketType.keyFlags, Buffer.from([flags])),
    ...(expirationSeconds === null ? [] : [subpacket(SubpacketType.keyExpirationTime, u32(expirationSeconds))]),
    subpacket(SubpacketType.preferredHash, Buffer.from([HASH_ID.sha512, HASH_ID.sha256])),
    subpacket(SubpacketType.features, Buffer.from([0x01])),
  ];
}

/** Seconds from the key's creation to `expiresAt` (Unix seconds), as the subpacket holds it. */
export function expirationSeconds(key: PublicKeyInfo, expiresAt: number | null): number | null {
  if (expiresAt === null) return null;
  const seconds = expiresAt - key.creationTime;
  if (!Number.isInteger(seconds) || seconds <= 0 || seconds > 0xffffffff) {
    throw new SignetError('BAD_REQUEST', 'the expiry must be after the key creation time and within 136 years of it');
  }
  return seconds;
}

/** A positive self-certification (0x13) of `userId` with the given expiry (null: none). */
export function selfCertification(primary: CertifyingKey, userId: Buffer, creationTime: number, expiresAt: number | null,
  flags = FLAG_CERTIFY | FLAG_SIGN): Promise<Buffer> {
  return keySignature(primary, 0x13, creationTime, [keyHashPrefix(primary.info.publicKeyPacketBody), userIdHashPrefix(userId)],
    selfSignatureSubpackets(expirationSeconds(primary.info, expiresAt), flags));
}

/** A generic certification (0x10) by `certifier` of `target`'s user ID. */
export function certifyUserId(certifier: CertifyingKey, target: PublicKeyInfo, userId: Buffer, creationTime: number): Promise<Buffer> {
  return keySignature(certifier, 0x10, creationTime, [keyHashPrefix(target.publicKeyPacketBody), userIdHashPrefix(userId)]);
}

/** A key revocation signature (0x20) over the primary key itself. */
export function keyRevocation(primary: CertifyingKey, reason: RevocationReason, message: string, creationTime: number): Promise<Buffer> {
  const body = Buffer.concat([Buffer.from([REVOCATION_REASONS[reason]]), Buffer.from(message, 'utf8')]);
  return keySignature(primary, 0x20, creationTime, [keyHashPrefix(primary.info.publicKeyPacketBody)], [subpacket(SUBPACKET_REASON_FOR_REVOCATION, body)]);
}

/** A signing subkey's packet and its binding signature: 0x18 by the primary with key flags
 *  "sign" and, embedded in its hashed area, the 0x19 back-signature made by the subkey. */
export async function bindSigningSubkey(primary: CertifyingKey, subkey: CertifyingKey, creationTime: number): Promise<Buffer> {
  const chunks = [keyHashPrefix(primary.info.publicKeyPacketBody), keyHashPrefix(subkey.info.publicKeyPacketBody)];
  const back = await keySignature(subkey, 0x19, creationTime, chunks);
  const backBody = readPackets(back)[0]!.body;
  const binding = await keySignature(primary, 0x18, creationTime, chunks, [
    subpacket(SubpacketType.keyFlags, Buffer.from([FLAG_SIGN])),
    subpacket(SUBPACKET_EMBEDDED_SIGNATURE, backBody),
  ]);
  return Buffer.concat([encodePacket(PacketTag.publicSubkey, subkey.info.publicKeyPacketBody), binding]);
}

/** What to add to a certificate; every addition goes where RFC 9580 §10.1 puts it. */
export interface CertificateAdditions {
  /** Signatures directly on the primary key (revocations), right after the key packet. */
  readonly keySignatures?: readonly Buffer[];
  /** Signatures on user IDs, by the user ID's bytes. */
  readonly userIdSignatures?: ReadonlyMap<string, readonly Buffer[]>;
  /** Subkey packets with their binding signatures, at the end. */
  readonly subkeys?: readonly Buffer[];
}

/** The certificate with the additions placed (packets already there are copied unchanged). */
export function editCertificate(certificate: Uint8Array, additions: CertificateAdditions): Buffer {
  const grouped = groupTransferableKey(readPackets(certificate), PacketTag.publicKey);
  const out: Buffer[] = [grouped.key.raw, ...grouped.directSignatures.map((p) => p.raw), ...(additions.keySignatures ?? [])];
  const seen = new Set<string>();
  for (const { packet, signatures } of grouped.userIds) {
    const key = packet.body.toString('latin1');
    out.push(packet.raw, ...signatures.map((p) => p.raw));
    if (!seen.has(key)) out.push(...(additions.userIdSignatures?.get(key) ?? []));
    seen.add(key);
  }
  for (const { packet, signatures } of grouped.subkeys) out.push(packet.raw, ...signatures.map((p) => p.raw));
  out.push(...(additions.subkeys ?? []));
  return Buffer.concat(out);
}

/** Key for CertificateAdditions.userIdSignatures. */
export function userIdKey(userId: Buffer): string {
  return userId.toString('latin1');
}

/** What a verifier learns from one certificate. */
export interface CertificateView {
  readonly primary: PublicKeyInfo;
  readonly userIds: string[];
  /** Raw user ID packet bodies, in order (for new self-signatures). */
  readonly userIdBodies: Buffer[];
  /** Signing subkeys whose binding (0x18) and back-signature (0x19) verify. */
  readonly signingSubkeys: PublicKeyInfo[];
  /** A valid key revocation (0x20) by the primary is present. */
  readonly revoked: boolean;
  /** Key expiration from the newest valid self-certification, Unix seconds, or null. */
  readonly expiresAt: number | null;
}

function keyExpiration(parsed: ParsedSignature): number | null {
  const found = parsed.hashedSubpackets.find((s) => s.type === SubpacketType.keyExpirationTime && s.body.length === 4);
  const seconds = found ? found.body.readUInt32BE(0) : 0;
  return seconds === 0 ? null : seconds;
}

function keyFlags(parsed: ParsedSignature): number | null {
  const found = parsed.hashedSubpackets.find((s) => s.type === SubpacketType.keyFlags);
  return found ? (found.body[0] ?? 0) : null;
}

function tryParse(body: Buffer): ParsedSignature | null {
  try {
    return parseSignatureBody(body);
  } catch {
    return null;
  }
}

/** A subkey is a signing subkey of `primary` when a binding signature (0x18) by the primary
 *  with the sign flag verifies and carries a back-signature (0x19) by the subkey that verifies,
 *  and no subkey revocation (0x28) by the primary does. */
export function isBoundSigningSubkey(primary: PublicKeyInfo, subkey: PublicKeyInfo, signatures: readonly Packet[]): boolean {
  const chunks = [keyHashPrefix(primary.publicKeyPacketBody), keyHashPrefix(subkey.publicKeyPacketBody)];
  const bound = signatures.some((s) => {
    const parsed = tryParse(s.body);
    if (!parsed || parsed.type !== 0x18 || ((keyFlags(parsed) ?? 0) & FLAG_SIGN) === 0) return false;
    if (!verifyParsed(primary, parsed, chunks)) return false;
    const embedded = [...parsed.hashedSubpackets, ...parsed.unhashedSubpackets].filter((p) => p.type === SUBPACKET_EMBEDDED_SIGNATURE);
    return embedded.some((e) => {
      const back = tryParse(e.body);
      return back !== null && back.type === 0x19 && verifyParsed(subkey, back, chunks);
    });
  });
  const revoked = signatures.some((s) => {
    const parsed = tryParse(s.body);
    return parsed !== null && parsed.type === 0x28 && verifyParsed(primary, parsed, chunks);
  });
  return bound && !revoked;
}

/** Reads one certificate's packets. Subkeys of types signet does not sign with (encryption
 *  subkeys, other curves) are skipped, never refused: a verifier ignores what it cannot use. */
export function viewCertificate(packets: Packet[]): CertificateView {
  const grouped = groupTransferableKey(packets, PacketTag.publicKey);
  const primary = parsePublicKeyBody(grouped.key.body);
  const primaryPrefix = keyHashPrefix(primary.publicKeyPacketBody);
  const userIds: string[] = [];
  const userIdBodies: Buffer[] = [];
  let newest: { time: number; expiresAt: number | null } | null = null;
  for (const { packet, signatures } of grouped.userIds) {
    const valid = signatures.filter((s) => verifyUserIdSelfSignature(primary, packet.body, s));
    if (valid.length === 0) throw malformed('user ID without a valid self-signature');
    userIds.push(decodeUserId(packet.body));
    userIdBodies.push(packet.body);
    for (const s of valid) {
      const parsed = parseSignatureBody(s.body);
      if (!newest || parsed.creationTime >= newest.time) {
        const seconds = keyExpiration(parsed);
        newest = { time: parsed.creationTime, expiresAt: seconds === null ? null : primary.creationTime + seconds };
      }
    }
  }
  const revoked = grouped.directSignatures.some((s) => {
    const parsed = tryParse(s.body);
    return parsed !== null && parsed.type === 0x20 && verifyParsed(primary, parsed, [primaryPrefix]);
  });
  const signingSubkeys: PublicKeyInfo[] = [];
  for (const { packet, signatures } of grouped.subkeys) {
    let subkey: PublicKeyInfo;
    try {
      subkey = parsePublicKeyBody(packet.body);
    } catch {
      continue;
    }
    if (isBoundSigningSubkey(primary, subkey, signatures)) signingSubkeys.push(subkey);
  }
  return { primary, userIds, userIdBodies, signingSubkeys, revoked, expiresAt: newest?.expiresAt ?? null };
}

/** Every certificate of a keyring (transferable public keys one after the other, RFC 9580 §10.1,
 *  as `gpg --export` writes several keys). */
export function parseKeyring(bytes: Uint8Array): CertificateView[] {
  const packets = readPackets(bytes);
  const certificates: Packet[][] = [];
  for (const packet of packets) {
    if (packet.tag === PacketTag.publicKey || certificates.length === 0) certificates.push([packet]);
    else certificates[certificates.length - 1]!.push(packet);
  }
  if (certificates.length === 0) throw malformed('an empty keyring');
  return certificates.map(viewCertificate);
}

/** The packets of each certificate of a keyring, unparsed (exports copy them through). */
export function splitKeyring(bytes: Uint8Array): Buffer[] {
  const out: Buffer[][] = [];
  for (const packet of readPackets(bytes)) {
    if (packet.tag === PacketTag.publicKey || out.length === 0) out.push([packet.raw]);
    else out[out.length - 1]!.push(packet.raw);
  }
  return out.map((c) => Buffer.concat(c));
}

/** Every key a signature by this keyring may name: primaries and bound signing subkeys of the
 *  certificates that are not revoked. */
export function signingKeysOf(bytes: Uint8Array): PublicKeyInfo[] {
  return parseKeyring(bytes).filter((c) => !c.revoked).flatMap((c) => [c.primary, ...c.signingSubkeys]);
}
