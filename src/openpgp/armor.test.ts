import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { expect, test } from 'vitest';
import { armor, crc24, dearmor } from './index.js';

const FIXTURES = new URL('../../test/fixtures/openpgp/', import.meta.url);

test('CRC-24 matches RFC 4880 §6.1 (init 0xB704CE, empty input)', () => {
  expect(crc24(Buffer.alloc(0))).toBe(0xb704ce);
  // gpg's own armor: its checksum line must equal ours for the decoded bytes.
  const text = readFileSync(new URL('rsa-plain.data.asc', FIXTURES), 'utf8');
  const line = text.split('\n').find((l) => /^=[A-Za-z0-9+/]{4}$/.test(l))!;
  const crc = Buffer.from(line.slice(1), 'base64');
  expect(crc24(dearmor(text).bytes)).toBe(crc.readUIntBE(0, 3));
});

test('armor writes 64-column lines, a CRC line and the kind on both ends', () => {
  const text = armor('PUBLIC KEY BLOCK', Buffer.alloc(200, 7), { Comment: 'test' });
  const lines = text.split('\n');
  expect(lines[0]).toBe('-----BEGIN PGP PUBLIC KEY BLOCK-----');
  expect(lines[1]).toBe('Comment: test');
  expect(lines[2]).toBe('');
  expect(lines[3]).toHaveLength(64);
  expect(lines.at(-3)).toMatch(/^=[A-Za-z0-9+/]{4}$/);
  expect(lines.at(-2)).toBe('-----END PGP PUBLIC KEY BLOCK-----');
  expect(() => armor('SIGNATURE', Buffer.alloc(1), { 'Bad Key': 'x' })).toThrow();
  expect(() => armor('SIGNATURE', Buffer.alloc(1), { Comment: 'a\nb' })).toThrow();
});

test('dearmor(armor(x)) === x for any bytes, kind and CRLF transport', () => {
  fc.assert(fc.property(fc.uint8Array({ minLength: 1, maxLength: 400 }), fc.constantFrom('SIGNATURE', 'MESSAGE', 'PUBLIC KEY BLOCK') ,
    (bytes, kind) => {
      const text = armor(kind, bytes);
      for (const variant of [text, text.replace(/\n/g, '\r\n'), `\n  ${text}\n\n`]) {
        const out = dearmor(variant);
        expect(out.kind).toBe(kind);
        expect(Buffer.compare(out.bytes, Buffer.from(bytes))).toBe(0);
      }
    }));
});

test('gpg armor without a CRC line is accepted (optional in RFC 9580); headers are returned', () => {
  const text = armor('SIGNATURE', Buffer.from('abc'), { Version: 'x', Comment: 'y' }).replace(/\n=.{4}\n/, '\n');
  expect(dearmor(text)).toMatchObject({ kind: 'SIGNATURE', headers: { Version: 'x', Comment: 'y' } });
});
