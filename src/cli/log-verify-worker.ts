// Worker for offline `signet log verify`: reads entries [start, end) from the store on its own
// connection and writes their RFC 6962 leaf hashes into the shared buffer (the main thread then
// streams the tree), so reading and leaf hashing use every core.
import { parentPort, workerData } from 'node:worker_threads';
import { SignetError } from '../errors.js';
import { openStore } from '../store/index.js';
import { HASH_SIZE, hashLeaf } from '../tlog/rfc6962.js';

interface Job {
  readonly storeUrl: string;
  readonly dataDir: string;
  readonly start: number;
  readonly end: number;
  readonly shared: SharedArrayBuffer;
}

const job = workerData as Job;
const out = Buffer.from(job.shared);
const PAGE = 20_000;

try {
  const store = await openStore(job.storeUrl, { dataDir: job.dataDir });
  try {
    for (let start = job.start; start < job.end; start += PAGE) {
      const end = Math.min(job.end, start + PAGE);
      const entries = await store.log.readEntries(BigInt(start), BigInt(end));
      entries.forEach((entry, i) => hashLeaf(entry).copy(out, (start + i) * HASH_SIZE));
    }
  } finally {
    await store.close();
  }
  parentPort?.postMessage({ ok: true });
} catch (err) {
  parentPort?.postMessage({ ok: false, code: err instanceof SignetError ? err.code : 'INTERNAL', message: (err as Error).message });
}
