// C2SP tlog-checkpoint (c2sp.org/tlog-checkpoint): the note text
//   <origin>\n<tree size, decimal>\n<base64 root hash>\n[<extension line>\n…]
// signed as a C2SP signed-note by the log key, whose name SHOULD equal the origin.
import { SignetError } from '../errors.js';
import { decodeBase64, decodeUint64, hasControlCharacter, isUint64 } from './encoding.js';
import { isValidKeyName, openNote, signNote } from './note.js';
import type { NoteSignature, NoteSigner, NoteVerifier } from './note.js';
import { HASH_SIZE } from './rfc6962.js';
import { verifyConsistency } from './verify.js';

export interface Checkpoint {
  /** Log identity, e.g. `signet.example.org/log`. */
  readonly origin: string;
  readonly size: bigint;
  /** RFC 6962 Merkle tree hash of the first `size` entries. */
  readonly root: Buffer;
  /** Opaque extension lines; NOT RECOMMENDED by the spec and unused by signet. */
  readonly extensions?: readonly string[];
}

export interface OpenedCheckpoint {
  readonly checkpoint: Checkpoint;
  /** The exact signed text (what consistency with later checkpoints is checked against). */
  readonly text: string;
  /** Other signatures on the note (witness cosignatures), not verified here. */
  readonly unverified: readonly NoteSignature[];
}

function invalid(message: string): never {
  throw new SignetError('TLOG_CHECKPOINT_INVALID', message);
}

/**
 * Origins must be usable as note key names (the log key is named after the origin): non-empty,
 * no white space, no '+'. The spec only says SHOULD; signet writes and reads its own logs.
 */
function checkOrigin(origin: string): void {
  if (!isValidKeyName(origin)) invalid('invalid checkpoint origin');
}

export function formatCheckpoint(checkpoint: Checkpoint): string {
  checkOrigin(checkpoint.origin);
  if (!isUint64(checkpoint.size)) invalid('checkpoint size out of range');
  if (checkpoint.root.length !== HASH_SIZE) invalid('checkpoint root must be 32 bytes');
  const extensions = checkpoint.extensions ?? [];
  for (const line of extensions) {
    if (line.length === 0 || hasControlCharacter(line)) invalid('invalid checkpoint extension line');
  }
  return [checkpoint.origin, checkpoint.size.toString(), checkpoint.root.toString('base64'), ...extensions]
    .map((line) => `${line}\n`)
    .join('');
}

export function parseCheckpoint(text: string): Checkpoint {
  if (!text.endsWith('\n')) invalid('checkpoint must end with a newline');
  const lines = text.slice(0, -1).split('\n');
  const [origin, sizeLine, rootLine, ...extensions] = lines;
  if (origin === undefined || sizeLine === undefined || rootLine === undefined) invalid('checkpoint needs three lines');
  checkOrigin(origin);
  const size = decodeUint64(sizeLine);
  if (size === undefined) invalid('malformed checkpoint size');
  const root = decodeBase64(rootLine);
  if (root === undefined || root.length !== HASH_SIZE) invalid('malformed checkpoint root hash');
  if (extensions.some((line) => line.length === 0 || hasControlCharacter(line))) invalid('invalid checkpoint extension line');
  return extensions.length > 0 ? { origin, size, root, extensions } : { origin, size, root };
}

export function signCheckpoint(checkpoint: Checkpoint, signers: NoteSigner | readonly NoteSigner[]): string {
  return signNote(formatCheckpoint(checkpoint), Array.isArray(signers) ? signers : [signers as NoteSigner]);
}

/**
 * Verifies a checkpoint note with the log's key and checks its origin (default: the key's name,
 * which is how signet names its log key). Unknown signatures (witnesses) are returned, unchecked.
 */
export function openCheckpoint(
  note: string | Uint8Array,
  verifier: NoteVerifier,
  expectedOrigin: string = verifier.name,
): OpenedCheckpoint {
  const opened = openNote(note, [verifier]);
  const checkpoint = parseCheckpoint(opened.text);
  if (checkpoint.origin !== expectedOrigin) invalid('checkpoint is for another log');
  return { checkpoint, text: opened.text, unverified: opened.unverified };
}

/**
 * A newer checkpoint extends an older one of the same log (RFC 9162 §2.1.4.2). What a verifier
 * holding an earlier checkpoint runs before trusting a later one, and what the log itself must
 * check before signing (tlog-checkpoint: never sign an inconsistent checkpoint).
 */
export function verifyCheckpointConsistency(older: Checkpoint, newer: Checkpoint, proof: readonly Uint8Array[]): void {
  if (older.origin !== newer.origin) invalid('checkpoints are from different logs');
  verifyConsistency(older.size, newer.size, proof, older.root, newer.root);
}
