// Transferable public keys (RFC 4880 §11.1): key packet ‖ user ID ‖ positive self-certification,
// and key generation.
import { Buffer } from 'node:buffer';
import { generateKeyPair, type KeyObject } from 'node:crypto';
import { SignetError } from '../errors.js';
import { dearmor } from './armor.js';
import { signingKeysOf } from './certificate.js';
import { encodePacket, PacketTag, readPackets, type Packet } from './packet.js';
import { malformed } from './reader.js';
import {
  defaultHash,
  keyHashPrefix,
  parsePublicKeyBody,
  publicKeyInfo,
  RSA_BITS,
  unixTime,
  type KeyAlgorithm,
  type PublicKeyInfo,
} from './public-key.js';
import {
  buildSignaturePacket,
  hashSignedInput,
  parseSignatureBody,
  selfSignatureHashedArea,
  signDigest,
  verifyParsed,
  type DigestSigner,
} from './signature.js';

export interface GeneratedKey {
  readonly info: PublicKeyInfo;
  readonly privateKey: KeyObject;
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

/** Key packet ‖ user ID ‖ positive self-certification (0x13). The certification is made by
 *  `sign`, the key's own signing operation (a software key, or a token that never lets the
 *  private key out): this module only builds the packets and the hash. */
export async function certifyKey(info: PublicKeyInfo, userId: string, creationTime: number, sign: DigestSigner): Promise<Buffer> {
  const uid = Buffer.from(userId, 'utf8');
  if (uid.length === 0 || uid.length > 2048) throw new SignetError('BAD_REQUEST', 'user ID must be 1..2048 bytes');
  const hashAlgorithm = defaultHash(info.algorithm);
  const hashedArea = selfSignatureHashedArea(info, hashAlgorithm, unixTime(creationTime));
  const digest = hashSignedInput(hashAlgorithm, [keyHashPrefix(info.publicKeyPacketBody), userIdHashPrefix(uid)], hashedArea);
  const rawSignature = await sign(hashAlgorithm, digest);
  return Buffer.concat([
    encodePacket(PacketTag.publicKey, info.publicKeyPacketBody),
    encodePacket(PacketTag.userId, uid),
    buildSignaturePacket(hashedArea, digest, rawSignature, info),
  ]);
}

/** certifyKey with a node:crypto private key. */
export async function buildTransferablePublicKey(info: PublicKeyInfo, privateKey: KeyObject, userId: string,
  creationTime: number): Promise<Buffer> {
  return certifyKey(info, userId, creationTime, (hashAlgorithm, digest) => signDigest(privateKey, info.algorithm, hashAlgorithm, digest));
}

export async function generateKey(opts: { algorithm: KeyAlgorithm; userId: string; creationTime?: number }): Promise<GeneratedKey> {
  const creationTime = opts.creationTime ?? Math.floor(Date.now() / 1000);
  const privateKey = await new Promise<KeyObject>((resolve, reject) => {
    const done = (err: Error | null, _pub: KeyObject, priv: KeyObject): void => (err ? reject(err) : resolve(priv));
    if (opts.algorithm === 'rsa4096') generateKeyPair('rsa', { modulusLength: RSA_BITS, publicExponent: 65537 }, done);
    else if (opts.algorithm === 'ed25519') generateKeyPair('ed25519', {}, done);
    else reject(new SignetError('ALGORITHM_UNSUPPORTED', `a software key must be rsa4096 or ed25519, not ${String(opts.algorithm)}`));
  });
  const info = publicKeyInfo(privateKey, creationTime);
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
  if (userIds.length === 0) throw malformed('a transferable key needs at least one user ID');
  return { key: first, userIds, directSignatures, subkeys };
}

/** Checks a user ID's self-certification (types 0x10..0x13) by the primary key. */
export function verifyUserIdSelfSignature(info: PublicKeyInfo, userId: Buffer, signature: Packet): boolean {
  const parsed = parseSignatureBody(signature.body);
  if (parsed.type < 0x10 || parsed.type > 0x13) return false;
  return verifyParsed(info, parsed, [keyHashPrefix(info.publicKeyPacketBody), userIdHashPrefix(userId)]);
}

/** Parses a binary transferable public key; every user ID must carry a valid self-signature
 *  (a user ID nobody certified is not the key holder's claim). Subkeys are not interpreted. */
export function parseTransferablePublicKey(bytes: Uint8Array): { info: PublicKeyInfo; userIds: string[] } {
  const grouped = groupTransferableKey(readPackets(bytes), PacketTag.publicKey);
  const info = parsePublicKeyBody(grouped.key.body);
  const userIds: string[] = [];
  for (const { packet, signatures } of grouped.userIds) {
    if (!signatures.some((s) => verifyUserIdSelfSignature(info, packet.body, s))) {
      throw malformed('user ID without a valid self-signature');
    }
    userIds.push(decodeUserId(packet.body));
  }
  return { info, userIds };
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
