import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, test } from 'vitest';
import {
  armor,
  canonicalText,
  clearsignedMessage,
  dearmor,
  generateKey,
  parseClearsigned,
  parseTransferablePublicKey,
  signDetached,
  TextModeConverter,
  verifyClearsigned,
  type GeneratedKey,
} from './index.js';

const FIXTURES = new URL('../../test/fixtures/openpgp/', import.meta.url);
const fixture = (name: string): string => readFileSync(new URL(name, FIXTURES), 'utf8');

describe('canonicalText (cleartext framework, RFC 4880 §7.1)', () => {
  test('strips trailing spaces and tabs, writes CRLF, drops the final line ending', () => {
    expect(canonicalText('a  \nb\t\r\nc')).toEqual(Buffer.from('a\r\nb\r\nc'));
    expect(canonicalText('a\n')).toEqual(Buffer.from('a'));
    expect(canonicalText('a\n\n')).toEqual(Buffer.from('a\r\n'));
    expect(canonicalText(' lead\tmid x')).toEqual(Buffer.from(' lead\tmid x'));
    expect(canonicalText(Buffer.from('caf\xc3\xa9 \n', 'latin1'))).toEqual(Buffer.from('café'));
  });
});

describe('TextModeConverter (type 0x01, gpg text mode)', () => {
  const convert = (input: string): string => {
    const c = new TextModeConverter();
    return Buffer.concat([c.push(Buffer.from(input)), c.end()]).toString();
  };
  test('LF and CRLF become CRLF; trailing whitespace and the final line ending stay', () => {
    expect(convert('a \nb\r\nc\n')).toBe('a \r\nb\r\nc\r\n');
    expect(convert('x\r\r\ny\rz\r')).toBe('x\r\ny\rz');
  });
  test('the result does not depend on how the input is split into chunks', () => {
    fc.assert(fc.property(fc.string({ unit: fc.constantFrom('a', ' ', '\t', '\r', '\n', 'é') }), fc.array(fc.nat(), { maxLength: 6 }),
      (text, cuts) => {
        const bytes = Buffer.from(text);
        const c = new TextModeConverter();
        const points = [...new Set(cuts.map((n) => n % (bytes.length + 1)))].sort((x, y) => x - y);
        const parts: Buffer[] = [];
        let at = 0;
        for (const p of [...points, bytes.length]) {
          parts.push(c.push(bytes.subarray(at, p)));
          at = p;
        }
        parts.push(c.end());
        expect(Buffer.concat(parts).toString()).toBe(convert(text));
        // canonicalText output is a fixed point of the conversion.
        expect(convert(canonicalText(text).toString())).toBe(canonicalText(text).toString());
      }));
  });
});

describe('clearsigned messages', () => {
  let key: GeneratedKey;
  beforeAll(async () => {
    key = await generateKey({ algorithm: 'ed25519', userId: 'Clear <clear@test.invalid>' });
  });
  const sign = async (text: string): Promise<string> => {
    const signature = await signDetached(canonicalText(text), key.privateKey,
      { type: 0x01, hashAlgorithm: 'sha512', creationTime: key.info.creationTime, signer: key.info });
    return clearsignedMessage(text, armor('SIGNATURE', signature), 'sha512');
  };

  test('dash-escaping and round trip of awkward text', async () => {
    const text = '-----BEGIN PGP SIGNATURE-----\n- dash\nFrom me  \r\ntab\t\nUnicode ✓\nno final newline';
    const message = await sign(text);
    expect(message).toContain('\n- -----BEGIN PGP SIGNATURE-----\n- - dash\n');
    expect(message.startsWith('-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n')).toBe(true);
    const parsed = parseClearsigned(message);
    expect(parsed.hashHeader).toEqual(['SHA512']);
    expect(canonicalText(parsed.text)).toEqual(canonicalText(text));
    const verified = verifyClearsigned(message, [key.info]);
    expect(verified.result.ok).toBe(true);
    expect(verified.text).toBe(parsed.text);
  });

  test('edits inside the signed text, junk outside, and a second block are refused', async () => {
    const message = await sign('Origin: test\nSuite: stable\n');
    expect(verifyClearsigned(message.replace('stable', 'stablf'), [key.info]).result).toEqual({ ok: false, reason: 'BAD_SIGNATURE' });
    for (const bad of [
      `junk\n${message}`,
      `${message}junk\n`,
      `${message}${message}`,
      message.replace('Suite', '-Suite'), // unescaped dash line
      message.replace('Hash: SHA512', 'Hash: SHA512\nComment: x'),
      message.replace('Hash: SHA512\n', 'Hash: SHA512'),
    ]) {
      expect(() => parseClearsigned(bad)).toThrow(expect.objectContaining({ code: 'ARMOR_MALFORMED' }));
      const result = verifyClearsigned(bad, [key.info]);
      expect(result.result.ok).toBe(false);
      expect(result.text).toBe('');
    }
  });

  test('a Hash header that does not name the signature hash is refused', async () => {
    const message = await sign('x\n');
    expect(verifyClearsigned(message.replace('Hash: SHA512', 'Hash: SHA256'), [key.info]).result.ok).toBe(false);
    expect(verifyClearsigned(message.replace('Hash: SHA512', 'Hash: SHA256, SHA512'), [key.info]).result.ok).toBe(true);
  });

  test.each(['rsa-plain', 'ed25519-plain'])('gpg --clearsign output from %s verifies', (name) => {
    const { info } = parseTransferablePublicKey(dearmor(fixture(`${name}.public.asc`)).bytes);
    const verified = verifyClearsigned(fixture(`${name}.data.clearsigned`), [info]);
    expect(verified.result.ok).toBe(true);
    expect(canonicalText(verified.text)).toEqual(canonicalText(fixture('data.txt')));
  });
});
