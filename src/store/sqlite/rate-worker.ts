// The SQLite rate-limit counter thread. A counter update is a write: it may wait for SQLite's
// write lock while the log's append thread commits (an fsync). better-sqlite3 waits
// synchronously, so on the main thread that wait would stall every request; here it stalls only
// this thread. Same statement as the in-thread path in policy-store.ts.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { CONSUME_RATE_SQL, openCounterConnection } from './policy-store.js';

interface RateRequest {
  readonly id: number;
  readonly bucket: string;
  readonly limit: number;
  readonly windowMs: number;
  readonly now: number;
}

const { path } = workerData as { path: string };
const db: Database.Database = openCounterConnection(path);
const consume = db.prepare(CONSUME_RATE_SQL);
const current = db.prepare('SELECT window_start, count FROM rate_limits WHERE bucket = ?');

parentPort?.on('message', (r: RateRequest) => {
  try {
    const row = consume.get({ bucket: r.bucket, now: r.now, window: r.windowMs, limit: r.limit }) as { window_start: number; count: number } | undefined;
    if (row) {
      parentPort?.postMessage({ id: r.id, allowed: true, count: Number(row.count), windowStart: Number(row.window_start) });
      return;
    }
    const c = current.get(r.bucket) as { window_start: number; count: number };
    parentPort?.postMessage({ id: r.id, allowed: false, count: Number(c.count), windowStart: Number(c.window_start) });
  } catch (err) {
    const e = err as { code?: string; message?: string };
    parentPort?.postMessage({ id: r.id, error: { code: e.code ?? '', message: e.message ?? String(err) } });
  }
});
