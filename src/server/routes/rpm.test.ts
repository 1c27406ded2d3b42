// The rpm route's header decoding: canonical base64 only, exactly as the regular expression
// /^[A-Za-z0-9+/]*={0,2}$/ with a length that is a multiple of 4 decides, and the same bytes.
import { describe, expect, it } from 'vitest';
import { SignetError } from '../../errors.js';
import { decodeHeader } from './rpm.js';

const CANONICAL = /^[A-Za-z0-9+/]*={0,2}$/;
const reference = (s: string): Buffer | undefined => (s.length % 4 === 0 && CANONICAL.test(s) ? Buffer.from(s, 'base64') : undefined);
const ours = (s: string): Buffer | undefined => {
  const r = decodeHeader(s);
  return r instanceof SignetError ? undefined : r;
};

describe('decodeHeader', () => {
  it('takes canonical base64 and refuses everything else with BODY_INVALID', () => {
    const header = Buffer.from([0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0, 0xff, 0xfe]);
    expect(ours(header.toString('base64'))).toEqual(header);
    for (const bad of ['AAA', 'AA=A', 'A===', '=AAA', 'AA-_', 'AA A', 'AAA\n', 'AAé=', 'AB*=', 'AAAA====', 'QU\u0141B', 'QU\uff41B']) {
      const r = decodeHeader(bad);
      expect(r instanceof SignetError && r.code === 'BODY_INVALID', JSON.stringify(bad)).toBe(true);
    }
  });

  it('agrees with the regular expression on random strings over a hostile alphabet', () => {
    // Past U+00FF the decoder reads a character by its low byte (U+0141 as 'A'): those too.
    const alphabet = 'AAAAAAAB/+z09=-_ \n*é\u0000\u0141\uff41\u2041';
    let seed = 1;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 100_000; i++) {
      const length = Math.floor(random() * 14);
      let s = '';
      for (let j = 0; j < length; j++) s += alphabet[Math.floor(random() * alphabet.length)];
      const want = reference(s);
      const got = ours(s);
      expect(got === undefined, JSON.stringify(s)).toBe(want === undefined);
      if (want !== undefined) expect(got!.equals(want), JSON.stringify(s)).toBe(true);
    }
  });
});
