import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { isSignetError } from '../errors.js';
import type { ErrorCode } from '../errors.js';
import { Secret } from '../secret.js';
import { formatCheckpoint, openCheckpoint, parseCheckpoint, signCheckpoint, verifyCheckpointConsistency } from './checkpoint.js';
import { generateSignerKey, parseSignerKey, parseVerifierKey } from './note.js';
import { emptyRoot } from './rfc6962.js';
import { MemoryTree } from './tree.js';

const fixture = (name: string): string => readFileSync(new URL(`../../test/fixtures/tlog/${name}`, import.meta.url), 'utf8');
const logKey = JSON.parse(fixture('golden-log-key.json')) as { signerKey: string; verifierKey: string };
const goldenNote = fixture('checkpoint-8.note');
const signer = parseSignerKey(new Secret(logKey.signerKey));
const verifier = parseVerifierKey(logKey.verifierKey);
const ORIGIN = 'signet.example/log';
const ROOT_8 = Buffer.from('5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328', 'hex');

function codeOf(f: () => unknown): ErrorCode | 'none' | 'other' {
  try {
    f();
  } catch (e) {
    return isSignetError(e) ? e.code : 'other';
  }
  return 'none';
}

describe('golden checkpoint (made independently by test/fixtures/tlog/make-golden.py)', () => {
  it('signs byte for byte what Python cryptography signed', () => {
    expect(signer.verifierKey).toBe(logKey.verifierKey);
    expect(signCheckpoint({ origin: ORIGIN, size: 8n, root: ROOT_8 }, signer)).toBe(goldenNote);
  });

  it('opens it', () => {
    const { checkpoint, text } = openCheckpoint(goldenNote, verifier);
    expect(checkpoint).toEqual({ origin: ORIGIN, size: 8n, root: ROOT_8 });
    expect(text).toBe(formatCheckpoint(checkpoint));
  });
});

describe('tampering: an edited checkpoint never verifies', () => {
  it.each([
    ['size', (n: string) => n.replace('\n8\n', '\n9\n')],
    ['size with a leading zero', (n: string) => n.replace('\n8\n', '\n08\n')],
    ['root', (n: string) => n.replace('XcnaeacG', 'XcnaeacH')],
    ['origin', (n: string) => n.replace(`${ORIGIN}\n8`, 'signet.example/other\n8')],
    ['added extension line', (n: string) => n.replace('=\n\n', '=\nextra\n\n')],
    ['signature', (n: string) => n.replace('eIamcwDQ', 'eIamcwDR')],
  ])('rejects a changed %s', (_, tamper) => {
    const tampered = tamper(goldenNote);
    expect(tampered).not.toBe(goldenNote);
    expect(codeOf(() => openCheckpoint(tampered, verifier))).toBe('TLOG_CHECKPOINT_INVALID');
  });

  it('rejects a checkpoint signed by another key, or for another origin', () => {
    const other = generateSignerKey(ORIGIN);
    const forged = signCheckpoint({ origin: ORIGIN, size: 8n, root: ROOT_8 }, parseSignerKey(other.signerKey));
    expect(codeOf(() => openCheckpoint(forged, verifier))).toBe('TLOG_CHECKPOINT_INVALID');
    expect(codeOf(() => openCheckpoint(goldenNote, verifier, 'signet.example/elsewhere'))).toBe('TLOG_CHECKPOINT_INVALID');
  });

  it('accepts extra witness cosignatures and reports them unverified', () => {
    const witness = parseSignerKey(generateSignerKey('witness.example/w1').signerKey);
    const cosigned = signCheckpoint({ origin: ORIGIN, size: 8n, root: ROOT_8 }, [signer, witness]);
    const opened = openCheckpoint(cosigned, verifier);
    expect(opened.checkpoint.size).toBe(8n);
    expect(opened.unverified.map((s) => s.name)).toEqual(['witness.example/w1']);
  });
});

