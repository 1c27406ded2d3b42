// The two text canonicalisations of OpenPGP, which differ:
// - Canonical text documents (signature type 0x01, RFC 4880 §5.2.1): line endings become CRLF.
//   gpg 2.2 (textfilter.c, default --no-rfc2440-text) also drops every CR before a line end and
//   at the end of the data, and keeps trailing spaces and tabs; checked against its --textmode
//   signatures in test/fixtures/openpgp. TextModeConverter does exactly this, streaming.
// - The cleartext signature framework (RFC 4880 §7.1): trailing spaces and tabs are removed from
//   every line as well, and the line ending before the armored signature belongs to the
//   framework, not the text. canonicalText() gives these bytes; they are unchanged by the
//   text-mode conversion, so a 0x01 signature over them verifies either way.
import { Buffer } from 'node:buffer';

const CR = 0x0d;
const LF = 0x0a;

export class TextModeConverter {
  /** CRs seen but not written yet: dropped if a line end follows, written otherwise. */
  #pendingCr = 0;

  push(chunk: Uint8Array): Buffer {
    const out = Buffer.allocUnsafe(this.#pendingCr + chunk.length * 2);
    let n = 0;
    for (const byte of chunk) {
      if (byte === CR) {
        this.#pendingCr++;
      } else if (byte === LF) {
        this.#pendingCr = 0;
        out[n++] = CR;
        out[n++] = LF;
      } else {
        for (; this.#pendingCr > 0; this.#pendingCr--) out[n++] = CR;
        out[n++] = byte;
      }
    }
    return out.subarray(0, n);
  }

  /** gpg trims trailing CRs of the last line too. */
  end(): Buffer {
    this.#pendingCr = 0;
    return Buffer.alloc(0);
  }
}

/** Splits text into lines at LF or CRLF; a final line ending ends the last line rather than
 *  starting an empty one. */
export function textLines(text: string): string[] {
  const lines = text.split(/\r?\n/);
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** What a cleartext-framework signature covers: each line without trailing spaces and tabs (and
 *  CRs, as gpg strips them), joined with CRLF, no line ending after the last line (RFC 4880 §7.1). */
export function canonicalText(text: string | Uint8Array): Buffer {
  const decoded = typeof text === 'string' ? text : Buffer.from(text).toString('utf8');
  return Buffer.from(textLines(decoded).map((line) => line.replace(/[ \t\r]+$/, '')).join('\r\n'), 'utf8');
}
