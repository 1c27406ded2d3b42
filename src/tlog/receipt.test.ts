import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { isSignetError } from '../errors.js';
import type { ErrorCode } from '../errors.js';
import { Secret } from '../secret.js';
import { signCheckpoint } from './checkpoint.js';
import { generateSignerKey, parseSignerKey, parseVerifierKey } from './note.js';
import { formatReceipt, parseReceipt, verifyReceipt } from './receipt.js';
import { hashLeaf } from './rfc6962.js';
import { MemoryTree } from './tree.js';

const fixture = (name: string): string => readFileSync(new URL(`../../test/fixtures/tlog/${name}`, import.meta.url), 'utf8');
const logKey = JSON.parse(fixture('golden-log-key.json')) as { signerKey: string; verifierKey: string };
const goldenReceipt = fixture('leaf-5-of-8.tlog-proof');
const goldenCheckpoint = fixture('checkpoint-8.note');
const signer = parseSignerKey(new Secret(logKey.signerKey));
const verifier = parseVerifierKey(logKey.verifierKey);
const ORIGIN = 'signet.example/log';
// RFC 6962 reference leaves (transparency-dev/merkle verify_test.go).
const leaves = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map((h) =>
  Buffer.from(h, 'hex'),
);
const leaf5 = hashLeaf(leaves[5] as Buffer);

function codeOf(f: () => unknown): ErrorCode | 'none' | 'other' {
  try {
    f();
  } catch (e) {
    return isSignetError(e) ? e.code : 'other';
  }
  return 'none';
}

describe('golden receipt (made independently by test/fixtures/tlog/make-golden.py)', () => {
  it('parses, re-formats byte for byte and verifies', () => {
    const receipt = parseReceipt(goldenReceipt);
    expect(receipt.index).toBe(5n);
    expect(receipt.proof).toHaveLength(3);
    expect(receipt.extra?.toString()).toBe('signet golden');
    expect(receipt.checkpoint).toBe(goldenCheckpoint);
    expect(formatReceipt(receipt)).toBe(goldenReceipt);
    const verified = verifyReceipt(goldenReceipt, leaf5, verifier);
    expect(verified.index).toBe(5n);
    expect(verified.checkpoint.size).toBe(8n);
  });

  it('reproduces it from a MemoryTree and our own checkpoint signature', () => {
    const tree = new MemoryTree();
    for (const leaf of leaves) tree.append(leaf);
    const checkpoint = signCheckpoint({ origin: ORIGIN, size: tree.size, root: tree.root() }, signer);
    const receipt = formatReceipt({ index: 5n, proof: tree.inclusionProof(5n), checkpoint, extra: Buffer.from('signet golden') });
    expect(receipt).toBe(goldenReceipt);
  });
});

