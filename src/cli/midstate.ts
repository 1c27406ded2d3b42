// `signet sign` in midstate mode (docs/midstate.md): the file is hashed here up to its
// last full block; only the hash state, the byte count and the tail (under 128 bytes) go to the
// server, which appends its own trailer and signs. A 1 GiB image costs a few hundred bytes on the
// wire. Reads are double-buffered: the next chunk is read on libuv's threadpool while this one
// is hashed.
import { open } from 'node:fs/promises';
import { SignetError } from '../errors.js';
import { ResumableSha2, type Midstate, type Sha2Algorithm } from '../sha2/resumable.js';
import type { SignResponse, SignetClient } from '../client/client.js';
import { wantProgress, withClient, type GlobalOptions } from './common.js';

export { DEFAULT_MIDSTATE_HASH, DEFAULT_MIDSTATE_THRESHOLD } from './midstate-options.js';

const READ_BYTES = 256 * 1024;

const SIZE_UNITS: Record<string, number> = { '': 1, k: 1024, kib: 1024, m: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gib: 1024 ** 3 };

/** "8M", "8MiB", "1048576", "512k" → bytes. */
export function parseSize(text: string): number {
  const m = /^(\d{1,15})\s*([a-z]*)$/i.exec(text.trim());
  const unit = m ? SIZE_UNITS[(m[2] ?? '').toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new SignetError('USAGE', `not a size: ${JSON.stringify(text)} (use e.g. 8M, 512k, 1G or bytes)`);
  const bytes = Number(m[1]) * unit;
  if (!Number.isSafeInteger(bytes)) throw new SignetError('USAGE', `size too large: ${text}`);
  return bytes;
}

export interface HashedFile {
  readonly midstate: Midstate;
  readonly tail: Buffer;
  /** With a salt (v6 keys): the hash of salt ‖ file, from the same read. */
  readonly salted?: { readonly midstate: Midstate; readonly tail: Buffer };
  /** The whole file's digest, to compare with what the server says it signed. */
  readonly digest: Buffer;
  readonly bytes: number;
}

function readError(path: string, err: unknown): SignetError {
  if (err instanceof SignetError) return err;
  return new SignetError('FILE_UNREADABLE', `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`, { cause: err });
}

export async function hashFile(path: string, algorithm: Sha2Algorithm, onProgress?: (bytes: number, total: number) => void, salt?: Buffer): Promise<HashedFile> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    throw readError(path, err);
  }
  try {
    const before = await fh.stat();
    if (!before.isFile()) throw new SignetError('FILE_UNREADABLE', `${path} is not a regular file`);
    const hasher = ResumableSha2.create(algorithm, { chunkBytes: READ_BYTES });
    // v6: the salt first, then the same bytes (RFC 9580 §5.2.4).
    const salted = salt ? ResumableSha2.create(algorithm, { chunkBytes: READ_BYTES }).update(salt) : undefined;
    const buffers = [Buffer.allocUnsafe(READ_BYTES), Buffer.allocUnsafe(READ_BYTES)];
    let position = 0;
    let turn = 0;
    let reading = fh.read(buffers[0] as Buffer, 0, READ_BYTES, 0);
    for (;;) {
      const { bytesRead, buffer } = await reading;
      if (bytesRead === 0) break;
      position += bytesRead;
      turn ^= 1;
      reading = fh.read(buffers[turn] as Buffer, 0, READ_BYTES, position);
      hasher.update(buffer.subarray(0, bytesRead));
      salted?.update(buffer.subarray(0, bytesRead));
      onProgress?.(position, before.size);
    }
    const after = await fh.stat();
    if (position !== before.size || after.size !== before.size || after.mtimeMs !== before.mtimeMs) {
      throw new SignetError('FILE_CHANGED', `${path} changed while it was being hashed`);
    }
    const { midstate, tail } = hasher.export();
    return { midstate, tail, digest: hasher.digest(), bytes: position, ...(salted ? { salted: salted.export() } : {}) };
  } catch (err) {
    throw readError(path, err);
  } finally {
    await fh.close();
  }
}

