// Worker for offline `signet log verify`: reads entries [start, end) from the store on its own
// connection and writes their RFC 6962 leaf hashes into the shared buffer (the main thread then
// streams the tree), so reading and leaf hashing use every core.
import { parentPort, workerData } from 'node:worker_threads';
import { SignetError } from '../errors.js';
import { openStore } from '../store/index.js';
import { HASH_SIZE, hashLeafInto } from '../tlog/rfc6962.js';
import { CHUNK_LEVEL, chunkRootsFrom } from './log-verify.js';

interface Job {
  readonly storeUrl: string;
  readonly dataDir: string;
  readonly start: number;
  readonly end: number;
  /** Leaf hashes of the whole log; this worker fills [start, end). */
  readonly leaves: SharedArrayBuffer;
  /** Roots of full 2^16-entry chunks; this worker fills the chunks inside [start, end). */
  readonly chunkRoots: SharedArrayBuffer;
}

const job = workerData as Job;
const out = Buffer.from(job.leaves);
const PAGE = 20_000;

try {
  const store = await openStore(job.storeUrl, { dataDir: job.dataDir });
  try {
    for (let start = job.start; start < job.end; start += PAGE) {
      const end = Math.min(job.end, start + PAGE);
      const entries = await store.log.readEntries(BigInt(start), BigInt(end));
      entries.forEach((entry, i) => hashLeafInto(entry, out, (start + i) * HASH_SIZE));
    }
    // start is chunk-aligned; only full chunks have a root of their own.
    const chunk = 1 << CHUNK_LEVEL;
    chunkRootsFrom(out, Buffer.from(job.chunkRoots), job.start / chunk, Math.floor(job.end / chunk));
  } finally {
    await store.close();
  }
  parentPort?.postMessage({ ok: true });
} catch (err) {
  parentPort?.postMessage({ ok: false, code: err instanceof SignetError ? err.code : 'INTERNAL', message: (err as Error).message });
}