describe('verification fails closed: a tampered receipt, entry or checkpoint never verifies', () => {
  const tree = new MemoryTree();
  for (let i = 0; i < 300; i++) tree.append(Buffer.from(`entry ${i}`));
  const checkpointAt = (size: bigint): string => signCheckpoint({ origin: ORIGIN, size, root: tree.root(size) }, signer);
  const checkpoint300 = checkpointAt(300n);
  const receiptFor = (index: bigint): string => formatReceipt({ index, proof: tree.inclusionProof(index), checkpoint: checkpoint300 });

  it('accepts genuine receipts at many indices', () => {
    for (let index = 0n; index < 300n; index += 7n) {
      expect(verifyReceipt(receiptFor(index), tree.leafHash(index), verifier).index).toBe(index);
    }
  });

  it('rejects a proof against a different root or tree size, even with a valid signature', () => {
    const receipt = parseReceipt(receiptFor(42n));
    const leaf = tree.leafHash(42n);
    for (const size of [299n, 256n, 43n]) {
      const other = { ...receipt, checkpoint: checkpointAt(size) };
      expect(codeOf(() => verifyReceipt(other, leaf, verifier)), `size ${size}`).toBe('TLOG_PROOF_INVALID');
    }
    const wrongRoot = signCheckpoint({ origin: ORIGIN, size: 300n, root: tree.root(299n) }, signer);
    expect(codeOf(() => verifyReceipt({ ...receipt, checkpoint: wrongRoot }, leaf, verifier))).toBe('TLOG_PROOF_INVALID');
  });

  it('rejects a wrong leaf, a wrong index and any changed proof hash', () => {
    const receipt = parseReceipt(receiptFor(42n));
    const leaf = tree.leafHash(42n);
    expect(codeOf(() => verifyReceipt(receipt, tree.leafHash(43n), verifier))).toBe('TLOG_PROOF_INVALID');
    expect(codeOf(() => verifyReceipt(receipt, hashLeaf(Buffer.from('entry 42 ')), verifier))).toBe('TLOG_PROOF_INVALID');
    for (const index of [41n, 43n, 300n]) {
      expect(codeOf(() => verifyReceipt({ ...receipt, index }, leaf, verifier))).toBe('TLOG_PROOF_INVALID');
    }
    receipt.proof.forEach((_, i) => {
      const proof = receipt.proof.map((h, j) => (j === i ? Buffer.from(h.map((b, k) => (k === 31 ? b ^ 1 : b))) : h));
      expect(codeOf(() => verifyReceipt({ ...receipt, proof }, leaf, verifier))).toBe('TLOG_PROOF_INVALID');
    });
  });

  it('treats a missing or empty proof and a missing checkpoint as failure', () => {
    const receipt = parseReceipt(receiptFor(42n));
    const leaf = tree.leafHash(42n);
    expect(codeOf(() => verifyReceipt({ ...receipt, proof: [] }, leaf, verifier))).toBe('TLOG_PROOF_INVALID');
    expect(codeOf(() => verifyReceipt({ ...receipt, checkpoint: '' }, leaf, verifier))).toBe('TLOG_CHECKPOINT_INVALID');
    const withoutProofLines = `c2sp.org/tlog-proof@v1\nindex 42\n\n${checkpoint300}`;
    expect(codeOf(() => verifyReceipt(withoutProofLines, leaf, verifier))).toBe('TLOG_PROOF_INVALID');
    expect(codeOf(() => verifyReceipt('c2sp.org/tlog-proof@v1\nindex 42\n', leaf, verifier))).toBe('TLOG_PROOF_INVALID');
  });

  it('rejects a checkpoint from another key or origin', () => {
    const other = parseSignerKey(generateSignerKey(ORIGIN).signerKey);
    const forged = signCheckpoint({ origin: ORIGIN, size: 300n, root: tree.root() }, other);
    const receipt = { ...parseReceipt(receiptFor(42n)), checkpoint: forged };
    expect(codeOf(() => verifyReceipt(receipt, tree.leafHash(42n), verifier))).toBe('TLOG_CHECKPOINT_INVALID');
    expect(codeOf(() => verifyReceipt(receiptFor(42n), tree.leafHash(42n), verifier, 'other.example/log'))).toBe(
      'TLOG_CHECKPOINT_INVALID',
    );
  });

  it('does not authenticate extra data (the spec says so), but parses it strictly', () => {
    const withExtra = formatReceipt({ ...parseReceipt(receiptFor(1n)), extra: Buffer.from('anything') });
    expect(verifyReceipt(withExtra, tree.leafHash(1n), verifier).index).toBe(1n);
  });
});

describe('strict receipt syntax', () => {
  const [header, ...rest] = goldenReceipt.split('\n');
  const body = rest.join('\n');
  it.each([
    ['another version', goldenReceipt.replace('tlog-proof@v1', 'tlog-proof@v2')],
    ['index with a leading zero', goldenReceipt.replace('index 5', 'index 05')],
    ['index without a space', goldenReceipt.replace('index 5', 'index5')],
    ['negative index', goldenReceipt.replace('index 5', 'index -5')],
    ['missing index', goldenReceipt.replace('index 5\n', '')],
    ['extra after index', goldenReceipt.replace('extra c2lnbmV0IGdvbGRlbg==\nindex 5', 'index 5\nextra c2lnbmV0IGdvbGRlbg==')],
    ['empty extra', goldenReceipt.replace('extra c2lnbmV0IGdvbGRlbg==', 'extra ')],
    ['unpadded proof hash', goldenReceipt.replace('Znms=\n', 'Znms\n')],
    ['short proof hash', goldenReceipt.replace('vBoGQ7EuTS18d5GPROD095qDi2z57FtcKD4fTYhZnms=', 'vBoGQ7EuTS18d5GPROD095qDi2z57FtcKD4fTYhZ')],
    ['no blank line', goldenReceipt.replace('FLc=\n\n', 'FLc=\n')],
    ['leading blank line', `\n${goldenReceipt}`],
    ['CR LF', `${header}\r\n${body}`],
    ['65 proof lines', goldenReceipt.replace('index 5\n', `index 5\n${'vBoGQ7EuTS18d5GPROD095qDi2z57FtcKD4fTYhZnms=\n'.repeat(65)}`)],
  ])('rejects %s', (_, text) => {
    expect(text).not.toBe(goldenReceipt);
    expect(codeOf(() => parseReceipt(text))).toBe('TLOG_PROOF_INVALID');
  });

  it('rejects invalid UTF-8', () => {
    expect(codeOf(() => parseReceipt(Buffer.concat([Buffer.from(goldenReceipt), Buffer.of(0xc3)])))).toBe('TLOG_PROOF_INVALID');
  });
});
