// The kinds' content checks (content.ts): real documents pass, the shapes a stock tool would read
// as something else never pass, the verdict does not depend on how the body is cut into chunks,
// and the time is linear in the body (streaming, one line at most held).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cpuMs } from '../../test/helpers/cpu-time.js';
import { SignetError } from '../errors.js';
import { ARTIFACT_KINDS, type ArtifactKind } from '../policy/kinds.js';
import { checkContent, checkMidstateTail, contentCheck, MAX_LINE_BYTES } from './content.js';

const CONTENT_KINDS = ARTIFACT_KINDS.filter((k) => k !== 'rpm');

function verdict(kind: ArtifactKind, chunks: readonly Uint8Array[]): string {
  const check = contentCheck(kind);
  try {
    for (const c of chunks) check.update(c);
    check.finish();
    return 'ok';
  } catch (err) {
    if (err instanceof SignetError) return err.code;
    throw err;
  }
}

function cut(bytes: Buffer, points: number[]): Buffer[] {
  const sorted = [...new Set(points.map((p) => p % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let at = 0;
  for (const p of sorted) {
    out.push(bytes.subarray(at, p));
    at = p;
  }
  out.push(bytes.subarray(at));
  return out;
}

const hex = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${n}}$`));
const fileName = fc.stringMatching(/^[A-Za-z0-9._/-]{1,40}$/);
const oid = fc.oneof(hex(40), hex(64));

const sums = fc.array(fc.tuple(fc.constantFrom(32, 40, 64, 128).chain((n) => hex(n)), fc.constantFrom(' ', '*'), fileName), { minLength: 1, maxLength: 20 }).map((lines) => lines.map(([h, m, n]) => `${h} ${m}${n}\n`).join(''));
const release = fc
  .tuple(fc.array(fc.tuple(fc.constantFrom('Origin', 'Label', 'Suite', 'Codename', 'Architectures'), fileName), { maxLength: 5 }), fc.array(fc.tuple(hex(64), fc.nat(), fileName), { maxLength: 10 }))
  .map(([fields, files]) => `${fields.map(([k, v]) => `${k}: ${v}\n`).join('')}Date: Sat, 05 Dec 2026 00:00:00 UTC\nSHA256:\n${files.map(([h, n, f]) => ` ${h} ${n} ${f}\n`).join('')}`);
const commit = fc
  .tuple(oid, fc.array(oid, { maxLength: 3 }), fc.string({ maxLength: 200 }).filter((s) => !s.includes('\0')))
  .map(([tree, parents, message]) => `tree ${tree}\n${parents.map((p) => `parent ${p}\n`).join('')}author A <a@x> 1 +0000\ncommitter A <a@x> 1 +0000\n\n${message}`);
const tag = fc.tuple(oid, fc.constantFrom('commit', 'tree', 'blob', 'tag'), fileName).map(([o, t, n]) => `object ${o}\ntype ${t}\ntag ${n}\ntagger T <t@x> 1 +0000\n\nmessage\n`);
const repomd = fc
  .tuple(fc.boolean(), fc.boolean(), fc.array(fileName, { maxLength: 5 }))
  .map(([decl, comment, items]) => `${decl ? '<?xml version="1.0" encoding="UTF-8"?>\n' : ''}${comment ? '<!-- generated -->\n' : ''}<repomd xmlns="http://linux.duke.edu/metadata/repo">\n${items.map((i) => `  <data type="${i}"/>\n`).join('')}</repomd>\n`);

const VALID: ReadonlyArray<[ArtifactKind, fc.Arbitrary<string>]> = [
  ['sums', sums],
  ['apt', release],
  ['git', commit],
  ['git', tag],
  ['yum', repomd],
];

const RPM_HEADER = Buffer.from([0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 16]);

describe('content checks', () => {
  it('accept real documents of their kind, however the body is chunked', () => {
    for (const [kind, doc] of VALID) {
      fc.assert(
        fc.property(doc, fc.array(fc.nat(), { maxLength: 6 }), (text, points) => {
          const bytes = Buffer.from(text, 'utf8');
          expect(verdict(kind, cut(bytes, points)), `${kind}: ${JSON.stringify(text)}`).toBe('ok');
        }),
        { numRuns: 50 },
      );
    }
  });

  it('give the same verdict for any body whole and in chunks', () => {
    const body = fc.oneof(
      fc.uint8Array({ maxLength: 400 }).map((b) => Buffer.from(b)),
      ...VALID.map(([, d]) => fc.tuple(d, fc.nat(), fc.integer({ min: 0, max: 255 })).map(([t, at, byte]) => {
        const b = Buffer.from(t, 'utf8');
        if (b.length > 0) b[at % b.length] = byte; // one byte changed: mostly invalid, sometimes not
        return b;
      })),
    );
    fc.assert(
      fc.property(fc.constantFrom(...CONTENT_KINDS), body, fc.array(fc.nat(), { maxLength: 8 }), (kind, bytes, points) => {
        expect(verdict(kind, cut(bytes, points))).toBe(verdict(kind, [bytes]));
      }),
      { numRuns: 800 },
    );
  });

  it('never accept an RPM header, on any kind, whatever follows it', () => {
    fc.assert(
      fc.property(fc.constantFrom(...ARTIFACT_KINDS), fc.uint8Array({ maxLength: 300 }), (kind, rest) => {
        expect(verdict(kind, [Buffer.concat([RPM_HEADER, rest])])).toBe('CONTENT_INVALID');
      }),
      { numRuns: 200 },
    );
  });

  it('accept a git object as kind git only', () => {
    fc.assert(
      fc.property(fc.oneof(commit, tag), fc.constantFrom(...CONTENT_KINDS), (text, kind) => {
        expect(verdict(kind, [Buffer.from(text)])).toBe(kind === 'git' ? 'ok' : 'CONTENT_INVALID');
      }),
      { numRuns: 200 },
    );
  });

  it('take detached and pacman bodies by their start only', () => {
    expect(verdict('detached', [Buffer.alloc(1 << 20, 0x8e)])).toBe('ok');
    expect(verdict('pacman', [Buffer.from([0x1f, 0x8b]), Buffer.alloc(1 << 20)])).toBe('ok');
    const tar = Buffer.alloc(1024);
    tar.write('ustar\0', 257, 'latin1');
    expect(verdict('pacman', [tar])).toBe('ok');
    expect(verdict('pacman', [Buffer.from('a plain text file\n')])).toBe('CONTENT_INVALID');
    expect(verdict('detached', [Buffer.from(`object ${'1'.repeat(64)}\ntype commit\n`)])).toBe('CONTENT_INVALID');
    expect(verdict('detached', [Buffer.from('certificate version 0.1\npusher x\n')])).toBe('CONTENT_INVALID');
  });

  it('refuse malformed documents with CONTENT_INVALID', () => {
    const bad: Array<[ArtifactKind, string]> = [
      ['sums', ''],
      ['sums', 'abc  x\n'],
      ['sums', `${'a'.repeat(64)} x\n`],
      ['sums', `${'a'.repeat(64)}  \n`],
      ['sums', `${'a'.repeat(64)}  x\n\n`],
      ['apt', 'SHA256:\n'],
      ['apt', `Date: x\nSHA256:\n ${'a'.repeat(63)} 1 f\n`],
      ['apt', `Date: x\nSHA256: inline\n`],
      ['apt', ` Date: x\n`],
      ['apt', `#Date: x\nSHA256:\n`],
      ['git', `tree ${'a'.repeat(39)}\n\n`],
      ['git', `object ${'a'.repeat(40)}\ntag v1\n\n`],
      ['git', `tree ${'a'.repeat(40)}\nAuthor x\n\n`],
      ['yum', '<!DOCTYPE repomd><repomd></repomd>'],
      ['yum', '<repomdx></repomdx>'],
      ['yum', `<!-- ${'x'.repeat(5000)} --><repomd></repomd>`],
      ['yum', '<repomd>\u0001</repomd>'],
      ['clearsign', `tree ${'a'.repeat(40)}\n`],
    ];
    for (const [kind, text] of bad) expect(verdict(kind, [Buffer.from(text)]), `${kind}: ${JSON.stringify(text.slice(0, 60))}`).toBe('CONTENT_INVALID');
    // Pulp's signing-service probe (docs/pulp.md) is an apt body; nothing else that short is.
    expect(verdict('apt', [Buffer.from('arbitrary data')])).toBe('ok');
    expect(verdict('apt', [Buffer.from('arbitrary'), Buffer.from(' data')])).toBe('ok');
    expect(verdict('apt', [Buffer.from('arbitrary data!')])).toBe('CONTENT_INVALID');
    expect(verdict('apt', [Buffer.from('arbitrary')])).toBe('CONTENT_INVALID');
  });

  it('midstate: a file shorter than a block is checked whole; a sums tail must be text', () => {
    expect(() => checkMidstateTail('detached', RPM_HEADER, true)).toThrow(SignetError);
    expect(() => checkMidstateTail('detached', RPM_HEADER, false)).not.toThrow();
    expect(() => checkMidstateTail('sums', Buffer.from([0x41, 0x00]), false)).toThrow(SignetError);
    expect(() => checkMidstateTail('sums', Buffer.from('bb  file\n'), false)).not.toThrow();
  });

  it('run in linear time: a long line is refused at the line limit, long valid bodies stream', () => {
    // Bounds in CPU time of this process (test/helpers/cpu-time.ts): ~10 ns per byte expected,
    // 2 s allowed for 16 MiB; a quadratic scan of 16 MiB would take hours.
    const big = 16 * 1024 * 1024;
    for (const kind of ['apt', 'sums', 'git'] as const) {
      let outcome: string | undefined;
      expect(cpuMs(() => (outcome = verdict(kind, [Buffer.alloc(big, 0x61)]))), kind).toBeLessThan(2000);
      expect(outcome, kind).toBe('CONTENT_INVALID');
    }
    const line = `${'a'.repeat(64)}  file\n`;
    const manyLines = Buffer.from(line.repeat(Math.floor(big / line.length)));
    const chunks = cut(manyLines, Array.from({ length: 256 }, (_, i) => i * 65_536 + 7));
    let outcome: string | undefined;
    expect(cpuMs(() => (outcome = verdict('sums', chunks)))).toBeLessThan(4000);
    expect(outcome).toBe('ok');
    // Tiny chunks (one byte each) of a line just under the limit: still linear.
    const oneLine = Buffer.from(`${'a'.repeat(64)}  ${'f'.repeat(MAX_LINE_BYTES - 100)}\n`);
    const bytes = Array.from(oneLine, (b) => Buffer.from([b]));
    expect(cpuMs(() => (outcome = verdict('sums', bytes)))).toBeLessThan(4000);
    expect(outcome).toBe('ok');
    expect(cpuMs(() => (outcome = verdict('yum', [Buffer.from('<repomd>'), Buffer.alloc(big, 0x20), Buffer.from('</repomd>')])))).toBeLessThan(2000);
    expect(outcome).toBe('ok');
    expect(() => checkContent('yum', Buffer.from('<repomd></repomd>\n'))).not.toThrow();
  });
});
