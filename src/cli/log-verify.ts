// `signet log verify`: recompute the whole tree from the entries (RFC 9162 §2.1.2) and compare it
// with the signed checkpoint, and with a checkpoint saved earlier (consistency by recomputation,
// which is stronger than a proof: it covers every entry). The entries come either from the server
// (`/v1/log/entries`, stored leaf hashes from its level-0 tiles) or straight from the store
// (offline: an edited database row must be caught by recomputation, since the server's own
// answers could lie). On failure the first bad entry is named.
import { cpus } from 'node:os';
import { Worker } from 'node:worker_threads';
import { SignetError } from '../errors.js';
import type { Checkpoint } from '../tlog/checkpoint.js';
import { HASH_SIZE, hashLeaf } from '../tlog/rfc6962.js';
import { StreamingRoot } from '../tlog/stream-root.js';

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

/** Leaf hashes of entries [0, size) into one buffer of 32-byte hashes. */
async function leafHashes(source: EntrySource, size: bigint, workers: number): Promise<Buffer> {
  const total = Number(size);
  if (source.storeUrl !== undefined && workers > 1 && total >= 200_000 && import.meta.url.endsWith('.js')) {
    return leafHashesInWorkers(source, total, workers);
  }
  const hashes = Buffer.alloc(total * HASH_SIZE);
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
    for (const entry of entries) hashLeaf(entry).copy(hashes, HASH_SIZE * at++);
  }
  if (at !== total) failed(`log entry ${at} is missing`);
  return hashes;
}

async function leafHashesInWorkers(source: EntrySource, total: number, workers: number): Promise<Buffer> {
  const shared = new SharedArrayBuffer(total * HASH_SIZE);
  const per = Math.ceil(total / workers);
  await Promise.all(
    Array.from({ length: workers }, (_, w) => {
      const start = w * per;
      const end = Math.min(total, start + per);
      if (start >= end) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const worker = new Worker(new URL('./log-verify-worker.js', import.meta.url), {
          workerData: { storeUrl: source.storeUrl, dataDir: source.dataDir, start, end, shared },
        });
        worker.once('message', (m: { ok: true } | { ok: false; code: string; message: string }) => {
          if (m.ok) resolve();
          else reject(new SignetError(m.code === 'TLOG_VERIFY_FAILED' ? 'TLOG_VERIFY_FAILED' : 'STORE_UNAVAILABLE', m.message));
        });
        worker.once('error', reject);
      });
    }),
  );
  return Buffer.from(shared);
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
  const hashes = await leafHashes(source, size, options.workers ?? Math.min(2, cpus().length));
  const stream = new StreamingRoot();
  let savedRoot: Buffer | undefined = saved?.size === 0n ? stream.root() : undefined;
  const total = Number(size);
  for (let i = 0; i < total; i++) {
    stream.pushLeafHash(hashes.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE));
    if (saved !== undefined && i + 1 === Number(saved.size)) savedRoot = stream.root();
  }
  const root = stream.root();
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
