// C2SP signed-note (c2sp.org/signed-note) with Ed25519 keys, and the key strings of Go's
// golang.org/x/mod/sumdb/note: verifier keys `name+hex8+base64(0x01 || pub)` (C2SP "vkeys") and
// signer keys `PRIVATE+KEY+name+hex8+base64(0x01 || seed)` (Go-only convention).
//
// A note is text ending in "\n", a blank line, then signature lines "— name base64(keyID || sig)".
// Opening follows note.go Open: split at the LAST blank line, ignore signatures from unknown keys
// (so witness cosignatures and rotated keys don't break verification), reject the note if a known
// key's signature fails, and reject it if no known key signed.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

import { SignetError } from '../errors.js';
import { Secret } from '../secret.js';
import { decodeBase64, decodeUtf8, hasControlCharacter } from './encoding.js';

export const SIGNATURE_TYPE_ED25519 = 0x01;
/** Caps on untrusted notes (C2SP: accept at least 16 signatures; cap count and size). */
export const MAX_NOTE_BYTES = 1 << 20;
export const MAX_NOTE_SIGNATURES = 100;

const SIGNER_KEY_PREFIX = 'PRIVATE+KEY+';
const SIGNATURE_LINE_PREFIX = '\u2014 '; // em dash, space
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export interface NoteSigner {
  readonly name: string;
  /** 32-bit key ID, SHA-256(name || "\n" || type || public key)[:4] big-endian. */
  readonly keyId: number;
  sign(message: Buffer): Buffer;
}

export interface NoteVerifier {
  readonly name: string;
  readonly keyId: number;
  verify(message: Buffer, signature: Buffer): boolean;
}

export interface NoteSignature {
  readonly name: string;
  readonly keyId: number;
  /** The signature proper, without its 4-byte key ID prefix. */
  readonly signature: Buffer;
}

export interface OpenedNote {
  /** The signed text, including its final "\n". */
  readonly text: string;
  /** Signatures by the given verifiers; all of them verified. Never empty. */
  readonly verified: readonly NoteSignature[];
  /** Signatures by keys we were not given (e.g. witness cosignatures); not checked. */
  readonly unverified: readonly NoteSignature[];
}

function malformed(message: string): never {
  throw new SignetError('TLOG_CHECKPOINT_INVALID', message);
}

function badKey(message: string): never {
  throw new SignetError('KEY_IMPORT_FAILED', message);
}

/**
 * Key names: non-empty, no Unicode white space, no '+' (it separates vkey fields), and for us
 * also no control characters. Go's unicode.IsSpace also counts U+0085, which JS \s does not.
 */
export function isValidKeyName(name: string): boolean {
  return name.length > 0 && !/[\s+\u0085]/u.test(name) && !hasControlCharacter(name) && isWellFormed(name);
}

// Lone surrogates cannot be encoded as UTF-8 (Buffer.from would silently write U+FFFD).
function isWellFormed(text: string): boolean {
  return decodeUtf8(Buffer.from(text, 'utf8')) === text;
}

export function noteKeyId(name: string, signatureType: number, publicKey: Uint8Array): number {
  return createHash('sha256')
    .update(name, 'utf8')
    .update(Buffer.of(0x0a, signatureType))
    .update(publicKey)
    .digest()
    .readUInt32BE(0);
}

const hex8 = (keyId: number): string => keyId.toString(16).padStart(8, '0');

function ed25519PublicKey(publicKey: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' });
}

