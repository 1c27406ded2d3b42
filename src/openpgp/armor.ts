// ASCII armor (RFC 4880 §6, RFC 9580 §6): BEGIN line, headers, blank line, base64 in 64-column
// lines as gpg writes them, "=" + base64 CRC-24, END line. dearmor is strict: one block, only
// whitespace around it, CRC checked when present, canonical base64.
import { Buffer } from 'node:buffer';
import { SignetError } from '../errors.js';

export type ArmorKind = 'SIGNATURE' | 'PUBLIC KEY BLOCK' | 'PRIVATE KEY BLOCK' | 'MESSAGE';
const KINDS: readonly ArmorKind[] = ['SIGNATURE', 'PUBLIC KEY BLOCK', 'PRIVATE KEY BLOCK', 'MESSAGE'];

const CRC24_INIT = 0xb704ce;
const CRC24_POLY = 0x1864cfb;

/** CRC-24 of RFC 4880 §6.1. */
export function crc24(bytes: Uint8Array): number {
  let crc = CRC24_INIT;
  for (const byte of bytes) {
    crc ^= byte << 16;
    for (let i = 0; i < 8; i++) {
      crc <<= 1;
      if (crc & 0x1000000) crc ^= CRC24_POLY;
    }
  }
  return crc & 0xffffff;
}

function crcLine(bytes: Uint8Array): string {
  const crc = crc24(bytes);
  return '=' + Buffer.from([crc >> 16, (crc >> 8) & 0xff, crc & 0xff]).toString('base64');
}

const HEADER_KEY = /^[A-Za-z][A-Za-z0-9-]*$/;

function armorMalformed(what: string): SignetError {
  return new SignetError('ARMOR_MALFORMED', `malformed ASCII armor: ${what}`);
}

export function armor(kind: ArmorKind, bytes: Uint8Array, headers: Record<string, string> = {}): string {
  if (!KINDS.includes(kind)) throw new SignetError('BAD_REQUEST', 'unknown armor kind');
  const lines = [`-----BEGIN PGP ${kind}-----`];
  for (const [key, value] of Object.entries(headers)) {
    if (!HEADER_KEY.test(key) || /[\r\n]/.test(value)) throw new SignetError('BAD_REQUEST', 'invalid armor header');
    lines.push(`${key}: ${value}`);
  }
  lines.push('');
  const base64 = Buffer.from(bytes).toString('base64');
  for (let i = 0; i < base64.length; i += 64) lines.push(base64.slice(i, i + 64));
  lines.push(crcLine(bytes), `-----END PGP ${kind}-----`, '');
  return lines.join('\n');
}

const BASE64_LINE = /^[A-Za-z0-9+/]+={0,2}$/;
const MAX_LINE = 76; // RFC 4880 §6.3

/** Decodes the armored block that makes up the whole of `text` (surrounding whitespace only). */
export function dearmor(text: string): { kind: ArmorKind; bytes: Buffer; headers: Record<string, string> } {
  const lines = text.replace(/^\s+|\s+$/g, '').split(/\r?\n/).map((line) => line.replace(/[ \t]+$/, ''));
  const begin = /^-----BEGIN PGP (.+)-----$/.exec(lines[0] ?? '');
  const kind = KINDS.find((k) => k === begin?.[1]);
  if (!kind) throw armorMalformed('no BEGIN PGP line of a known kind at the start');
  if (lines[lines.length - 1] !== `-----END PGP ${kind}-----`) throw armorMalformed('no matching END line at the end');
  const headers: Record<string, string> = {};
  let i = 1;
  for (; i < lines.length - 1 && lines[i] !== ''; i++) {
    const header = /^([^:]+): ?(.*)$/.exec(lines[i]!);
    if (!header || !HEADER_KEY.test(header[1]!)) throw armorMalformed('bad header line');
    if (Object.hasOwn(headers, header[1]!)) headers[header[1]!] += `, ${header[2]!}`;
    else headers[header[1]!] = header[2]!;
  }
  if (lines[i] !== '') throw armorMalformed('no blank line after the headers');
  const body = lines.slice(i + 1, -1);
  let checksum: string | null = null;
  if (body.length > 0 && body[body.length - 1]!.startsWith('=')) checksum = body.pop()!;
  if (body.length === 0) throw armorMalformed('empty body');
  for (const [n, line] of body.entries()) {
    if (line.length > MAX_LINE || !BASE64_LINE.test(line)) throw armorMalformed('bad base64 line');
    if (line.includes('=') && n !== body.length - 1) throw armorMalformed('base64 padding before the last line');
  }
  const base64 = body.join('');
  if (base64.length % 4 !== 0) throw armorMalformed('base64 length is not a multiple of 4');
  const bytes = Buffer.from(base64, 'base64');
  if (bytes.toString('base64') !== base64) throw armorMalformed('non-canonical base64');
  if (checksum !== null && checksum !== crcLine(bytes)) throw armorMalformed('CRC-24 checksum mismatch');
  return { kind, bytes, headers };
}