export interface MidstateSignResult {
  readonly response: SignResponse;
  /** Request body bytes sent (the JSON of hash, state, length and tail). */
  readonly bytesSent: number;
  readonly bytes: number;
}

export interface MidstateSignOptions {
  readonly hash: Sha2Algorithm;
  readonly armor: boolean;
  readonly name: string;
  readonly kind?: string;
  /** The key is v6: ask the server for a salt first (two round trips, docs/midstate.md). */
  readonly v6?: boolean;
  readonly onProgress?: (bytes: number, total: number) => void;
  /** An approved request's id (docs/approvals.md). */
  readonly approval?: string;
}

export async function signFileMidstate(client: SignetClient, key: string, path: string, options: MidstateSignOptions): Promise<MidstateSignResult> {
  const sentBefore = client.bytesSent;
  const query = { name: options.name, ...(options.kind ? { kind: options.kind } : {}) };
  const issued = options.v6 ? await client.midstateSalt(key, { ...query, hash: options.hash }) : undefined;
  const hashed = await hashFile(path, options.hash, options.onProgress, issued ? Buffer.from(issued.salt, 'base64') : undefined);
  let response: SignResponse;
  try {
    response = await client.signMidstate(
      key,
      {
        hash: options.hash, state: hashed.midstate.state.toString('base64'), length: hashed.midstate.length, tail: hashed.tail.toString('base64'),
        ...(issued && hashed.salted
          ? { salt_token: issued.token, salted_state: hashed.salted.midstate.state.toString('base64'), salted_length: hashed.salted.midstate.length, salted_tail: hashed.salted.tail.toString('base64') }
          : {}),
      },
      { armor: options.armor, ...query, ...(options.approval !== undefined ? { approval: options.approval } : {}) },
    );
  } catch (err) {
    // Policies grant midstate separately (docs/policy.md); say how to get on without it.
    if (err instanceof SignetError && err.code === 'POLICY_DENIED') {
      throw new SignetError('POLICY_DENIED', `${err.message} (midstate mode, used above --midstate-threshold; --no-midstate sends the whole file)`);
    }
    throw err;
  }
  // The server finished the same hash over the same bytes before appending its trailer: its
  // digest of the file must be ours, or it signed something else.
  if (response.hash_algorithm !== options.hash || response.artifact[options.hash] !== hashed.digest.toString('hex') || response.artifact.bytes !== hashed.bytes) {
    throw new SignetError('INTERNAL', 'the server signed a different file digest than the one computed here');
  }
  return { response, bytesSent: client.bytesSent - sentBefore, bytes: hashed.bytes };
}

/** signFileMidstate with a progress bar of the hashing on a terminal (MiB hashed of the file's). */
export async function signFileMidstateWithProgress(
  g: GlobalOptions,
  key: string,
  path: string,
  options: Omit<MidstateSignOptions, 'onProgress'>,
): Promise<MidstateSignResult> {
  // cli-progress is loaded only when a bar is drawn (stderr is a terminal).
  const cliProgress = wantProgress(g) ? (await import('cli-progress')).default : undefined;
  const bar = cliProgress
    ? new cliProgress.SingleBar({ format: 'hashing [{bar}] {percentage}% {value}/{total} MiB', hideCursor: true }, cliProgress.Presets.legacy)
    : undefined;
  const mib = (bytes: number) => Math.floor(bytes / (1024 * 1024));
  let started = false;
  try {
    return await withClient(g, (c) =>
      signFileMidstate(c, key, path, {
        ...options,
        onProgress: (bytes, total) => {
          if (!started) bar?.start(mib(total), 0);
          started = true;
          bar?.update(mib(bytes));
        },
      }),
    );
  } finally {
    bar?.stop();
  }
}
