// The SQLite log's append thread. better-sqlite3 is synchronous, so a commit's fsync
// (synchronous=FULL) would stall the server's event loop — no request parsing, no signing — for
// the whole flush. Here the group-committed batch is written on a second connection in its own
// thread; the main thread waits for the reply without blocking. Same transaction as the
// in-thread path in log-store.ts (appendBatch). A second instance (role `checkpoint`)
// checkpoints the WAL and reads and hashes the integrator's next step (extend); the append
// thread commits the step (commitIntegration) once the main thread has checked and signed it,
// in the transaction of the next append batch when one follows within 2 ms.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { SignetError } from '../../errors.js';
import { appendBatch, commitIntegration, extendFromStore, type AppendThreadRequest, type IntegrationCommit, type WorkerReply } from './log-store.js';

const { path, role } = workerData as { path: string; role: 'append' | 'checkpoint' };
const db = new Database(path, { fileMustExist: true });
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL');
db.pragma('busy_timeout = 5000');
// Checkpoints (WAL pages copied back into the database, then an fsync) take tens of ms; run on
// a connection of their own, PASSIVE (never blocking writers), so no commit ever carries one.
db.pragma('wal_autocheckpoint = 0');
if (role === 'checkpoint') setInterval(() => db.pragma('wal_checkpoint(PASSIVE)'), 250);

/** An integration step waiting to share the next append's transaction (and its fsync). */
let waiting: { id: number; commit: IntegrationCommit; timer: NodeJS.Timeout } | undefined;
/** How long a step waits for an append to ride with before it commits alone. */
const INTEGRATION_WAIT_MS = 2;

function reply(message: WorkerReply, transfer: ArrayBuffer[] = []): void {
  parentPort?.postMessage(message, transfer);
}

function errorReply(id: number, err: unknown): WorkerReply {
  const e = err as { code?: string; message?: string };
  return { id, error: { code: e.code ?? '', message: e.message ?? String(err), signet: err instanceof SignetError } };
}

function commitWaitingAlone(): void {
  const step = waiting;
  waiting = undefined;
  if (step === undefined) return;
  try {
    commitIntegration(db, step.commit);
    reply({ id: step.id });
  } catch (err) {
    reply(errorReply(step.id, err));
  }
}

parentPort?.on('message', (request: AppendThreadRequest & { readonly id: number }) => {
  if (request.kind === 'extend') {
    // The checkpoint thread reads the next integration step and hashes it (log-store.ts).
    try {
      const extension = extendFromStore(db, request.maxEntries);
      reply({ id: request.id, extension }, extension.extended ? [extension.extended.hashes.buffer as ArrayBuffer] : []);
    } catch (err) {
      reply(errorReply(request.id, err));
    }
    return;
  }
  if (request.kind === 'integrate') {
    // An integration step's writes (checked and signed on the main thread). Its commit would
    // cost an fsync of its own that appends queue behind (a latency spike every integration):
    // it waits briefly for the next append batch and commits in the same transaction.
    commitWaitingAlone();
    waiting = { id: request.id, commit: request.commit, timer: setTimeout(commitWaitingAlone, INTEGRATION_WAIT_MS) };
    return;
  }
  const step = waiting;
  waiting = undefined;
  if (step !== undefined) clearTimeout(step.timer);
  let stepError: unknown;
  try {
    const packed = Buffer.from(request.packed.buffer, request.packed.byteOffset, request.packed.byteLength);
    const entries: Buffer[] = [];
    let offset = 0;
    for (const length of request.lengths) {
      entries.push(packed.subarray(offset, offset + length));
      offset += length;
    }
    if (offset !== packed.length) throw new Error('append batch lengths do not match its bytes');
    const first = db.transaction(() => {
      if (step !== undefined) {
        // A savepoint: a refused step (the tree moved) rolls back alone; the batch still commits.
        try {
          commitIntegration(db, step.commit);
        } catch (err) {
          stepError = err;
        }
      }
      return appendBatch(db, entries, request.at);
    }).immediate();
    reply({ id: request.id, first });
    if (step !== undefined) reply(stepError === undefined ? { id: step.id } : errorReply(step.id, stepError));
  } catch (err) {
    // Nothing committed: the batch and the step both fail (the integrator tries again).
    reply(errorReply(request.id, err));
    if (step !== undefined) reply(errorReply(step.id, stepError ?? err));
  }
});
