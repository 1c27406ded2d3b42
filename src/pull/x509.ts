// A small X.509 v3 certificate writer for pull mode's private CA (docs/pull-mode.md): Ed25519 or
// P-256 keys from node:crypto, DER written here (ITU-T X.690), certificates as RFC 5280 profiles
// them. Node can parse and verify certificates (X509Certificate) but not create them; this writes
// exactly the few structures the CA needs and nothing else, with every length bounded.
//
// The role (relay, signer, client) is carried twice, both checked by the peers (src/pull/roles.ts):
// as the subject's organizationalUnitName `signet-ROLE`, and as the extended key usage that TLS
// itself enforces (RFC 5280 4.2.1.12: serverAuth for a TLS server, clientAuth for a TLS client).
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { SignetError } from '../errors.js';

export type Role = 'relay' | 'signer' | 'client';
export const ROLES: readonly Role[] = ['relay', 'signer', 'client'];
export type CertAlgorithm = 'ed25519' | 'p256';

// ---- DER (X.690) ---------------------------------------------------------------------------

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  if (bytes.length > 4) throw new Error('DER: length out of range');
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), length(body.length), body]);
}

const seq = (...c: Buffer[]): Buffer => tlv(0x30, ...c);
const set = (...c: Buffer[]): Buffer => tlv(0x31, ...c);
const octets = (b: Buffer): Buffer => tlv(0x04, b);
const bitString = (b: Buffer): Buffer => tlv(0x03, Buffer.from([0]), b);
const utf8 = (s: string): Buffer => tlv(0x0c, Buffer.from(s, 'utf8'));
const bool = (v: boolean): Buffer => tlv(0x01, Buffer.from([v ? 0xff : 0]));
const explicit = (n: number, c: Buffer): Buffer => tlv(0xa0 | n, c);

/** A non-negative INTEGER from big-endian bytes (a leading 0 keeps it positive). */
function integer(bytes: Buffer): Buffer {
  let b = bytes;
  while (b.length > 1 && b[0] === 0 && (b[1]! & 0x80) === 0) b = b.subarray(1);
  if ((b[0]! & 0x80) !== 0) b = Buffer.concat([Buffer.from([0]), b]);
  return tlv(0x02, b);
}

function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map((p) => BigInt(p));
  const out: number[] = [];
  const first = parts[0]! * 40n + parts[1]!;
  for (const arc of [first, ...parts.slice(2)]) {
    const chunk: number[] = [];
    let v = arc;
    do {
      chunk.unshift(Number(v & 0x7fn));
      v >>= 7n;
    } while (v > 0n);
    for (let i = 0; i < chunk.length - 1; i++) chunk[i]! |= 0x80;
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

/** UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280 4.1.2.5). */
function time(d: Date): Buffer {
  const iso = d.toISOString();
  const compact = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
  return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(compact.slice(2), 'ascii')) : tlv(0x18, Buffer.from(compact, 'ascii'));
}

// ---- certificate -----------------------------------------------------------------------------

const OID = {
  ed25519: '1.3.101.112',
  ecdsaSha256: '1.2.840.10045.4.3.2',
  commonName: '2.5.4.3',
  organizationalUnit: '2.5.4.11',
  subjectKeyId: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyId: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
} as const;

/** Names are short printable words: they become a CN, a DNS SAN and a file name. */
const NAME = /^[a-z0-9]([a-z0-9.-]{0,62}[a-z0-9])?$/;

export function checkCertName(name: string): string {
  if (!NAME.test(name)) throw new SignetError('NAME_INVALID', 'a certificate name is 1-64 lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit');
  return name;
}

export interface CertSpec {
  /** The subject's CN (and its first DNS name). */
  readonly name: string;
  /** The CA itself when undefined. */
  readonly role?: Role;
  /** Extra subjectAltName entries: DNS names and IP addresses. */
  readonly dns?: readonly string[];
  readonly ips?: readonly string[];
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly publicKey: KeyObject;
}

export interface Issuer {
  readonly name: string;
  readonly key: KeyObject;
  /** The issuer's subjectKeyIdentifier (its authorityKeyIdentifier in the new certificate). */
  readonly keyId: Buffer;
}

function algorithmOf(key: KeyObject): { id: Buffer; hash: string | null } {
  if (key.asymmetricKeyType === 'ed25519') return { id: seq(oid(OID.ed25519)), hash: null };
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return { id: seq(oid(OID.ecdsaSha256)), hash: 'sha256' };
  throw new SignetError('ALGORITHM_UNSUPPORTED', 'the CA signs with Ed25519 or P-256 keys only');
}

