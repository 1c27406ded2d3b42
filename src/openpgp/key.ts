// Transferable public keys (RFC 4880 §11.1, RFC 9580 §10.1): key packet ‖ [v6: direct-key
// self-signature] ‖ user ID ‖ positive self-certification, and key generation.
import { Buffer } from 'node:buffer';
import { generateKeyPair, randomBytes, type KeyObject } from 'node:crypto';
import { SignetError } from '../errors.js';
import { dearmor } from './armor.js';
import { signingKeysOf } from './certificate.js';
import { encodePacket, PacketTag, readPackets, type Packet } from './packet.js';
import { malformed } from './reader.js';
import {
  compositeSigningKey,
  defaultHash,
  isComposite,
  keyHashPrefix,
  MLDSA_SEED_BYTES,
  parsePublicKeyBody,
  profileAllows,
  profileVersion,
  publicKeyInfoFor,
  RSA_BITS,
  unixTime,
  COMPOSITE,
  type KeyAlgorithm,
  type KeyProfile,
  type PublicKeyInfo,
  type SigningKey,
} from './public-key.js';
import {
  buildSignaturePacket,
  hashSignedInput,
  newSalt,
  parseSignatureBody,
  selfSignatureHashedArea,
  signDigest,
  verifyParsed,
  type DigestSigner,
} from './signature.js';

export interface GeneratedKey {
  readonly info: PublicKeyInfo;
  readonly privateKey: SigningKey;
  /** binary transferable public key: key packet, user ID packet, self-signature. */
  readonly transferablePublicKey: Buffer;
  readonly userIds: string[];
}

/** Input of a user-ID certification after the key: 0xB4 ‖ 4-byte length ‖ user ID (RFC 4880 §5.2.4). */
export function userIdHashPrefix(userId: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head[0] = 0xb4;
  head.writeUInt32BE(userId.length, 1);
  return Buffer.concat([head, userId]);
}

async function selfSignature(info: PublicKeyInfo, sign: DigestSigner, type: 0x13 | 0x1f, prefix: Buffer[], creationTime: number): Promise<Buffer> {
  const hashAlgorithm = defaultHash(info.algorithm, info.version);
  const hashedArea = selfSignatureHashedArea(info, hashAlgorithm, unixTime(creationTime), type);
  const salt = info.version === 6 ? newSalt(hashAlgorithm) : null;
  const digest = hashSignedInput(hashAlgorithm, prefix, hashedArea, salt);
  const rawSignature = await sign(hashAlgorithm, digest);
  return buildSignaturePacket(hashedArea, digest, rawSignature, info, salt);
}

/** Key packet ‖ (v6: direct-key self-signature) ‖ user ID ‖ positive self-certification (0x13).
 *  The signatures are made by `sign`, the key's own signing operation (a software key, or a
 *  token that never lets the private key out): this module only builds the packets and hashes. */
export async function certifyKey(info: PublicKeyInfo, userId: string, creationTime: number, sign: DigestSigner): Promise<Buffer> {
  const uid = Buffer.from(userId, 'utf8');
  if (uid.length === 0 || uid.length > 2048) throw new SignetError('BAD_REQUEST', 'user ID must be 1..2048 bytes');
  const keyPrefix = keyHashPrefix(info.publicKeyPacketBody);
  // v6: a direct-key self-signature carries the key's flags and preferences (RFC 9580 §10.1.1,
  // §5.2.3.10), as sq 1.x writes it; the user ID's certification follows.
  const direct = info.version === 6 ? [await selfSignature(info, sign, 0x1f, [keyPrefix], creationTime)] : [];
  return Buffer.concat([
    encodePacket(PacketTag.publicKey, info.publicKeyPacketBody),
    ...direct,
    encodePacket(PacketTag.userId, uid),
    await selfSignature(info, sign, 0x13, [keyPrefix, userIdHashPrefix(uid)], creationTime),
  ]);
}

/** certifyKey with a software private key (node:crypto, or a composite key). */
export async function buildTransferablePublicKey(info: PublicKeyInfo, privateKey: SigningKey, userId: string,
  creationTime: number): Promise<Buffer> {
  return certifyKey(info, userId, creationTime, (hashAlgorithm, digest) => signDigest(privateKey, info.algorithm, hashAlgorithm, digest));
}

function generatePair(type: 'rsa' | 'ed25519' | 'ed448'): Promise<KeyObject> {
  return new Promise<KeyObject>((resolve, reject) => {
    const done = (err: Error | null, _pub: KeyObject, priv: KeyObject): void => (err ? reject(err) : resolve(priv));
    if (type === 'rsa') generateKeyPair('rsa', { modulusLength: RSA_BITS, publicExponent: 65537 }, done);
    else if (type === 'ed25519') generateKeyPair('ed25519', {}, done);
    else generateKeyPair('ed448', {}, done);
  });
}

