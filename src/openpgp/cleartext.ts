// The cleartext signature framework (RFC 4880 §7, RFC 9580 §7), as apt's InRelease and debsign
// use it. Parsing is strict, as apt's is: nothing but whitespace outside the message, only Hash
// headers, every text line starting with "-" dash-escaped, exactly one signed block.
import { Buffer } from 'node:buffer';
import { SignetError } from '../errors.js';
import { dearmor } from './armor.js';
import type { HashAlgorithm, PublicKeyInfo } from './public-key.js';
import { verifyDetached, type VerifyResult } from './signature.js';
import { canonicalText, textLines } from './text.js';

const BEGIN_SIGNED = '-----BEGIN PGP SIGNED MESSAGE-----';
const BEGIN_SIGNATURE = '-----BEGIN PGP SIGNATURE-----';
const HASH_HEADER_NAME: Readonly<Record<HashAlgorithm, string>> = { sha256: 'SHA256', sha512: 'SHA512' };
/** Hash names a Hash header may carry (RFC 4880 §9.4), by hash algorithm ID. */
const HASH_ID_BY_NAME: Readonly<Record<string, number>> = { SHA256: 8, SHA384: 9, SHA512: 10, SHA224: 11, SHA1: 2, MD5: 1, RIPEMD160: 3 };

function clearsignMalformed(what: string): SignetError {
  return new SignetError('ARMOR_MALFORMED', `malformed cleartext signed message: ${what}`);
}

/** Frames `text` (whose canonicalText() an armored 0x01 signature covers) as a signed message.
 *  Lines keep their content; line endings are written as LF. `hashAlgorithm` null writes no Hash
 *  header: RFC 9580 §7.1 says not to emit one for a v6 signature (its Appendix A.6 has none). */
export function clearsignedMessage(text: string, armoredSignature: string, hashAlgorithm: HashAlgorithm | null): string {
  const escaped = textLines(text).map((line) => (line.startsWith('-') ? `- ${line}` : line));
  const signature = armoredSignature.endsWith('\n') ? armoredSignature : `${armoredSignature}\n`;
  const header = hashAlgorithm ? `Hash: ${HASH_HEADER_NAME[hashAlgorithm]}\n` : '';
  return `${BEGIN_SIGNED}\n${header}\n${escaped.join('\n')}\n${signature}`;
}

/** Splits a cleartext signed message. `text` is the dash-unescaped text, each line followed by
 *  LF; its canonicalText() is what the signature covers. */
export function parseClearsigned(message: string): { text: string; signature: Buffer; hashHeader: string[] } {
  // String#trim strips the same characters as /\s/ in linear time; the /^\s+|\s+$/ replace it
  // stands for is quadratic in a long inner run of whitespace (each start of the run is retried).
  const lines = message.trim().split(/\r?\n/);
  if (lines[0]?.trimEnd() !== BEGIN_SIGNED) throw clearsignMalformed('does not start with BEGIN PGP SIGNED MESSAGE');
  const hashHeader: string[] = [];
  let i = 1;
  for (; i < lines.length && lines[i]!.trimEnd() !== ''; i++) {
    const header = /^Hash: ?(.+)$/.exec(lines[i]!.trimEnd());
    if (!header) throw clearsignMalformed('only Hash headers are allowed');
    for (const name of header[1]!.split(',')) {
      const trimmed = name.trim().toUpperCase();
      if (!Object.hasOwn(HASH_ID_BY_NAME, trimmed)) throw clearsignMalformed('unknown hash in the Hash header');
      hashHeader.push(trimmed);
    }
  }
  if (i >= lines.length) throw clearsignMalformed('no blank line after the headers');
  const text: string[] = [];
  for (i++; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trimEnd() === BEGIN_SIGNATURE) break;
    if (line.startsWith('- ')) text.push(line.slice(2));
    else if (line.startsWith('-')) throw clearsignMalformed('a text line starting with "-" is not dash-escaped');
    else text.push(line);
  }
  if (i >= lines.length) throw clearsignMalformed('no signature block');
  // The rest must be exactly one armored signature; dearmor refuses anything after its END line,
  // such as a second signed block.
  const armored = dearmor(lines.slice(i).join('\n'));
  if (armored.kind !== 'SIGNATURE') throw clearsignMalformed('the armored block is not a signature');
  return { text: text.map((line) => `${line}\n`).join(''), signature: armored.bytes, hashHeader };
}

/** Parses and verifies a cleartext signed message. The signature must be a canonical-text
 *  signature, and its hash must be one the Hash header names (when there is one). */
export function verifyClearsigned(message: string, keys: PublicKeyInfo[]): { text: string; result: VerifyResult } {
  let parsed: ReturnType<typeof parseClearsigned>;
  try {
    parsed = parseClearsigned(message);
  } catch {
    return { text: '', result: { ok: false, reason: 'MALFORMED' } };
  }
  const result = verifyDetached(canonicalText(parsed.text), parsed.signature, keys);
  if (!result.ok) return { text: '', result };
  const declared = parsed.hashHeader.map((name) => HASH_ID_BY_NAME[name]);
  if (result.signature.type !== 0x01 || (declared.length > 0 && !declared.includes(result.signature.hashAlgorithm))) {
    return { text: '', result: { ok: false, reason: 'MALFORMED' } };
  }
  return { text: parsed.text, result };
}
