// Random byte mutations of a well-formed package prefix (docs/formats.md "RPM"; docs/security.md "Threat model"): the parser and
// the signature-header rebuild either succeed, with output that parses again, or fail with a
// SignetError of an RPM code. Never another exception, never a slow case.
import { Buffer } from 'node:buffer';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cpuMs } from '../../test/helpers/cpu-time.js';
import { buildPackage, defaultMainEntries, strArray } from '../../test/fixtures/rpm/build-package.js';
import { exerciseRpmPrefix, parseRpmPrefix } from './index.js';

const body = Buffer.from([4, 0x00, 1, 10, 0, 0, 0, 0, 0xab, 0xcd, 0, 8, 0xff]);
const probe = { packet: Buffer.concat([Buffer.from([0x88, body.length]), body]), algorithm: 'rsa4096' as const };

const payload = Buffer.from('payload');
const pkg = buildPackage({
  payload,
  mainEntries: [...defaultMainEntries(payload), strArray(5097, ['ab', 'cd'])].sort((a, b) => a.tag - b.tag),
});
const layout = parseRpmPrefix(pkg.file);
const prefix = pkg.file.subarray(0, layout.payloadOffset);
// Half the mutations land in the preambles and indexes, where the structure lives.
const structural = [
  [96, 96 + 16 + 16 * layout.signatureHeader.entries.length],
  [layout.headerOffset, layout.headerOffset + 16 + 16 * layout.header.entries.length],
] as const;

const mutation = fc.oneof(
  fc.record({ at: fc.integer({ min: 0, max: prefix.length - 1 }), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({
    at: fc.constantFrom(...structural).chain(([lo, hi]) => fc.integer({ min: lo, max: hi - 1 })),
    value: fc.constantFrom(0, 1, 0x7f, 0x80, 0xff, 0x10, 0x3e, 0x3f),
  }),
);

describe('mutated prefixes', () => {
  it('only succeed or fail with an RPM code, none hangs', () => {
    const outcomes = new Map<string, number>();
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 6 }), fc.nat({ max: 40 }), (mutations, cut) => {
        const input = Buffer.from(prefix.subarray(0, prefix.length - (cut < 35 ? 0 : cut)));
        for (const m of mutations) if (m.at < input.length) input[m.at] = m.value;
        let outcome: ReturnType<typeof exerciseRpmPrefix> | undefined;
        let thrown: unknown;
        // A hang guard, not a benchmark (bench/fuzz-rpm.mjs measures speed): a case that takes
        // seconds of CPU would mean a loop driven by attacker-controlled counts.
        const used = cpuMs(() => {
          try {
            outcome = exerciseRpmPrefix(input, probe);
          } catch (err) {
            thrown = err;
          }
        });
        if (outcome === undefined) throw thrown;
        expect(used).toBeLessThan(2000);
        const key = outcome.ok ? 'ok' : outcome.code;
        outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
      }),
      { numRuns: 3000 },
    );
    // The generator reaches both sides.
    expect(outcomes.get('RPM_MALFORMED') ?? 0).toBeGreaterThan(100);
    expect(outcomes.get('ok') ?? 0).toBeGreaterThan(10);
  });

  it('the unmutated prefix rebuilds in place', () => {
    expect(exerciseRpmPrefix(prefix, probe)).toEqual({ ok: true, inPlace: true });
  });
});
