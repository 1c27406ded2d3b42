// The signing engine: turns an artifact (streamed, never buffered whole in binary mode) into an
// OpenPGP signature whose hashed area the server built itself (docs/architecture.md, invariant 3).
// The private-key operation is the key handle's (src/keys/backend.ts), asynchronous and off the
// event loop whichever backend holds the key, so the event loop keeps serving HTTP while it signs.
import { createHash } from 'node:crypto';
import {
  armor,
  buildSignaturePacket,
  canonicalText,
  clearsignedMessage,
  createSignatureHash,
  defaultHash,
  type HashAlgorithm,

} from '../openpgp/index.js';
import { SignetError } from '../errors.js';
import type { KeyHandle } from '../keys/backend.js';

/** binary: detached type 0x00 over the bytes; clear: cleartext signature framework (type 0x01). */
export type SignatureMode = 'binary' | 'clear';

/** What signs: an opened key (its public part and its digest-signing operation), whichever
 *  backend holds it. */
export type Signer = KeyHandle;

export interface SignOptions {
  readonly mode: SignatureMode;
  readonly armor: boolean;
  readonly hashAlgorithm?: HashAlgorithm;
  /** Largest artifact accepted, in bytes (binary mode streams; clear mode buffers). */
  readonly maxBytes: number;
  /** Signature creation time, Unix seconds (defaults to now). */
  readonly creationTime?: number;
  /** The kind's content check (src/sign/content.ts): sees every chunk, and the end before the
   *  signature is made; its CONTENT_INVALID stops the request. */
  readonly check?: { update(chunk: Uint8Array): void; finish(): void };
}

export interface SignedArtifact {
  /** The binary signature packet. */
  readonly packet: Buffer;
  /** Armored signature (armor or clear mode). */
  readonly armored?: string;
  /** The full cleartext-signed document (clear mode). */
  readonly cleartext?: string;
  readonly hashAlgorithm: HashAlgorithm;
  readonly creationTime: number;
  /** SHA-256 of the artifact bytes as received: what the log records. */
  readonly artifactSha256: Buffer;
  readonly artifactBytes: number;
}

/** Clearsigned documents (Release files, .changes) are text and small; they are buffered. */
export const CLEARSIGN_MAX_BYTES = 64 * 1024 * 1024;

export async function signArtifact(
  signer: Signer,
  body: AsyncIterable<Uint8Array>,
  options: SignOptions,
): Promise<SignedArtifact> {
  const hashAlgorithm = options.hashAlgorithm ?? defaultHash(signer.info.algorithm, signer.info.version);
  const creationTime = options.creationTime ?? Math.floor(Date.now() / 1000);
  const artifactHash = createHash('sha256');
  let artifactBytes = 0;

  if (options.mode === 'clear') {
    const limit = Math.min(options.maxBytes, CLEARSIGN_MAX_BYTES);
    const chunks: Buffer[] = [];
    await eachChunk(body, (chunk) => {
      artifactBytes += chunk.length;
      if (artifactBytes > limit) throw tooLarge(limit);
      options.check?.update(chunk);
      artifactHash.update(chunk);
      chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
    });
    if (artifactBytes === 0) throw new SignetError('BODY_EMPTY', 'the artifact is empty');
    options.check?.finish();
    const raw = Buffer.concat(chunks, artifactBytes);
    const text = raw.toString('utf8');
    if (!Buffer.from(text, 'utf8').equals(raw)) {
      throw new SignetError('BODY_INVALID', 'a cleartext signature needs UTF-8 text');
    }
    const hasher = createSignatureHash({ type: 0x01, hashAlgorithm, creationTime, signer: signer.info });
    hasher.update(canonicalText(text));
    const packet = await signFinishedHash(signer, hasher.finish(), hashAlgorithm);
    const armored = armor('SIGNATURE', packet);
    return {
      packet,
      armored,
      cleartext: clearsignedMessage(text, armored, signer.info.version === 6 ? null : hashAlgorithm),
      hashAlgorithm,
      creationTime,
      artifactSha256: artifactHash.digest(),
      artifactBytes,
    };
  }

  const hasher = createSignatureHash({ type: 0x00, hashAlgorithm, creationTime, signer: signer.info });
  await eachChunk(body, (chunk) => {
    artifactBytes += chunk.length;
    if (artifactBytes > options.maxBytes) throw tooLarge(options.maxBytes);
    options.check?.update(chunk);
    hasher.update(chunk);
    artifactHash.update(chunk);
  });
  if (artifactBytes === 0) throw new SignetError('BODY_EMPTY', 'the artifact is empty');
  options.check?.finish();
  const packet = await signFinishedHash(signer, hasher.finish(), hashAlgorithm);
  return {
    packet,
    ...(options.armor ? { armored: armor('SIGNATURE', packet) } : {}),
    hashAlgorithm,
    creationTime,
    artifactSha256: artifactHash.digest(),
    artifactBytes,
  };
}

