// Strict text encodings shared by the C2SP formats (signed-note, tlog-checkpoint, tlog-proof).
// Buffer.from(s, 'base64') silently skips junk and accepts missing padding and URL-safe letters;
// a signed format must have one spelling per value, so decode and re-encode must round-trip.

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const DECIMAL = /^(?:0|[1-9][0-9]*)$/;
/** Tree sizes and indices are uint64 in every spec we follow. */
const UINT64_LIMIT = 1n << 64n;

/** RFC 4648 §4 base64, padded, canonical (no non-zero pad bits); undefined if not. */
export function decodeBase64(text: string): Buffer | undefined {
  if (!BASE64.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : undefined;
}

/** ASCII decimal without leading zeros, below 2^64; undefined if not. */
export function decodeUint64(text: string): bigint | undefined {
  if (!DECIMAL.test(text) || text.length > 20) return undefined;
  const value = BigInt(text);
  return value < UINT64_LIMIT ? value : undefined;
}

export function isUint64(value: bigint): boolean {
  return value >= 0n && value < UINT64_LIMIT;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Decodes strict UTF-8 (no replacement characters); undefined if malformed. */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** True if `text` has a C0 control character or DEL (U+007F), other than "\n" when allowed. */
export function hasControlCharacter(text: string, allowNewline = false): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c < 0x20 || c === 0x7f) && !(allowNewline && c === 0x0a)) return true;
  }
  return false;
}
