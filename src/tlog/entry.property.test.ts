// The signing path's quick check (isValidSignatureEntry) against the schema it stands in for:
// whatever it accepts, the schema accepts, on well-formed entries and on entries with one field
// replaced, removed or added. And it does accept the well-formed ones (or it would save nothing).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeEntry, encodeEntry, isValidSignatureEntry, logEntrySchema, SIGNATURE_KINDS } from './entry.js';

const hex = (n: number, upper = false) => fc.string({ unit: fc.constantFrom(...(upper ? '0123456789ABCDEF' : '0123456789abcdef')), minLength: n, maxLength: n });
const printable = (max: number) => fc.string({ minLength: 1, maxLength: max, unit: 'grapheme' });
const digest = fc.oneof(
  fc.record({ digest_alg: fc.constant('sha256' as const), digest_hex: hex(64) }),
  fc.record({ digest_alg: fc.constant('sha384' as const), digest_hex: hex(96) }),
  fc.record({ digest_alg: fc.constant('sha512' as const), digest_hex: hex(128) }),
);
const time = fc.date({ min: new Date(0), max: new Date(4102444800000), noInvalidDate: true }).map((d) => d.toISOString());

const validEntry = fc
  .record(
    {
      sig_kind: fc.constantFrom(...SIGNATURE_KINDS),
      key_fingerprint: fc.oneof(hex(40, true), hex(64, true)),
      digest,
      name: printable(40),
      nevra: printable(30),
      header_digest: hex(64),
      signature_sha256: hex(64),
      role: printable(20),
      token_accessor: printable(20),
      source: fc.constantFrom('127.0.0.1', '::1', '10.1.2.3'),
      rule: printable(20),
      time,
      correlation_id: printable(30),
    },
    { requiredKeys: ['sig_kind', 'key_fingerprint', 'digest', 'name', 'signature_sha256', 'token_accessor', 'source', 'time'] },
  )
  .map((r) => ({
    v: 1,
    kind: 'signature',
    sig_kind: r.sig_kind,
    key_fingerprint: r.key_fingerprint,
    artifact: {
      name: r.name,
      ...r.digest,
      ...(r.nevra !== undefined ? { nevra: r.nevra } : {}),
      ...(r.header_digest !== undefined ? { header_digest: r.header_digest } : {}),
    },
    signature_sha256: r.signature_sha256,
    requester: { ...(r.role !== undefined ? { role: r.role } : {}), token_accessor: r.token_accessor, source: r.source },
    ...(r.rule !== undefined ? { rule: r.rule } : {}),
    time: r.time,
    ...(r.correlation_id !== undefined ? { correlation_id: r.correlation_id } : {}),
  }));

/** Awkward values for any field: wrong types, empty, too long, control characters, near-misses. */
const oddValue = fc.oneof(
  fc.constantFrom<unknown>(undefined, null, 0, 1, 2, true, '', ' ', 'x\n', 'x\u007f', 'signature', 'key', 'sha256', 'ABCDEF', [], {}, new Date(0)),
  fc.string({ maxLength: 5000 }),
  hex(63),
  hex(64),
  hex(64, true),
  hex(40, true),
  fc.integer(),
  time,
  time.map((t) => t.replace('Z', '+00:00')),
  fc.constant('2025-02-30T00:00:00.000Z'),
);

type Path = readonly string[];
const PATHS: Path[] = [
  ['v'], ['kind'], ['sig_kind'], ['key_fingerprint'], ['artifact'], ['artifact', 'name'], ['artifact', 'digest_alg'], ['artifact', 'digest_hex'],
  ['artifact', 'nevra'], ['artifact', 'header_digest'], ['artifact', 'extra'], ['signature_sha256'], ['requester'], ['requester', 'role'],
  ['requester', 'token_accessor'], ['requester', 'source'], ['requester', 'secret'], ['rule'], ['time'], ['correlation_id'], ['extra'], ['__proto__'],
];

function mutate(entry: Record<string, unknown>, path: Path, value: unknown, remove: boolean): Record<string, unknown> {
  const copy = structuredClone(entry);
  let at: Record<string, unknown> = copy;
  for (const key of path.slice(0, -1)) {
    if (typeof at[key] !== 'object' || at[key] === null) return copy;
    at = at[key] as Record<string, unknown>;
  }
  const last = path[path.length - 1] as string;
  if (remove) delete at[last];
  else Object.defineProperty(at, last, { value, enumerable: true, writable: true, configurable: true });
  return copy;
}

describe('isValidSignatureEntry', () => {
  it('accepts well-formed signature entries, which the schema accepts too, and encodes them canonically', () => {
    fc.assert(
      fc.property(validEntry, (e) => {
        expect(logEntrySchema.safeParse(e).success).toBe(true);
        expect(isValidSignatureEntry(e)).toBe(true);
        // decodeEntry re-encodes with the generic canonical JSON and compares the bytes.
        expect(decodeEntry(encodeEntry(e as never))).toEqual(e);
      }),
      { numRuns: 2000 },
    );
  });

  it('accepts nothing the schema refuses (one field replaced, removed or added)', () => {
    let refused = 0;
    fc.assert(
      fc.property(validEntry, fc.constantFrom(...PATHS), oddValue, fc.boolean(), (e, path, value, remove) => {
        const m = mutate(e, path, value, remove);
        const schema = logEntrySchema.safeParse(m).success;
        if (isValidSignatureEntry(m)) expect(schema).toBe(true);
        if (!schema) refused++;
      }),
      { numRuns: 20_000 },
    );
    // The mutations do reach refusals (the check above is not vacuous).
    expect(refused).toBeGreaterThan(5_000);
  });
});