/** Sign a finished signature hash and build the packet (content and midstate modes). */
export async function signFinishedHash(
  signer: Signer,
  hashed: { hashedArea: Buffer; digest: Buffer; salt?: Buffer | null },
  hashAlgorithm: HashAlgorithm,
): Promise<Buffer> {
  let raw: Buffer;
  try {
    raw = await signer.signDigest(hashAlgorithm, hashed.digest);
  } catch (cause) {
    // The message names the component only: never key material.
    throw new SignetError('SIGNER_UNAVAILABLE', 'the signing operation failed', { cause });
  }
  return buildSignaturePacket(hashed.hashedArea, hashed.digest, raw, signer.info, hashed.salt ?? null);
}

/** A readable stream (the request body), read with events; anything else iterated. */
interface EventStream extends AsyncIterable<Uint8Array> {
  on(event: 'data', listener: (chunk: Uint8Array) => void): unknown;
  on(event: 'end' | 'close', listener: () => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  readonly readableEnded?: boolean;
}

function isEventStream(body: AsyncIterable<Uint8Array>): body is EventStream {
  const b = body as Partial<EventStream>;
  return typeof b.on === 'function' && 'readableEnded' in b;
}

/**
 * Feeds every chunk to `onChunk` (synchronous: hashing), resolving at the end of the body. A
 * request body is read with 'data' events rather than an async iterator (one promise per
 * chunk): most artifacts are a chunk or two. If `onChunk` throws (too large), that error is
 * the result; a body cut short rejects.
 */
function eachChunk(body: AsyncIterable<Uint8Array>, onChunk: (chunk: Uint8Array) => void): Promise<void> {
  if (!isEventStream(body)) {
    return (async () => {
      for await (const chunk of body) onChunk(chunk);
    })();
  }
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const settle = (err?: unknown): void => {
      if (settled) return;
      settled = true;
      if (err === undefined) resolve();
      else reject(err instanceof Error ? err : new Error(String(err)));
    };
    body.on('data', (chunk) => {
      if (settled) return;
      try {
        onChunk(chunk);
      } catch (err) {
        // The rest of the body still flows in and is dropped here, so the answer (413) reaches
        // the client and the connection stays usable, as Node does for a request left unread.
        settle(err);
      }
    });
    body.on('end', () => settle());
    // A client that goes away mid-upload: Node reports `aborted` (ECONNRESET) on the body.
    body.on('error', (err) => settle((err as NodeJS.ErrnoException).code === 'ECONNRESET' ? cutShort() : err));
    body.on('close', () => {
      if (!body.readableEnded) settle(cutShort());
    });
  });
}

function cutShort(): SignetError {
  return new SignetError('BODY_INVALID', 'the request body ended early');
}

function tooLarge(limit: number): SignetError {
  return new SignetError('BODY_TOO_LARGE', `the artifact exceeds the limit of ${limit} bytes`);
}
