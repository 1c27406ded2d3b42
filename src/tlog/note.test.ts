import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { isSignetError } from '../errors.js';
import type { ErrorCode } from '../errors.js';
import { Secret } from '../secret.js';
import {
  MAX_NOTE_BYTES,
  generateSignerKey,
  isValidKeyName,
  noteKeyId,
  openNote,
  parseSignerKey,
  parseVerifierKey,
  signNote,
  splitNote,
} from './note.js';

interface NoteVector {
  signerKey?: string;
  verifierKey: string;
  text: string;
  note: string;
}
const golden = JSON.parse(readFileSync(new URL('../../test/fixtures/tlog/signed-notes.json', import.meta.url), 'utf8')) as {
  peterNeumann: Required<NoteVector>;
  exampleComFoo: NoteVector;
};
const peter = golden.peterNeumann;
const foo = golden.exampleComFoo;

function codeOf(f: () => unknown): ErrorCode | 'none' | 'other' {
  try {
    f();
  } catch (e) {
    return isSignetError(e) ? e.code : 'other';
  }
  return 'none';
}

describe('golden vectors', () => {
  it('reproduces the Go sumdb/note PeterNeumann note byte for byte', () => {
    const signer = parseSignerKey(new Secret(peter.signerKey));
    expect(signer.verifierKey).toBe(peter.verifierKey);
    expect(signer.keyId).toBe(0xc74f20a3);
    expect(signNote(peter.text, [signer])).toBe(peter.note);
  });

  it('opens the PeterNeumann and C2SP example.com/foo notes', () => {
    const opened = openNote(peter.note, [parseVerifierKey(peter.verifierKey)]);
    expect(opened.text).toBe(peter.text);
    expect(opened.verified.map((s) => [s.name, s.keyId])).toEqual([['PeterNeumann', 0xc74f20a3]]);
    expect(opened.unverified).toEqual([]);
    const fooVerifier = parseVerifierKey(foo.verifierKey);
    expect(fooVerifier.keyId).toBe(0x530d903a);
    expect(openNote(Buffer.from(foo.note, 'utf8'), [fooVerifier]).text).toBe(foo.text);
  });

  it('computes key IDs as SHA-256(name || 0x0A || 0x01 || pub)[:4]', () => {
    const pub = Buffer.from(peter.verifierKey.split('+')[2] as string, 'base64').subarray(1);
    expect(noteKeyId('PeterNeumann', 1, pub)).toBe(0xc74f20a3);
    expect(noteKeyId('PeterNeumann2', 1, pub)).not.toBe(0xc74f20a3);
  });
});

describe('opening untrusted notes', () => {
  const peterVerifier = parseVerifierKey(peter.verifierKey);
  const fooVerifier = parseVerifierKey(foo.verifierKey);
  const fooLine = foo.note.slice(foo.note.lastIndexOf('\n\n') + 2);

  it('rejects the note when any byte of the text or signature changes', () => {
    const bytes = Buffer.from(peter.note, 'utf8');
    const textBytes = Buffer.byteLength(peter.text, 'utf8');
    for (let i = 0; i < bytes.length - 1; i++) {
      const tampered = Buffer.from(bytes);
      tampered[i] = (tampered[i] as number) ^ (i < textBytes ? 0x01 : 0x02);
      if (tampered.equals(bytes)) continue;
      expect(codeOf(() => openNote(tampered, [peterVerifier])), `byte ${i}`).not.toBe('none');
    }
  });

  it('ignores unknown signatures but needs one known signature', () => {
    const twoSigned = peter.note + fooLine;
    const opened = openNote(twoSigned, [peterVerifier]);
    expect(opened.verified).toHaveLength(1);
    expect(opened.unverified.map((s) => s.name)).toEqual(['example.com/foo']);
    expect(codeOf(() => openNote(peter.note, [fooVerifier]))).toBe('TLOG_CHECKPOINT_INVALID');
    expect(codeOf(() => openNote(peter.note, []))).toBe('TLOG_CHECKPOINT_INVALID');
  });

  it('rejects the note if a known key signature fails, even next to a good one', () => {
    // example.com/foo's signature line, but over PeterNeumann's text: known key, bad signature.
    expect(codeOf(() => openNote(peter.note + fooLine, [peterVerifier, fooVerifier]))).toBe('TLOG_CHECKPOINT_INVALID');
  });

  it('treats a matching name with another key ID as unknown', () => {
    const other = generateSignerKey('PeterNeumann');
    const note = signNote(peter.text, [parseSignerKey(other.signerKey)]);
    expect(codeOf(() => openNote(note, [peterVerifier]))).toBe('TLOG_CHECKPOINT_INVALID');
    expect(openNote(note, [peterVerifier, parseVerifierKey(other.verifierKey)]).verified).toHaveLength(1);
  });

  it('splits at the last blank line, so the text may contain blank lines', () => {
    const key = generateSignerKey('example.org/log');
    const text = 'first\n\nthird\n';
    const note = signNote(text, [parseSignerKey(key.signerKey)]);
    expect(openNote(note, [parseVerifierKey(key.verifierKey)]).text).toBe(text);
  });

  it('caps signature lines at 100 and notes at 1 MiB', () => {
    const sigLine = peter.note.slice(peter.note.lastIndexOf('\n\n') + 2);
    const withUnknown = (n: number): string => peter.note + fooLine.repeat(n);
    expect(openNote(withUnknown(99), [peterVerifier]).unverified).toHaveLength(99);
    expect(codeOf(() => openNote(withUnknown(100), [peterVerifier]))).toBe('TLOG_CHECKPOINT_INVALID');
    const big = 'x'.repeat(MAX_NOTE_BYTES) + '\n\n' + sigLine;
    expect(codeOf(() => openNote(big, [peterVerifier]))).toBe('TLOG_CHECKPOINT_INVALID');
  });

  it.each([
    ['no blank line', peter.note.replace('\n\n', '\n')],
    ['no final newline', peter.note.slice(0, -1)],
    ['hyphen instead of em dash', peter.note.replace('\u2014', '-')],
    ['two spaces after the dash', peter.note.replace('\u2014 ', '\u2014  ')],
    ['unpadded base64', peter.note.replace('AM=\n', 'AM\n')],
    ['URL-safe base64', peter.note.replace('x08go/', 'x08go_')],
    ['trailing space', peter.note.replace('AM=\n', 'AM= \n')],
    ['control character in text', peter.note.replace('If you', 'If\tyou')],
    ['CR LF line ends', peter.note.replaceAll('\n', '\r\n')],
    ['empty signature block', peter.text + '\n'],
    ['signature too short', peter.text + '\n\u2014 PeterNeumann x08go/Y=\n'],
    ['"+" in the key name', peter.note.replace('PeterNeumann', 'Peter+Neumann')],
  ])('rejects a malformed note: %s', (_, note) => {
    expect(codeOf(() => openNote(note, [peterVerifier]))).toBe('TLOG_CHECKPOINT_INVALID');
  });

  it('rejects invalid UTF-8 and lone surrogates', () => {
    const bytes = Buffer.from(peter.note, 'utf8');
    expect(codeOf(() => openNote(Buffer.concat([Buffer.from([0xff]), bytes]), [peterVerifier]))).toBe('TLOG_CHECKPOINT_INVALID');
    expect(codeOf(() => openNote('\ud800' + peter.note, [peterVerifier]))).toBe('TLOG_CHECKPOINT_INVALID');
  });

  it('splitNote exposes signatures without verifying', () => {
    expect(splitNote(peter.note + fooLine).signatures.map((s) => s.keyId)).toEqual([0xc74f20a3, 0x530d903a]);
  });
});

