// `signet log verify`: recompute the whole tree from the entries (RFC 9162 §2.1.2) and compare it
// with the signed checkpoint, and with a checkpoint saved earlier (consistency by recomputation,
// which is stronger than a proof: it covers every entry). The entries come either from the server
// (its C2SP tlog-tiles entry bundles; stored leaf hashes from its level-0 tiles) or straight from the store
// (offline: an edited database row must be caught by recomputation, since the server's own
// answers could lie). On failure the first bad entry is named.
import { cpus } from 'node:os';
import { Worker } from 'node:worker_threads';
import { SignetError } from '../errors.js';
import type { Checkpoint } from '../tlog/checkpoint.js';
import { HASH_SIZE, emptyRoot, hashChildren, hashLeafInto, hashPairInto } from '../tlog/rfc6962.js';

/** Where the entries come from. */
export interface EntrySource {
  /** Entries [start, end); a missing one is TLOG_VERIFY_FAILED naming it. */
  readEntries(start: bigint, end: bigint): Promise<Buffer[]>;
  /** The log's own stored leaf hashes [start, end) (to name a tampered entry). */
  readLeafHashes(start: bigint, end: bigint): Promise<Buffer[]>;
  /** Entries per read. */
  readonly pageSize: number;
  /** Offline SQLite/PostgreSQL: workers may read the store themselves. */
  readonly storeUrl?: string;
  readonly dataDir?: string;
}

export interface VerifyResult {
  readonly size: bigint;
  readonly root: Buffer;
}

function failed(message: string): never {
  throw new SignetError('TLOG_VERIFY_FAILED', message);
}

/**
 * Entries are hashed in aligned chunks of 2^16: a full chunk is a perfect subtree, so its root can
 * be computed apart (in a worker) and the tree root is the RFC 9162 §2.1.2 stack over chunk roots
 * (level 16) followed by the leaves of the last, partial chunk (level 0).
 */
export const CHUNK_LEVEL = 16;
const CHUNK = 1 << CHUNK_LEVEL;

interface Hashed {
  /** Leaf hashes of entries [0, size), 32 bytes each. */
  readonly leaves: Buffer;
  /** Roots of the full chunks, 32 bytes each. */
  readonly chunkRoots: Buffer;
}

/** A stack of perfect subtree hashes; pushing merges equal levels (a binary counter). */
class SubtreeStack {
  readonly #stack: Array<{ level: number; hash: Buffer }> = [];

  push(level: number, hash: Buffer): void {
    for (let top = this.#stack.at(-1); top !== undefined && top.level === level; top = this.#stack.at(-1)) {
      this.#stack.pop();
      hash = hashChildren(top.hash, hash);
      level++;
    }
    this.#stack.push({ level, hash });
  }