/** A new signing key of the given profile (v4 by default, docs/keys.md "Profiles"). The
 *  composite keys' two halves are generated independently (draft-ietf-openpgp-pqc §6.2.1). */
export async function generateKey(opts: { algorithm: KeyAlgorithm; userId: string; creationTime?: number; profile?: KeyProfile }): Promise<GeneratedKey> {
  const creationTime = opts.creationTime ?? Math.floor(Date.now() / 1000);
  const profile = opts.profile ?? 'rfc4880';
  if (!profileAllows(profile, opts.algorithm)) {
    throw new SignetError('ALGORITHM_UNSUPPORTED', profile === 'rfc4880'
      ? `a ${profile} (v4) key is rsa4096 or ed25519; ${opts.algorithm} needs --profile rfc9580`
      : `a ${profile} (v6) key is ed25519, ed448, mldsa65-ed25519 or mldsa87-ed448, not ${opts.algorithm}`);
  }
  // Software ECDSA is not offered: P-256 keys exist for tokens that lack Ed25519 (docs/key-backends.md).
  if (opts.algorithm === 'ecdsa-p256') throw new SignetError('ALGORITHM_UNSUPPORTED', 'a software key must be rsa4096, ed25519 or (v6) ed448 or a composite; ecdsa-p256 keys are made in a PKCS#11 token');
  let privateKey: SigningKey;
  if (isComposite(opts.algorithm)) {
    const seed = randomBytes(MLDSA_SEED_BYTES);
    privateKey = compositeSigningKey(opts.algorithm, await generatePair(COMPOSITE[opts.algorithm].ed), seed);
    seed.fill(0);
  } else {
    privateKey = await generatePair(opts.algorithm === 'rsa4096' ? 'rsa' : opts.algorithm);
  }
  const info = publicKeyInfoFor(privateKey, creationTime, profileVersion(profile));
  const transferablePublicKey = await buildTransferablePublicKey(info, privateKey, opts.userId, creationTime);
  return { info, privateKey, transferablePublicKey, userIds: [opts.userId] };
}

/** A key packet, its user IDs with their signatures, and subkeys, as read (RFC 4880 §11.1). */
export interface TransferableKeyPackets {
  readonly key: Packet;
  readonly userIds: { packet: Packet; signatures: Packet[] }[];
  readonly directSignatures: Packet[];
  readonly subkeys: { packet: Packet; signatures: Packet[] }[];
}

/** Groups the packets of a transferable key; `primaryTag` is 6 (public) or 5 (secret).
 *  Unknown or misplaced packets are refused rather than skipped. */
export function groupTransferableKey(packets: Packet[], primaryTag: number): TransferableKeyPackets {
  const [first, ...rest] = packets;
  if (!first || first.tag !== primaryTag) throw malformed('a transferable key must start with its primary key packet');
  const subkeyTag = primaryTag === PacketTag.publicKey ? PacketTag.publicSubkey : PacketTag.secretSubkey;
  const directSignatures: Packet[] = [];
  const userIds: TransferableKeyPackets['userIds'] = [];
  const subkeys: TransferableKeyPackets['subkeys'] = [];
  let current: { packet: Packet; signatures: Packet[] } | null = null;
  for (const packet of rest) {
    if (packet.tag === PacketTag.signature) {
      if (current) current.signatures.push(packet);
      else directSignatures.push(packet);
    } else if (packet.tag === PacketTag.userId || packet.tag === PacketTag.userAttribute) {
      if (subkeys.length > 0) throw malformed('user ID after a subkey');
      current = { packet, signatures: [] };
      if (packet.tag === PacketTag.userId) userIds.push(current);
    } else if (packet.tag === subkeyTag) {
      current = { packet, signatures: [] };
      subkeys.push(current);
    } else if (packet.tag === 12) {
      // Trust packets (tag 12) are local to a keyring and carry nothing we use.
    } else {
      throw malformed(`unexpected packet tag ${packet.tag} in a transferable key`);
    }
  }
  // RFC 9580 §10.1: a v6 key may have no user ID (its direct-key signature binds it, as in the
  // RFC's Appendix A.3 certificate); a v4 key needs one.
  if (userIds.length === 0 && first.body[0] !== 6) throw malformed('a transferable key needs at least one user ID');
  return { key: first, userIds, directSignatures, subkeys };
}

/** Checks a user ID's self-certification (types 0x10..0x13) by the primary key. */
export function verifyUserIdSelfSignature(info: PublicKeyInfo, userId: Buffer, signature: Packet): boolean {
  const parsed = parseSignatureBody(signature.body);
  if (parsed.type < 0x10 || parsed.type > 0x13) return false;
  return verifyParsed(info, parsed, [keyHashPrefix(info.publicKeyPacketBody), userIdHashPrefix(userId)]);
}

