// DATA/published-checkpoint: the latest checkpoint this server signed or served, kept OUTSIDE the
// database. A backup restores the database; this file says how far the log had already been
// shown to the world, so `signet restore` can refuse a backup that would roll the log back (the
// next checkpoint would fork from what monitors and receipts hold; RFC 9162 §2.1.4).
//
// Written after the checkpoint is committed, asynchronously and coalesced (a burst of
// integrations writes the newest one once), atomically (temp file, fsync, rename). A crash can
// leave it one checkpoint behind, never ahead, and never torn.
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { syncDirectory } from '../fsutil.js';

export const PUBLISHED_CHECKPOINT_FILE = 'published-checkpoint';

export class PublishedCheckpointFile {
  readonly path: string;
  readonly #dir: string;
  readonly #onError: (err: unknown) => void;
  #pending: { size: bigint; note: string } | undefined;
  #written = -1n;
  #writing: Promise<void> | undefined;

  constructor(dataDir: string, onError: (err: unknown) => void) {
    this.#dir = dataDir;
    this.path = join(dataDir, PUBLISHED_CHECKPOINT_FILE);
    this.#onError = onError;
  }

  /** Records a checkpoint; older or equal sizes than the newest already recorded are ignored. */
  record(size: bigint, note: string): void {
    if (size <= this.#written || (this.#pending !== undefined && size <= this.#pending.size)) return;
    this.#pending = { size, note };
    this.#writing ??= this.#drain().finally(() => {
      this.#writing = undefined;
    });
  }

  /** Waits for the newest recorded checkpoint to be on disk (close, tests). */
  async flush(): Promise<void> {
    while (this.#writing) await this.#writing;
  }

  async #drain(): Promise<void> {
    // One write per event-loop turn at most: the fsyncs below are synchronous but small.
    await new Promise((resolve) => setImmediate(resolve));
    while (this.#pending !== undefined) {
      const { size, note } = this.#pending;
      this.#pending = undefined;
      try {
        this.#write(note);
        this.#written = size;
      } catch (err) {
        this.#onError(err);
      }
    }
  }

  #write(note: string): void {
    const tmp = `${this.path}.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, note);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    try {
      renameSync(tmp, this.path);
    } catch (err) {
      try {
        unlinkSync(tmp);
      } catch {
        // already gone
      }
      throw err;
    }
    syncDirectory(this.#dir);
  }
}
