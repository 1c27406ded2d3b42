// Every parser of untrusted log input, fed random and mutated input: it either returns or throws
// a SignetError, never anything else (no TypeError, RangeError or hang).
import { readFileSync } from 'node:fs';

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { isSignetError } from '../errors.js';
import { parseCheckpoint } from './checkpoint.js';
import { decodeEntry } from './entry.js';
import { openNote, parseVerifierKey } from './note.js';
import { parseReceipt, verifyReceipt } from './receipt.js';
import { hashLeaf } from './rfc6962.js';
import { decodeEntryBundle, parseTilePath } from './tiles.js';

const fixture = (name: string): string => readFileSync(new URL(`../../test/fixtures/tlog/${name}`, import.meta.url), 'utf8');
const receipt = fixture('leaf-5-of-8.tlog-proof');
const verifier = parseVerifierKey((JSON.parse(fixture('golden-log-key.json')) as { verifierKey: string }).verifierKey);
const leaf5 = hashLeaf(Buffer.from('40414243', 'hex'));

function onlySignetErrors(f: () => unknown): void {
  try {
    f();
  } catch (e) {
    expect(isSignetError(e), String(e)).toBe(true);
  }
}

/** The golden receipt with a few random byte edits, so inputs get past the first checks. */
const mutatedReceipt = fc
  .array(fc.tuple(fc.nat({ max: receipt.length + 10 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 })
  .map((edits) => {
    const bytes = Buffer.from(receipt, 'utf8');
    for (const [at, value] of edits) if (at < bytes.length) bytes[at] = value;
    return bytes;
  });

describe('parsers fail closed with typed errors', () => {
  it('receipts: random and mutated input never verifies unless unchanged', () => {
    fc.assert(
      fc.property(mutatedReceipt, (bytes) => {
        try {
          verifyReceipt(bytes, leaf5, verifier);
          // Only edits that do not change the signed or proven content may still verify: the
          // unauthenticated extra line.
          const original = Buffer.from(receipt, 'utf8');
          const diff = [...bytes].flatMap((b, i) => (b === original[i] ? [] : [i]));
          const extraLine = receipt.indexOf('extra ');
          const extraEnd = receipt.indexOf('\n', extraLine);
          for (const i of diff) expect(i > extraLine + 5 && i < extraEnd).toBe(true);
        } catch (e) {
          expect(isSignetError(e), String(e)).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
    fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => onlySignetErrors(() => parseReceipt(Buffer.from(bytes)))));
  });

  it('notes, checkpoints, tile paths, bundles and entries', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (text) => {
        onlySignetErrors(() => openNote(text, [verifier]));
        onlySignetErrors(() => parseCheckpoint(text));
        onlySignetErrors(() => parseTilePath(text));
        onlySignetErrors(() => decodeEntry(Buffer.from(text)));
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1200 }), (bytes) => {
        onlySignetErrors(() => decodeEntryBundle(Buffer.from(bytes)));
        onlySignetErrors(() => openNote(bytes, [verifier]));
        onlySignetErrors(() => decodeEntry(bytes));
      }),
      { numRuns: 2000 },
    );
  });
});
