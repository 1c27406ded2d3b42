// A transferable secret key (RFC 9580 §10.2) for a key signet's core generated, so that the same
// key can sign in sq and in signet: the secret key packet replaces the public one, the
// self-signatures stay. Tests only: signet itself never exports secret keys.
import { Buffer } from 'node:buffer';
import { type KeyObject } from 'node:crypto';
import { armor, type GeneratedKey } from '../../src/openpgp/index.js';
import { encodePacket, readPackets } from '../../src/openpgp/packet.js';
import { encodeMpi } from '../../src/openpgp/reader.js';

function big(b64url: string): bigint {
  return BigInt(`0x${Buffer.from(b64url, 'base64url').toString('hex')}`);
}
function bytes(v: bigint): Buffer {
  let hex = v.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  return Buffer.from(hex, 'hex');
}
function modInverse(a: bigint, m: bigint): bigint {
  let [r0, r1, s0, s1] = [a % m, m, 1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  return ((s0 % m) + m) % m;
}

function secretFields(key: GeneratedKey): Buffer {
  const k = key.privateKey as KeyObject;
  const jwk = k.export({ format: 'jwk' });
  if (key.info.version === 6) {
    // v6 Ed25519 / Ed448: S2K usage 0, the native secret, no checksum (§5.5.3).
    return Buffer.concat([Buffer.from([0]), Buffer.from(jwk.d!, 'base64url')]);
  }
  if (key.info.algorithm === 'ed25519') {
    const mpis = encodeMpi(Buffer.from(jwk.d!, 'base64url'));
    return Buffer.concat([Buffer.from([0]), mpis, checksum(mpis)]);
  }
  // RSA: d, p, q, u with p < q and u = p⁻¹ mod q (RFC 4880 §5.5.3).
  const [p, q] = [big(jwk.p!), big(jwk.q!)].sort((a, b) => (a < b ? -1 : 1)) as [bigint, bigint];
  const mpis = Buffer.concat([big(jwk.d!), p, q, modInverse(p, q)].map((v) => encodeMpi(bytes(v))));
  return Buffer.concat([Buffer.from([0]), mpis, checksum(mpis)]);
}

function checksum(data: Buffer): Buffer {
  let sum = 0;
  for (const b of data) sum = (sum + b) & 0xffff;
  return Buffer.from([sum >> 8, sum & 0xff]);
}

export function armoredSecretKey(key: GeneratedKey): string {
  const [primary, ...rest] = readPackets(key.transferablePublicKey);
  const secret = encodePacket(5, Buffer.concat([primary!.body, secretFields(key)]));
  return armor('PRIVATE KEY BLOCK', Buffer.concat([secret, ...rest.map((p) => p.raw)]));
}