describe('key strings', () => {
  it('round-trips generated keys, and the signer key never serialises', () => {
    const key = generateSignerKey('signet.example/log');
    expect(key.verifierKey).toMatch(/^signet\.example\/log\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}$/);
    expect(JSON.stringify(key)).not.toContain('PRIVATE');
    const signer = parseSignerKey(key.signerKey);
    expect(signer.verifierKey).toBe(key.verifierKey);
    const note = signNote('hello\n', [signer]);
    expect(openNote(note, [parseVerifierKey(key.verifierKey)]).text).toBe('hello\n');
  });

  it('accepts an upper-case key ID but checks it against the key', () => {
    expect(parseVerifierKey(foo.verifierKey.replace('530d903a', '530D903A')).keyId).toBe(0x530d903a);
    expect(codeOf(() => parseVerifierKey(foo.verifierKey.replace('530d903a', '530d903b')))).toBe('KEY_IMPORT_FAILED');
  });

  it.each([
    ['wrong algorithm byte', foo.verifierKey.replace('+Aeky', '+Aky')],
    ['missing field', 'example.com/foo+530d903a'],
    ['extra field', foo.verifierKey + '+x'],
    ['trailing garbage', foo.verifierKey + 'AAAA'],
    ['short key ID', foo.verifierKey.replace('530d903a', '530d903')],
    ['bad base64', foo.verifierKey.slice(0, -1)],
    ['empty name', foo.verifierKey.replace('example.com/foo', '')],
  ])('rejects a malformed verifier key: %s', (_, vkey) => {
    expect(codeOf(() => parseVerifierKey(vkey))).toBe('KEY_IMPORT_FAILED');
  });

  it('rejects malformed signer keys', () => {
    expect(codeOf(() => parseSignerKey(new Secret(peter.signerKey.replace('PRIVATE+KEY+', ''))))).toBe('KEY_IMPORT_FAILED');
    expect(codeOf(() => parseSignerKey(new Secret(peter.signerKey.replace('c74f20a3', 'c74f20a4'))))).toBe('KEY_IMPORT_FAILED');
  });

  it('applies the key name rules (no spaces incl. U+0085/U+00A0, no "+")', () => {
    for (const bad of ['', 'a b', 'a+b', 'a\u0085b', 'a\u00a0b', 'a\u3000b', 'a\nb', 'a\u2028b']) {
      expect(isValidKeyName(bad), JSON.stringify(bad)).toBe(false);
    }
    for (const good of ['PeterNeumann', 'example.com/foo', 'sigstore.dev/rekor-1', 'ünïcode/log']) {
      expect(isValidKeyName(good)).toBe(true);
    }
  });

  it('refuses to sign malformed text', () => {
    const signer = parseSignerKey(new Secret(peter.signerKey));
    expect(codeOf(() => signNote('no newline', [signer]))).toBe('TLOG_CHECKPOINT_INVALID');
    expect(codeOf(() => signNote('tab\there\n', [signer]))).toBe('TLOG_CHECKPOINT_INVALID');
    expect(codeOf(() => signNote('fine\n', []))).toBe('TLOG_CHECKPOINT_INVALID');
  });
});
