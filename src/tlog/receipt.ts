// C2SP tlog-proof (c2sp.org/tlog-proof@v1), the offline receipt signet hands back with every
// signature: the entry's index, its inclusion proof and the signed checkpoint it leads to.
//
//   c2sp.org/tlog-proof@v1
//   extra <base64>          optional, NOT authenticated
//   index <decimal>
//   <base64 hash>…          leaf sibling first, root child last
//   <empty line>
//   <checkpoint note, verbatim with its signatures>
import { SignetError } from '../errors.js';
import { openCheckpoint } from './checkpoint.js';
import type { Checkpoint } from './checkpoint.js';
import { decodeBase64, decodeUint64, decodeUtf8, isUint64 } from './encoding.js';
import { MAX_NOTE_BYTES } from './note.js';
import type { NoteSignature, NoteVerifier } from './note.js';
import { HASH_SIZE } from './rfc6962.js';
import { verifyInclusion } from './verify.js';

export const RECEIPT_HEADER = 'c2sp.org/tlog-proof@v1';
/** An inclusion proof in a tree of < 2^64 leaves has at most 64 hashes. */
const MAX_PROOF_HASHES = 64;
const MAX_RECEIPT_BYTES = MAX_NOTE_BYTES + 16 * 1024;

export interface Receipt {
  readonly index: bigint;
  readonly proof: readonly Buffer[];
  /** The signed checkpoint note, verbatim. */
  readonly checkpoint: string;
  /** Opaque, unauthenticated application data. */
  readonly extra?: Buffer;
}

export interface VerifiedReceipt {
  readonly index: bigint;
  readonly checkpoint: Checkpoint;
  /** Witness cosignatures and other signatures not checked (no witness policy yet). */
  readonly unverified: readonly NoteSignature[];
}

function invalid(message: string): never {
  throw new SignetError('TLOG_PROOF_INVALID', message);
}

export function formatReceipt(receipt: Receipt): string {
  if (!isUint64(receipt.index)) invalid('receipt index out of range');
  if (receipt.proof.length > MAX_PROOF_HASHES) invalid('receipt proof is too long');
  if (receipt.proof.some((h) => h.length !== HASH_SIZE)) invalid('receipt proof hashes must be 32 bytes');
  if (receipt.extra !== undefined && receipt.extra.length === 0) invalid('receipt extra data must not be empty');
  const lines = [RECEIPT_HEADER];
  if (receipt.extra !== undefined) lines.push(`extra ${receipt.extra.toString('base64')}`);
  lines.push(`index ${receipt.index}`, ...receipt.proof.map((h) => h.toString('base64')));
  return `${lines.join('\n')}\n\n${receipt.checkpoint}`;
}

export function parseReceipt(input: string | Uint8Array): Receipt {
  const size = typeof input === 'string' ? Buffer.byteLength(input, 'utf8') : input.length;
  if (size > MAX_RECEIPT_BYTES) invalid('receipt is too large');
  const text = typeof input === 'string' ? input : decodeUtf8(input);
  if (text === undefined) invalid('receipt is not valid UTF-8');
  // Header lines are never empty, so the first blank line ends them; the checkpoint note that
  // follows has its own blank line before its signatures.
  const split = text.indexOf('\n\n');
  if (split < 0) invalid('receipt has no checkpoint');
  const lines = text.slice(0, split).split('\n');
  const checkpoint = text.slice(split + 2);
  if (lines.shift() !== RECEIPT_HEADER) invalid('not a c2sp.org/tlog-proof@v1 receipt');
  let extra: Buffer | undefined;
  if (lines[0]?.startsWith('extra ')) {
    extra = decodeBase64((lines.shift() as string).slice('extra '.length));
    if (extra === undefined || extra.length === 0) invalid('malformed receipt extra data');
  }
  const indexLine = lines.shift();
  const index = indexLine?.startsWith('index ') ? decodeUint64(indexLine.slice('index '.length)) : undefined;
  if (index === undefined) invalid('malformed receipt index');
  if (lines.length > MAX_PROOF_HASHES) invalid('receipt proof is too long');
  const proof = lines.map((line) => {
    const hash = decodeBase64(line);
    if (hash === undefined || hash.length !== HASH_SIZE) invalid('malformed receipt proof hash');
    return hash;
  });
  return extra === undefined ? { index, proof, checkpoint } : { index, proof, checkpoint, extra };
}

/**
 * tlog-proof verification steps 2 and 4: the checkpoint is signed by the log key for the expected
 * origin, then the proof binds `leafHash` (RFC 6962 leaf hash of the exact logged entry, e.g.
 * `entryLeafHash(entry)`) at `index` to that checkpoint's root. Throws on any failure.
 */
export function verifyReceipt(
  receipt: Receipt | string | Uint8Array,
  leafHash: Uint8Array,
  verifier: NoteVerifier,
  expectedOrigin: string = verifier.name,
): VerifiedReceipt {
  const parsed = typeof receipt === 'string' || receipt instanceof Uint8Array ? parseReceipt(receipt) : receipt;
  const { checkpoint, unverified } = openCheckpoint(parsed.checkpoint, verifier, expectedOrigin);
  verifyInclusion(leafHash, parsed.index, checkpoint.size, parsed.proof, checkpoint.root);
  return { index: parsed.index, checkpoint, unverified };
}