function ed25519PrivateKey(seed: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

export function ed25519Verifier(name: string, publicKey: Uint8Array): NoteVerifier {
  if (!isValidKeyName(name)) badKey('invalid note key name');
  if (publicKey.length !== 32) badKey('Ed25519 public key must be 32 bytes');
  const key = ed25519PublicKey(publicKey);
  return {
    name,
    keyId: noteKeyId(name, SIGNATURE_TYPE_ED25519, publicKey),
    verify(message, signature) {
      if (signature.length !== 64) return false;
      return verify(null, message, key, signature);
    },
  };
}

/** A signer from a 32-byte Ed25519 seed (RFC 8032 private key). */
export function ed25519Signer(name: string, seed: Secret): NoteSigner & { readonly publicKey: Buffer } {
  if (!isValidKeyName(name)) badKey('invalid note key name');
  if (seed.length !== 32) badKey('Ed25519 seed must be 32 bytes');
  const key = ed25519PrivateKey(seed.reveal());
  const publicKey = createPublicKey(key).export({ format: 'der', type: 'spki' }).subarray(ED25519_SPKI_PREFIX.length);
  return {
    name,
    publicKey,
    keyId: noteKeyId(name, SIGNATURE_TYPE_ED25519, publicKey),
    sign: (message) => sign(null, message, key),
  };
}

/** A signer whose private key is held elsewhere (a PKCS#11 token): `sign` makes the Ed25519
 *  signature of the message (RFC 8032 PureEdDSA, as C2SP signed-note wants). */
export function externalEd25519Signer(name: string, publicKey: Buffer, sign: (message: Buffer) => Buffer): NoteSigner & { readonly publicKey: Buffer; readonly verifierKey: string } {
  if (!isValidKeyName(name)) badKey('invalid note key name');
  if (publicKey.length !== 32) badKey('Ed25519 public key must be 32 bytes');
  return { name, publicKey, keyId: noteKeyId(name, SIGNATURE_TYPE_ED25519, publicKey), sign, verifierKey: formatVerifierKey(name, publicKey) };
}

/** `name+hex8+base64(0x01 || pub)`. */
export function formatVerifierKey(name: string, publicKey: Uint8Array): string {
  const verifier = ed25519Verifier(name, publicKey);
  return `${name}+${hex8(verifier.keyId)}+${Buffer.concat([Buffer.of(SIGNATURE_TYPE_ED25519), publicKey]).toString('base64')}`;
}

/**
 * Splits `name+hex8+base64(type || key)` at the first two '+' (the base64 may itself contain
 * '+', as in note.go NewVerifier). Callers check the key ID against the public key.
 */
function splitKeyString(keyString: string): { name: string; keyId: number; keyMaterial: Buffer } {
  const first = keyString.indexOf('+');
  const second = keyString.indexOf('+', first + 1);
  if (first < 0 || second < 0) badKey('malformed note key');
  const name = keyString.slice(0, first);
  const id = keyString.slice(first + 1, second);
  if (!isValidKeyName(name)) badKey('invalid note key name');
  if (!/^[0-9a-fA-F]{8}$/.test(id)) badKey('malformed note key ID');
  const key = decodeBase64(keyString.slice(second + 1));
  if (key === undefined || key.length !== 33 || key[0] !== SIGNATURE_TYPE_ED25519) badKey('unsupported note key (Ed25519 only)');
  return { name, keyId: Number.parseInt(id, 16), keyMaterial: key.subarray(1) };
}

export function parseVerifierKey(vkey: string): NoteVerifier {
  const { name, keyId, keyMaterial } = splitKeyString(vkey);
  const verifier = ed25519Verifier(name, keyMaterial);
  if (verifier.keyId !== keyId) badKey('note key ID does not match the key');
  return verifier;
}

/** `PRIVATE+KEY+name+hex8+base64(0x01 || seed)`, as Go's note.GenerateKey writes it. */
export function parseSignerKey(skey: Secret): NoteSigner & { readonly verifierKey: string } {
  const text = skey.revealString();
  if (!text.startsWith(SIGNER_KEY_PREFIX)) badKey('malformed note signer key');
  const { name, keyId, keyMaterial } = splitKeyString(text.slice(SIGNER_KEY_PREFIX.length));
  const signer = ed25519Signer(name, new Secret(keyMaterial));
  keyMaterial.fill(0);
  if (signer.keyId !== keyId) badKey('note key ID does not match the key');
  return { ...signer, verifierKey: formatVerifierKey(name, signer.publicKey) };
}

export function generateSignerKey(name: string): { signerKey: Secret; verifierKey: string } {
  if (!isValidKeyName(name)) badKey('invalid note key name');
  const { privateKey } = generateKeyPairSync('ed25519');
  const seed = privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(ED25519_PKCS8_PREFIX.length);
  const signer = ed25519Signer(name, new Secret(seed));
  const encodedSeed = Buffer.concat([Buffer.of(SIGNATURE_TYPE_ED25519), seed]);
  const signerKey = new Secret(`${SIGNER_KEY_PREFIX}${name}+${hex8(signer.keyId)}+${encodedSeed.toString('base64')}`);
  seed.fill(0);
  encodedSeed.fill(0);
  return { signerKey, verifierKey: formatVerifierKey(name, signer.publicKey) };
}

/** Note text rules shared by signing and opening: UTF-8, no control characters but "\n". */
function checkText(text: string): void {
  if (text.length === 0 || !text.endsWith('\n')) malformed('note text must end with a newline');
  if (!isWellFormed(text)) malformed('note is not valid UTF-8');
  if (hasControlCharacter(text, true)) malformed('note contains control characters');
}

function signatureLine(name: string, keyId: number, signature: Buffer): string {
  const payload = Buffer.alloc(4 + signature.length);
  payload.writeUInt32BE(keyId, 0);
  signature.copy(payload, 4);
  return `${SIGNATURE_LINE_PREFIX}${name} ${payload.toString('base64')}\n`;
}

export function signNote(text: string, signers: readonly NoteSigner[]): string {
  checkText(text);
  if (signers.length === 0) malformed('a note needs at least one signer');
  if (Buffer.byteLength(text, 'utf8') > MAX_NOTE_BYTES) malformed('note is too large');
  const message = Buffer.from(text, 'utf8');
  const lines = signers.map((signer) => {
    if (!isValidKeyName(signer.name)) malformed('invalid note key name');
    return signatureLine(signer.name, signer.keyId, signer.sign(message));
  });
  return `${text}\n${lines.join('')}`;
}

function parseSignatureLine(line: string): NoteSignature {
  if (!line.startsWith(SIGNATURE_LINE_PREFIX)) malformed('malformed note signature line');
  const rest = line.slice(SIGNATURE_LINE_PREFIX.length);
  const space = rest.indexOf(' ');
  const name = rest.slice(0, space);
  if (space < 0 || !isValidKeyName(name)) malformed('malformed note signature name');
  const payload = decodeBase64(rest.slice(space + 1));
  if (payload === undefined || payload.length < 5) malformed('malformed note signature');
  return { name, keyId: payload.readUInt32BE(0), signature: payload.subarray(4) };
}

/** Splits a note into its text and signature lines without verifying anything. */
export function splitNote(note: string | Uint8Array): { text: string; signatures: NoteSignature[] } {
  const size = typeof note === 'string' ? Buffer.byteLength(note, 'utf8') : note.length;
  if (size > MAX_NOTE_BYTES) malformed('note is too large');
  const decoded = typeof note === 'string' ? note : decodeUtf8(note);
  if (decoded === undefined) malformed('note is not valid UTF-8');
  checkText(decoded);
  const split = decoded.lastIndexOf('\n\n');
  if (split < 0) malformed('note has no signatures');
  const text = decoded.slice(0, split + 1);
  const lines = decoded.slice(split + 2, -1).split('\n');
  if (lines.length > MAX_NOTE_SIGNATURES) malformed('note has too many signatures');
  return { text, signatures: lines.map(parseSignatureLine) };
}

export function openNote(note: string | Uint8Array, verifiers: readonly NoteVerifier[]): OpenedNote {
  const { text, signatures } = splitNote(note);
  const message = Buffer.from(text, 'utf8');
  const verified: NoteSignature[] = [];
  const unverified: NoteSignature[] = [];
  for (const signature of signatures) {
    const verifier = verifiers.find((v) => v.name === signature.name && v.keyId === signature.keyId);
    if (verifier === undefined) {
      unverified.push(signature);
      continue;
    }
    // A known key whose signature does not verify means tampering: reject the whole note
    // (note.go InvalidSignatureError), even if another known key did sign.
    if (!verifier.verify(message, signature.signature)) malformed('note signature verification failed');
    verified.push(signature);
  }
  if (verified.length === 0) malformed('note is not signed by a known key');
  return { text, verified, unverified };
}