/** Checks a direct-key self-signature (type 0x1F) by the primary key. */
export function verifyDirectKeySignature(info: PublicKeyInfo, signature: Packet): boolean {
  const parsed = parseSignatureBody(signature.body);
  return parsed.type === 0x1f && verifyParsed(info, parsed, [keyHashPrefix(info.publicKeyPacketBody)]);
}

/** Parses a binary transferable public key; every user ID must carry a valid self-signature
 *  (a user ID nobody certified is not the key holder's claim), and a v6 key without user IDs
 *  a valid direct-key self-signature. Subkeys are not interpreted. */
export function parseTransferablePublicKey(bytes: Uint8Array): { info: PublicKeyInfo; userIds: string[] } {
  const grouped = groupTransferableKey(readPackets(bytes), PacketTag.publicKey);
  const info = parsePublicKeyBody(grouped.key.body);
  if (grouped.userIds.length === 0 && !grouped.directSignatures.some((s) => verifyDirectKeySignature(info, s))) {
    throw malformed('a v6 key without user IDs needs a valid direct-key self-signature');
  }
  if (info.version === 6) checkV6Certificate(info, grouped);
  const userIds: string[] = [];
  for (const { packet, signatures } of grouped.userIds) {
    if (!signatures.some((s) => verifyUserIdSelfSignature(info, packet.body, s))) {
      throw malformed('user ID without a valid self-signature');
    }
    userIds.push(decodeUserId(packet.body));
  }
  return { info, userIds };
}

/** A v6 certificate is checked whole (signet reads v6 keys only from RFC 9580 tools, which
 *  self-sign everything): every direct-key signature is a valid self-signature or revocation,
 *  every signature that names the primary key as issuer on a user ID verifies, and every subkey
 *  carries only valid binding signatures (0x18) or revocations (0x28) over primary ‖ subkey
 *  (RFC 9580 §5.2.4). So no byte of the certificate can change unnoticed. */
function checkV6Certificate(info: PublicKeyInfo, grouped: TransferableKeyPackets): void {
  const primaryPrefix = keyHashPrefix(info.publicKeyPacketBody);
  for (const s of grouped.directSignatures) {
    const parsed = parseSignatureBody(s.body);
    if ((parsed.type !== 0x1f && parsed.type !== 0x20) || !verifyParsed(info, parsed, [primaryPrefix])) {
      throw malformed('a direct-key signature of the v6 key does not verify');
    }
  }
  for (const { packet, signatures } of grouped.userIds) {
    for (const s of signatures) {
      const parsed = parseSignatureBody(s.body);
      const bySelf = parsed.issuerFingerprint ? parsed.issuerFingerprint.equals(info.fingerprint) : true;
      if (!bySelf) continue; // a third party's certification: not interpreted
      const certification = parsed.type >= 0x10 && parsed.type <= 0x13 || parsed.type === 0x30;
      if (!certification || !verifyParsed(info, parsed, [primaryPrefix, userIdHashPrefix(packet.body)])) {
        throw malformed('a self-signature on a user ID of the v6 key does not verify');
      }
    }
  }
  for (const { packet, signatures } of grouped.subkeys) {
    if (signatures.length === 0) throw malformed('a subkey of the v6 key has no binding signature');
    for (const s of signatures) {
      const parsed = parseSignatureBody(s.body);
      if ((parsed.type !== 0x18 && parsed.type !== 0x28) || !verifyParsed(info, parsed, [primaryPrefix, keyHashPrefix(packet.body)])) {
        throw malformed('a subkey binding signature of the v6 key does not verify');
      }
    }
  }
}

/** Long key ID as 16 upper-case hex digits, as gpg prints it. */
export function keyIdHex(info: PublicKeyInfo): string {
  return info.keyId.toString('hex').toUpperCase();
}

export function decodeUserId(body: Buffer): string {
  const text = new TextDecoder('utf-8', { fatal: true });
  try {
    return text.decode(body);
  } catch {
    throw malformed('user ID is not UTF-8');
  }
}

/** Every public key in an armored text: one or more PUBLIC KEY BLOCKs, as `gpg --export -a`
 *  writes them (RFC 9580 §6.2). The one parser of armored keyrings: the CLI, the publish gate
 *  and the repository signer all go through it. */
export function publicKeysFromArmor(text: string): PublicKeyInfo[] {
  const blocks = text.match(/-----BEGIN PGP PUBLIC KEY BLOCK-----[\s\S]*?-----END PGP PUBLIC KEY BLOCK-----/g) ?? [];
  if (blocks.length === 0) throw new SignetError('ARMOR_MALFORMED', 'no PGP PUBLIC KEY BLOCK found');
  // A block may hold several certificates (a key's versions) and signing subkeys: every key a
  // signature may name is returned (src/openpgp/certificate.ts).
  return blocks.flatMap((block) => signingKeysOf(dearmor(block).bytes));
}