function distinguishedName(cn: string, ou?: string): Buffer {
  return seq(
    ...(ou !== undefined ? [set(seq(oid(OID.organizationalUnit), utf8(ou)))] : []),
    set(seq(oid(OID.commonName), utf8(cn))),
  );
}

function ipBytes(ip: string): Buffer {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (v4) {
    const b = v4.slice(1).map(Number);
    if (b.every((x) => x <= 255)) return Buffer.from(b);
  }
  throw new SignetError('USAGE', `not an IPv4 address: ${JSON.stringify(ip.slice(0, 64))}`);
}

/** The key identifier of RFC 5280 4.2.1.2 method (1): SHA-1 of the subjectPublicKey bits. */
export function keyIdentifier(publicKey: KeyObject): Buffer {
  return createHash('sha1').update(subjectPublicKeyBits(publicKey)).digest();
}

function subjectPublicKeyBits(publicKey: KeyObject): Buffer {
  // SubjectPublicKeyInfo ::= SEQUENCE { algorithm, subjectPublicKey BIT STRING }: the BIT STRING is
  // the last element, after its tag, length and unused-bits byte. Both key types here are short.
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const algLen = spki[3]!; // outer SEQUENCE (2 bytes for these sizes), then the AlgorithmIdentifier
  const bitStart = 2 + 2 + algLen;
  return spki.subarray(bitStart + 3);
}

export function roleOu(role: Role): string {
  return `signet-${role}`;
}

/** A DER certificate for `spec`, signed by `issuer` (self-signed when the issuer is the subject). */
export function writeCertificate(spec: CertSpec, issuer: Issuer): Buffer {
  checkCertName(spec.name);
  if (!(spec.notAfter.getTime() > spec.notBefore.getTime())) throw new SignetError('USAGE', 'a certificate must end after it starts');
  const alg = algorithmOf(issuer.key);
  const isCa = spec.role === undefined;
  const extensions: Buffer[] = [
    seq(oid(OID.basicConstraints), bool(true), octets(isCa ? seq(bool(true), tlv(0x02, Buffer.from([0]))) : seq())),
    // keyUsage BIT STRING (named bits): digitalSignature(0) for an end entity; keyCertSign(5) and
    // cRLSign(6) for the CA. The unused-bits count is the number of trailing zero bits.
    seq(oid(OID.keyUsage), bool(true), octets(isCa ? tlv(0x03, Buffer.from([1, 0x06])) : tlv(0x03, Buffer.from([7, 0x80])))),
    seq(oid(OID.subjectKeyId), octets(octets(keyIdentifier(spec.publicKey)))),
    seq(oid(OID.authorityKeyId), octets(seq(tlv(0x80, issuer.keyId)))),
  ];
  if (!isCa) {
    const usages = spec.role === 'relay' ? [OID.serverAuth] : spec.role === 'signer' ? [OID.serverAuth, OID.clientAuth] : [OID.clientAuth];
    extensions.push(seq(oid(OID.extKeyUsage), bool(true), octets(seq(...usages.map(oid)))));
    const names = [tlv(0x82, Buffer.from(spec.name, 'ascii')), ...(spec.dns ?? []).map((d) => tlv(0x82, Buffer.from(checkCertName(d), 'ascii'))), ...(spec.ips ?? []).map((ip) => tlv(0x87, ipBytes(ip)))];
    extensions.push(seq(oid(OID.subjectAltName), octets(seq(...names))));
  }
  const tbs = seq(
    explicit(0, tlv(0x02, Buffer.from([2]))), // v3
    integer(Buffer.concat([Buffer.from([0x40 | (randomBytes(1)[0]! & 0x3f)]), randomBytes(15)])),
    alg.id,
    distinguishedName(issuer.name, 'signet-ca'),
    seq(time(spec.notBefore), time(spec.notAfter)),
    distinguishedName(spec.name, spec.role === undefined ? 'signet-ca' : roleOu(spec.role)),
    spec.publicKey.export({ type: 'spki', format: 'der' }),
    explicit(3, seq(...extensions)),
  );
  const signature = sign(alg.hash, tbs, issuer.key);
  return seq(tbs, alg.id, bitString(signature));
}

export function toPem(der: Buffer): string {
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
}

export function newKeyPair(algorithm: CertAlgorithm): { privateKey: KeyObject; publicKey: KeyObject } {
  return algorithm === 'ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
}

export function privateKeyPem(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }).toString();
}

export function loadPrivateKey(pem: Buffer | string): KeyObject {
  return createPrivateKey(pem);
}

export function publicOf(key: KeyObject): KeyObject {
  return createPublicKey(key);
}
