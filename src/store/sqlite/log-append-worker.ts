// The SQLite log's append thread. better-sqlite3 is synchronous, so a commit's fsync
// (synchronous=FULL) would stall the server's event loop — no request parsing, no signing — for
// the whole flush. Here the group-committed batch is written on a second connection in its own
// thread; the main thread waits for the reply without blocking. Same transaction as the
// in-thread path in log-store.ts (appendBatch). A second instance (role `checkpoint`)
// checkpoints the WAL and reads and hashes the integrator's next step (extend); the append
// thread commits the step (commitIntegration) once the main thread has checked and signed it.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { SignetError } from '../../errors.js';
import { appendBatch, commitIntegration, extendFromStore, type AppendThreadRequest, type WorkerReply } from './log-store.js';

const { path, role } = workerData as { path: string; role: 'append' | 'checkpoint' };
const db = new Database(path, { fileMustExist: true });
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL');
db.pragma('busy_timeout = 5000');
// Checkpoints (WAL pages copied back into the database, then an fsync) take tens of ms; run on
// a connection of their own, PASSIVE (never blocking writers), so no commit ever carries one.
db.pragma('wal_autocheckpoint = 0');
if (role === 'checkpoint') setInterval(() => db.pragma('wal_checkpoint(PASSIVE)'), 250);

parentPort?.on('message', (request: AppendThreadRequest & { readonly id: number }) => {
  try {
    if (request.kind === 'extend') {
      // The checkpoint thread reads the next integration step and hashes it (log-store.ts).
      const extension = extendFromStore(db, request.maxEntries);
      const transfer = extension.extended ? [extension.extended.hashes.buffer as ArrayBuffer] : [];
      parentPort?.postMessage({ id: request.id, extension } satisfies WorkerReply, transfer);
      return;
    }
    if (request.kind === 'integrate') {
      // An integration step's writes (computed and signed on the main thread): same transaction
      // as the in-thread path, so the fsync happens here too.
      commitIntegration(db, request.commit);
      parentPort?.postMessage({ id: request.id } satisfies WorkerReply);
      return;
    }
    const packed = Buffer.from(request.packed.buffer, request.packed.byteOffset, request.packed.byteLength);
    const entries: Buffer[] = [];
    let offset = 0;
    for (const length of request.lengths) {
      entries.push(packed.subarray(offset, offset + length));
      offset += length;
    }
    if (offset !== packed.length) throw new Error('append batch lengths do not match its bytes');
    const first = appendBatch(db, entries, request.at);
    parentPort?.postMessage({ id: request.id, first } satisfies WorkerReply);
  } catch (err) {
    const e = err as { code?: string; message?: string };
    parentPort?.postMessage({ id: request.id, error: { code: e.code ?? '', message: e.message ?? String(err), signet: err instanceof SignetError } } satisfies WorkerReply);
  }
});