  root(): Buffer {
    if (this.#stack.length === 0) return emptyRoot();
    let root = (this.#stack.at(-1) as { hash: Buffer }).hash;
    for (let i = this.#stack.length - 2; i >= 0; i--) root = hashChildren((this.#stack[i] as { hash: Buffer }).hash, root);
    return root;
  }
}

const hashAt = (buffer: Buffer, i: number): Buffer => buffer.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE);

/** MTH of the first `size` entries from chunk roots and leaf hashes. */
function prefixRoot(hashed: Hashed, size: number): Buffer {
  const stack = new SubtreeStack();
  const full = Math.floor(size / CHUNK);
  for (let c = 0; c < full; c++) stack.push(CHUNK_LEVEL, hashAt(hashed.chunkRoots, c));
  for (let i = full * CHUNK; i < size; i++) stack.push(0, hashAt(hashed.leaves, i));
  return stack.root();
}

/**
 * Root of each full chunk in [firstChunk, endChunk), from the leaf hashes: a perfect subtree, so
 * level by level in place on a copy (level l+1 node i = SHA-256(0x01 || node 2i || node 2i+1)),
 * the same RFC 9162 §2.1.1 MTH as the streaming stack without a Buffer per node.
 */
export function chunkRootsFrom(leaves: Buffer, chunkRoots: Buffer, firstChunk: number, endChunk: number): void {
  const level = Buffer.alloc(CHUNK * HASH_SIZE);
  for (let c = firstChunk; c < endChunk; c++) {
    leaves.copy(level, 0, c * CHUNK * HASH_SIZE, (c + 1) * CHUNK * HASH_SIZE);
    for (let width = CHUNK; width > 1; width /= 2) {
      for (let i = 0; i < width / 2; i++) hashPairInto(level, 2 * i * HASH_SIZE, level, i * HASH_SIZE);
    }
    level.copy(chunkRoots, c * HASH_SIZE, 0, HASH_SIZE);
  }
}

async function hashEntries(source: EntrySource, size: bigint, workers: number): Promise<Hashed> {
  const total = Number(size);
  if (source.storeUrl !== undefined && workers > 1 && total >= 4 * CHUNK && import.meta.url.endsWith('.js')) {
    return hashInWorkers(source, total, workers);
  }
  const leaves = Buffer.alloc(total * HASH_SIZE);
  const page = BigInt(source.pageSize);
  // Keep a few reads in flight so network or database latency overlaps hashing.
  const pending: Array<Promise<Buffer[]>> = [];
  let next = 0n;
  const issue = (): void => {
    if (next >= size) return;
    const end = next + page < size ? next + page : size;
    pending.push(source.readEntries(next, end));
    next = end;
  };
  for (let i = 0; i < 4; i++) issue();
  let at = 0;
  while (pending.length > 0) {
    const entries = await (pending.shift() as Promise<Buffer[]>);
    issue();
    for (const entry of entries) {
      if (at >= total) failed(`the log returned more than ${total} entries`);
      hashLeafInto(entry, leaves, HASH_SIZE * at++);
    }
  }
  if (at !== total) failed(`log entry ${at} is missing`);
  const chunkRoots = Buffer.alloc(Math.floor(total / CHUNK) * HASH_SIZE);
  chunkRootsFrom(leaves, chunkRoots, 0, Math.floor(total / CHUNK));
  return { leaves, chunkRoots };
}

async function hashInWorkers(source: EntrySource, total: number, workers: number): Promise<Hashed> {
  const leaves = new SharedArrayBuffer(total * HASH_SIZE);
  const chunkRoots = new SharedArrayBuffer(Math.max(1, Math.floor(total / CHUNK)) * HASH_SIZE);
  const chunks = Math.ceil(total / CHUNK);
  const per = Math.ceil(chunks / workers);
  await Promise.all(
    Array.from({ length: workers }, (_, w) => {
      const start = w * per * CHUNK;
      const end = Math.min(total, (w + 1) * per * CHUNK);
      if (start >= end) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const worker = new Worker(new URL('./log-verify-worker.js', import.meta.url), {
          workerData: { storeUrl: source.storeUrl, dataDir: source.dataDir, start, end, leaves, chunkRoots },
        });
        worker.once('message', (m: { ok: true } | { ok: false; code: string; message: string }) => {
          if (m.ok) resolve();
          else reject(new SignetError(m.code === 'TLOG_VERIFY_FAILED' ? 'TLOG_VERIFY_FAILED' : 'STORE_UNAVAILABLE', m.message));
        });
        worker.once('error', reject);
      });
    }),
  );
  return { leaves: Buffer.from(leaves), chunkRoots: Buffer.from(chunkRoots, 0, Math.floor(total / CHUNK) * HASH_SIZE) };
}

/**
 * Recomputes the root of the first `checkpoint.size` entries; checks it against the checkpoint and
 * (if given) a saved older checkpoint of the same log. Names the first bad entry on failure.
 */
export async function verifyEntries(
  source: EntrySource,
  checkpoint: Checkpoint,
  saved?: Checkpoint,
  options: { workers?: number } = {},
): Promise<VerifyResult> {
  const size = checkpoint.size;
  if (saved !== undefined && saved.size > size) {
    throw new SignetError('TLOG_INCONSISTENT', `the log has ${size} entries but the saved checkpoint has ${saved.size}: the log was truncated or forked`);
  }
  const hashed = await hashEntries(source, size, options.workers ?? Math.min(2, cpus().length));
  const hashes = hashed.leaves;
  const root = prefixRoot(hashed, Number(size));
  const savedRoot = saved === undefined ? undefined : prefixRoot(hashed, Number(saved.size));
  const rootOk = root.equals(checkpoint.root);
  const savedOk = saved === undefined || (savedRoot !== undefined && savedRoot.equals(saved.root));
  if (rootOk && savedOk) return { size, root };

  // Something differs: find the first entry whose hash is not the one the log stored for it.
  const page = 8192n;
  for (let start = 0n; start < size; start += page) {
    const end = start + page < size ? start + page : size;
    const stored = await source.readLeafHashes(start, end);
    for (let i = 0; i < stored.length; i++) {
      const index = Number(start) + i;
      if (!hashes.subarray(index * HASH_SIZE, (index + 1) * HASH_SIZE).equals(stored[i] as Buffer)) {
        failed(`log verification failed at entry ${index}: it does not hash to the leaf the log recorded (edited, reordered or inserted)`);
      }
    }
  }
  if (!savedOk) {
    throw new SignetError('TLOG_INCONSISTENT', `the first ${saved?.size} entries do not produce the saved checkpoint's root: the log was rewritten or forked`);
  }
  return failed(`log verification failed: the ${size} entries do not produce the signed root, and the stored hashes were rewritten to match them`);
}
