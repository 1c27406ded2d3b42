// Packet framing (RFC 4880 §4.2, RFC 9580 §4.2): we write new-format headers and read both
// formats, because gpg 2.2 still writes old-format ones. Partial body lengths only occur in
// streamed data packets, never in keys or signatures, so the reader refuses them.
import { Buffer } from 'node:buffer';
import { ByteReader, malformed } from './reader.js';

export const PacketTag = {
  signature: 2,
  secretKey: 5,
  publicKey: 6,
  secretSubkey: 7,
  userId: 13,
  publicSubkey: 14,
  userAttribute: 17,
} as const;

export interface Packet {
  readonly tag: number;
  readonly body: Buffer;
  /** header and body exactly as read, to copy packets through unchanged. */
  readonly raw: Buffer;
}

/** New-format length encoding, shared with signature subpackets (RFC 4880 §4.2.2, §5.2.3.1). */
export function encodeLength(length: number): Buffer {
  if (length < 192) return Buffer.from([length]);
  if (length < 8384) {
    const v = length - 192;
    return Buffer.from([(v >> 8) + 192, v & 0xff]);
  }
  const out = Buffer.alloc(5);
  out[0] = 0xff;
  out.writeUInt32BE(length, 1);
  return out;
}

export function encodePacket(tag: number, body: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([0xc0 | tag]), encodeLength(body.length), body]);
}

function readNewFormatLength(reader: ByteReader): number {
  const first = reader.u8('packet length');
  if (first < 192) return first;
  if (first < 224) return ((first - 192) << 8) + reader.u8('packet length') + 192;
  if (first === 255) return reader.u32('packet length');
  throw malformed('partial body lengths are not allowed here');
}

export function readPacket(reader: ByteReader): Packet {
  const start = reader.offset;
  const ctb = reader.u8('packet header');
  if ((ctb & 0x80) === 0) throw malformed('packet header without its high bit');
  let tag: number;
  let length: number;
  if (ctb & 0x40) {
    tag = ctb & 0x3f;
    length = readNewFormatLength(reader);
  } else {
    tag = (ctb >> 2) & 0x0f;
    const lengthType = ctb & 0x03;
    if (lengthType === 0) length = reader.u8('packet length');
    else if (lengthType === 1) length = reader.u16('packet length');
    else if (lengthType === 2) length = reader.u32('packet length');
    else throw malformed('indeterminate packet lengths are not allowed here');
  }
  if (tag === 0) throw malformed('packet tag 0 is reserved');
  const body = reader.bytes(length, 'packet body');
  const raw = reader.bytesFrom(start);
  return { tag, body, raw };
}

/** Every packet of a byte string; throws on any truncated or unparsable packet. */
export function readPackets(bytes: Uint8Array, limit = 10_000): Packet[] {
  const reader = new ByteReader(bytes);
  const packets: Packet[] = [];
  while (!reader.done) {
    if (packets.length >= limit) throw malformed(`more than ${limit} packets`);
    packets.push(readPacket(reader));
  }
  return packets;
}