describe('strict checkpoint text', () => {
  const root = ROOT_8.toString('base64');
  it('round-trips size 0, large sizes and extension lines', () => {
    for (const checkpoint of [
      { origin: ORIGIN, size: 0n, root: emptyRoot() },
      { origin: ORIGIN, size: (1n << 64n) - 1n, root: ROOT_8 },
      { origin: ORIGIN, size: 5n, root: ROOT_8, extensions: ['ext one', 'ext two'] },
    ]) {
      expect(parseCheckpoint(formatCheckpoint(checkpoint))).toEqual(checkpoint);
    }
  });

  it.each([
    ['leading zero', `${ORIGIN}\n08\n${root}\n`],
    ['plus sign', `${ORIGIN}\n+8\n${root}\n`],
    ['negative', `${ORIGIN}\n-8\n${root}\n`],
    ['spaces', `${ORIGIN}\n 8\n${root}\n`],
    ['2^64', `${ORIGIN}\n18446744073709551616\n${root}\n`],
    ['hex size', `${ORIGIN}\n0x8\n${root}\n`],
    ['31-byte root', `${ORIGIN}\n8\n${ROOT_8.subarray(1).toString('base64')}\n`],
    ['unpadded root', `${ORIGIN}\n8\n${root.replace('=', '')}\n`],
    ['non-canonical base64 root', `${ORIGIN}\n8\n${root.replace('Qyg=', 'Qyh=')}\n`],
    ['empty origin', `\n8\n${root}\n`],
    ['origin with a space', `signet example\n8\n${root}\n`],
    ['origin with +', `signet+example\n8\n${root}\n`],
    ['no final newline', `${ORIGIN}\n8\n${root}`],
    ['two lines', `${ORIGIN}\n8\n`],
    ['empty extension line', `${ORIGIN}\n8\n${root}\n\n`],
    ['control character in an extension', `${ORIGIN}\n8\n${root}\na\tb\n`],
  ])('rejects %s', (_, text) => {
    expect(codeOf(() => parseCheckpoint(text))).toBe('TLOG_CHECKPOINT_INVALID');
  });

  it('refuses to format what it would not parse', () => {
    expect(codeOf(() => formatCheckpoint({ origin: 'a b', size: 1n, root: ROOT_8 }))).toBe('TLOG_CHECKPOINT_INVALID');
    expect(codeOf(() => formatCheckpoint({ origin: ORIGIN, size: -1n, root: ROOT_8 }))).toBe('TLOG_CHECKPOINT_INVALID');
    expect(codeOf(() => formatCheckpoint({ origin: ORIGIN, size: 1n, root: Buffer.alloc(31) }))).toBe('TLOG_CHECKPOINT_INVALID');
    expect(codeOf(() => formatCheckpoint({ origin: ORIGIN, size: 1n, root: ROOT_8, extensions: [''] }))).toBe('TLOG_CHECKPOINT_INVALID');
  });
});

describe('consistency between checkpoints', () => {
  const tree = new MemoryTree();
  for (let i = 0; i < 40; i++) tree.append(Buffer.from(`e${i}`));
  const at = (size: bigint) => ({ origin: ORIGIN, size, root: tree.root(size) });

  it('accepts a genuine extension and equal checkpoints', () => {
    verifyCheckpointConsistency(at(13n), at(40n), tree.consistencyProof(13n, 40n));
    verifyCheckpointConsistency(at(40n), at(40n), []);
    verifyCheckpointConsistency(at(0n), at(40n), []);
  });

  it('rejects rollback, another origin, a forked root and a proof for other sizes', () => {
    const proof = tree.consistencyProof(13n, 40n);
    expect(codeOf(() => verifyCheckpointConsistency(at(40n), at(13n), proof))).toBe('TLOG_PROOF_INVALID');
    expect(codeOf(() => verifyCheckpointConsistency(at(13n), { ...at(40n), origin: 'other.example/log' }, proof))).toBe(
      'TLOG_CHECKPOINT_INVALID',
    );
    expect(codeOf(() => verifyCheckpointConsistency(at(13n), { ...at(40n), root: tree.root(39n) }, proof))).toBe('TLOG_PROOF_INVALID');
    expect(codeOf(() => verifyCheckpointConsistency(at(12n), at(40n), proof))).toBe('TLOG_PROOF_INVALID');
  });
});
