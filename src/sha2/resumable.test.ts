// Resumable SHA-2 against node:crypto: every length from 0 to 3 blocks + 2 (so every padding
// edge: 55/56/64 for SHA-256, 111/112/128 for SHA-512, ±1), export/resume at every split point
// of those inputs, random lengths and chunkings, and refusal of malformed states.
import { createHash, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { isSignetError, type ErrorCode } from '../errors.js';
import { SHA2_VARIANTS } from './compress.js';
import { blockBytes, ResumableSha2, stateBytes, type Midstate, type Sha2Algorithm } from './resumable.js';
import { signedLeb128, unsignedLeb128 } from './wasm-encoder.js';

const ALGORITHMS: readonly Sha2Algorithm[] = ['sha256', 'sha512'];
const reference = (algorithm: Sha2Algorithm, data: Uint8Array): Buffer => createHash(algorithm).update(data).digest();

function expectCode(fn: () => unknown, code: ErrorCode): void {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(isSignetError(thrown, code), `expected ${code}, got ${String(thrown)}`).toBe(true);
}

describe('LEB128 (WebAssembly spec §5.2.2 examples)', () => {
  test('unsigned', () => {
    expect(unsignedLeb128(0)).toEqual([0]);
    expect(unsignedLeb128(127)).toEqual([0x7f]);
    expect(unsignedLeb128(128)).toEqual([0x80, 0x01]);
    expect(unsignedLeb128(624485)).toEqual([0xe5, 0x8e, 0x26]);
    expect(unsignedLeb128(0xffffffff)).toEqual([0xff, 0xff, 0xff, 0xff, 0x0f]);
    expect(() => unsignedLeb128(-1)).toThrow(RangeError);
  });
  test('signed', () => {
    expect(signedLeb128(0n)).toEqual([0]);
    expect(signedLeb128(63n)).toEqual([0x3f]);
    expect(signedLeb128(64n)).toEqual([0xc0, 0x00]);
    expect(signedLeb128(-1n)).toEqual([0x7f]);
    expect(signedLeb128(-64n)).toEqual([0x40]);
    expect(signedLeb128(-65n)).toEqual([0xbf, 0x7f]);
    expect(signedLeb128(-123456n)).toEqual([0xc0, 0xbb, 0x78]);
  });
});

describe.each(ALGORITHMS)('%s', (algorithm) => {
  const block = blockBytes(algorithm);
  const edgeData = randomBytes(3 * block + 2);

  test('derived constants match FIPS 180-4 (first and last K, first and last H(0))', () => {
    const v = SHA2_VARIANTS[algorithm];
    const hex = (n: bigint | undefined) => n?.toString(16).padStart(v.wordBytes * 2, '0');
    if (algorithm === 'sha256') {
      expect([hex(v.k[0]), hex(v.k[63]), hex(v.iv[0]), hex(v.iv[7])]).toEqual(['428a2f98', 'c67178f2', '6a09e667', '5be0cd19']);
    } else {
      expect([hex(v.k[0]), hex(v.k[79]), hex(v.iv[0]), hex(v.iv[7])]).toEqual(['428a2f98d728ae22', '6c44198c4a475817', '6a09e667f3bcc908', '5be0cd19137e2179']);
    }
  });

  test('every length from 0 to 3 blocks + 2 equals node:crypto', () => {
    for (let n = 0; n <= edgeData.length; n++) {
      const data = edgeData.subarray(0, n);
      expect(ResumableSha2.create(algorithm).update(data).digest().toString('hex'), `length ${n}`).toBe(reference(algorithm, data).toString('hex'));
    }
  });

  test('export and resume at every split point of inputs around the padding edges', () => {
    const edges = algorithm === 'sha256' ? [55, 56, 64, 119, 120, 128, 192] : [111, 112, 128, 239, 240, 256, 384];
    const lengths = [...new Set(edges.flatMap((e) => [e - 1, e, e + 1]))];
    for (const n of lengths) {
      const data = edgeData.subarray(0, n);
      const expected = reference(algorithm, data);
      for (let split = 0; split <= n; split++) {
        const { midstate, tail } = ResumableSha2.create(algorithm).update(data.subarray(0, split)).export();
        expect(midstate.length % block).toBe(0);
        expect(tail.length).toBeLessThan(block);
        expect(midstate.length + tail.length).toBe(split);
        expect(midstate.state.length).toBe(stateBytes(algorithm));
        const resumed = ResumableSha2.resume(midstate).update(tail).update(data.subarray(split));
        expect(resumed.length).toBe(n);
        expect(resumed.digest().equals(expected), `length ${n}, split ${split}`).toBe(true);
      }
    }
  });

  test('the exported state at length 0 is H(0), and one block in it is the chaining value', () => {
    const { midstate, tail } = ResumableSha2.create(algorithm).export();
    expect(midstate.length).toBe(0);
    expect(tail.length).toBe(0);
    const iv = SHA2_VARIANTS[algorithm].iv.map((h) => h.toString(16).padStart(SHA2_VARIANTS[algorithm].wordBytes * 2, '0')).join('');
    expect(midstate.state.toString('hex')).toBe(iv);
    // After exactly one block the state is not H(0) and resuming with no more input pads correctly.
    const one = ResumableSha2.create(algorithm).update(edgeData.subarray(0, block)).export();
    expect(one.midstate.state.toString('hex')).not.toBe(iv);
    expect(ResumableSha2.resume(one.midstate).digest().equals(reference(algorithm, edgeData.subarray(0, block)))).toBe(true);
  });

  test('random lengths, random chunkings and small chunk areas equal node:crypto; digest() leaves the hasher usable', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 20_000 }),
        fc.array(fc.integer({ min: 0, max: 3000 }), { maxLength: 12 }),
        fc.constantFrom(128, 256, 1024, 65024),
        (length, cuts, chunkBytes) => {
          const data = randomBytes(length);
          const hasher = ResumableSha2.create(algorithm, { chunkBytes });
          let at = 0;
          for (const cut of cuts) {
            const end = Math.min(length, at + cut);
            hasher.update(data.subarray(at, end));
            at = end;
            // An intermediate digest (what the server takes before its trailer) changes nothing.
            expect(hasher.digest().equals(reference(algorithm, data.subarray(0, at)))).toBe(true);
          }
          hasher.update(data.subarray(at));
          expect(hasher.digest().equals(reference(algorithm, data))).toBe(true);
        },
      ),
      { numRuns: 150 },
    );
  });

  test('a few MiB in one update (the chunk loop) equals node:crypto', () => {
    const data = randomBytes(5 * 1024 * 1024 + 77);
    expect(ResumableSha2.create(algorithm, { chunkBytes: 1 << 20 }).update(data).digest().equals(reference(algorithm, data))).toBe(true);
  });

  describe('malformed states are refused with MIDSTATE_INVALID', () => {
    const good = (): Midstate => ResumableSha2.create(algorithm).update(edgeData.subarray(0, 2 * block)).export().midstate;
    const size = stateBytes(algorithm);

    test.each([0, 1, size - 1, size + 1, 2 * size])('state of %i bytes', (bytes) => {
      expectCode(() => ResumableSha2.resume({ ...good(), state: Buffer.alloc(bytes, 1) }), 'MIDSTATE_INVALID');
    });

    test.each([1, block - 1, block + 1, 3 * block - 1, -block, 0.5, Number.NaN, Infinity, 2 ** 53])('length %s', (length) => {
      expectCode(() => ResumableSha2.resume({ ...good(), length }), 'MIDSTATE_INVALID');
    });

    test('a state other than H(0) at length 0', () => {
      expectCode(() => ResumableSha2.resume({ ...good(), length: 0 }), 'MIDSTATE_INVALID');
    });

    test('a state that is not bytes', () => {
      expectCode(() => ResumableSha2.resume({ ...good(), state: 'x'.repeat(size) as unknown as Buffer }), 'MIDSTATE_INVALID');
    });

    test('an unknown hash', () => {
      for (const name of ['sha1', 'sha384', 'SHA512', 'md5', '']) {
        expectCode(() => ResumableSha2.resume({ ...good(), algorithm: name as Sha2Algorithm }), 'ALGORITHM_UNSUPPORTED');
        expectCode(() => ResumableSha2.create(name as Sha2Algorithm), 'ALGORITHM_UNSUPPORTED');
      }
    });
  });
});
