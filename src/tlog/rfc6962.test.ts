import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HASH_SIZE, hashChildren, hashChildrenInto, hashLeaf, hashLeafInto, hashPairInto } from './rfc6962.js';

describe('hashLeafInto / hashPairInto (no Buffer per hash)', () => {
  it('write the same digests as hashLeaf / hashChildren, at any offset', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.nat(5), (entry, slot) => {
        const out = Buffer.alloc(6 * HASH_SIZE, 0xaa);
        hashLeafInto(entry, out, slot * HASH_SIZE);
        expect(out.subarray(slot * HASH_SIZE, (slot + 1) * HASH_SIZE).equals(hashLeaf(entry))).toBe(true);
        // Nothing else in the buffer is touched.
        expect(out.subarray(0, slot * HASH_SIZE).every((b) => b === 0xaa)).toBe(true);
        expect(out.subarray((slot + 1) * HASH_SIZE).every((b) => b === 0xaa)).toBe(true);
      }),
    );
    // Lengths repeat (views are cached per length) and every byte value survives the latin1 trip.
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    for (const entry of [Buffer.alloc(0), all, Buffer.from('x'), all.subarray(3, 4), Buffer.alloc(65535, 0xff), Buffer.alloc(70000, 0x80)]) {
      const out = Buffer.alloc(HASH_SIZE);
      hashLeafInto(entry, out, 0);
      expect(out.equals(hashLeaf(entry))).toBe(true);
    }
  });

  it('hash side-by-side siblings, in place too', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 64, maxLength: 64 }), (pair) => {
        const src = Buffer.concat([Buffer.alloc(HASH_SIZE, 7), Buffer.from(pair)]);
        const want = hashChildren(src.subarray(HASH_SIZE, 2 * HASH_SIZE), src.subarray(2 * HASH_SIZE));
        const out = Buffer.alloc(HASH_SIZE);
        hashPairInto(src, HASH_SIZE, out, 0);
        expect(out.equals(want)).toBe(true);
        hashPairInto(src, HASH_SIZE, src, HASH_SIZE);
        expect(src.subarray(HASH_SIZE, 2 * HASH_SIZE).equals(want)).toBe(true);
      }),
    );
  });

  it('hashChildrenInto matches hashChildren, even over one of its children', () => {
    const left = hashLeaf(Buffer.from('l'));
    const right = hashLeaf(Buffer.from('r'));
    const want = hashChildren(left, right);
    const out = Buffer.concat([left, right]);
    hashChildrenInto(out.subarray(0, HASH_SIZE), out.subarray(HASH_SIZE), out, HASH_SIZE);
    expect(out.subarray(HASH_SIZE).equals(want)).toBe(true);
    expect(() => hashChildrenInto(left.subarray(1), right, out, 0)).toThrow(RangeError);
  });

  it('refuse to read or write out of bounds', () => {
    expect(() => hashPairInto(Buffer.alloc(63), 0, Buffer.alloc(32), 0)).toThrow(RangeError);
    expect(() => hashPairInto(Buffer.alloc(64), 1, Buffer.alloc(32), 0)).toThrow(RangeError);
    expect(() => hashPairInto(Buffer.alloc(64), 0, Buffer.alloc(32), 1)).toThrow(RangeError);
    expect(() => hashLeafInto(Buffer.from('a'), Buffer.alloc(40), 20)).toThrow(RangeError);
    expect(() => hashLeafInto(Buffer.from('a'), Buffer.alloc(32), 32)).toThrow(RangeError);
  });
});
