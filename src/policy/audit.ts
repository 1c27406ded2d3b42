// The audit stream of authorisation decisions: one JSON line per allow or deny, written to
// DATA/audit.log (0600) before the request goes on. Lines carry the token's accessor, role and
// policy names, the action, the source address, the rule that allowed it or the code that refused
// it: never a token, secret_id, passphrase or key material (the audit has no field that could hold
// one). Writes are synchronous (the allow decisions of one event-loop turn share one write, and
// their requests wait for it); if a line cannot be written the request fails with
// AUDIT_UNAVAILABLE (fail closed: nothing is allowed that is not on record).
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, fsyncSync, openSync, readSync, writeSync } from 'node:fs';
import type { Logger } from 'pino';
import { SignetError } from '../errors.js';
import { EMPTY_GENESIS, EMPTY_HEAD, chainLine, headOf, type AuditChainKey, type ChainHead, type Genesis } from './audit-chain.js';

export interface AuditEvent {
  readonly type: 'authz';
  readonly decision: 'allow' | 'deny';
  /** What was asked: op, key, kind, name, mode. */
  readonly action: Readonly<Record<string, string>>;
  readonly source: string;
  readonly request_id?: string;
  readonly route?: string;
  readonly token?: string;
  readonly role?: string;
  readonly policies?: readonly string[];
  /** allow: the rule (`policy#index` or `admin`). */
  readonly rule?: string;
  /** deny: the stable error code (POLICY_DENIED, RATE_LIMITED, TOKEN_INVALID, …) and message. */
  readonly code?: string;
  readonly reason?: string;
}

export interface AuditSink {
  record(event: AuditEvent): void;
  /**
   * The same, written together with the other decisions of this event-loop turn (one write for
   * all of them); resolves once the line is written, rejects with AUDIT_UNAVAILABLE like
   * record. The request waits for it, so nothing is allowed that is not on record.
   */
  recordBatched(event: AuditEvent): Promise<void>;
  /** True while the last write failed (until one succeeds again): /readyz answers 503. */
  readonly degraded?: boolean;
  close(): void;
}

/** Appends JSON lines to a file opened once (O_APPEND). With a chain key (the server always
 *  passes one), every line is chained to the one before by an HMAC (audit-chain.ts); the chain
 *  resumes from the file's last line when the file is (re)opened. */
export class FileAuditSink implements AuditSink {
  #fd: number | undefined;
  #degraded = false;
  readonly #path: string;
  readonly #chainKey: AuditChainKey | undefined;
  /** The last line written; advanced only once a write has succeeded. */
  #head: ChainHead = EMPTY_HEAD;
  /** The file ends in a torn line (a write cut short): the next write starts a new line. */
  #torn = false;
  /** For the first chained record: the unchained lines already in the file. */
  #genesis: Genesis = EMPTY_GENESIS;

  constructor(path: string, options: { chainKey?: AuditChainKey } = {}) {
    this.#path = path;
    this.#chainKey = options.chainKey;
    this.#open();
  }

  #batch: Array<{ record: Record<string, unknown>; resolve(): void; reject(err: unknown): void }> = [];

  record(event: AuditEvent): void {
    this.#writeRecords([{ time: new Date().toISOString(), ...event }]);
  }

  recordBatched(event: AuditEvent): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.#batch.length === 0) setImmediate(() => this.#flushBatch());
      this.#batch.push({ record: { time: new Date().toISOString(), ...event }, resolve, reject });
    });
  }

  #flushBatch(): void {
    const batch = this.#batch;
    this.#batch = [];
    try {
      this.#writeRecords(batch.map((b) => b.record));
    } catch (err) {
      for (const b of batch) b.reject(err);
      return;
    }
    for (const b of batch) b.resolve();
  }

  /**
   * Close and reopen the file (SIGHUP, after logrotate moved it away): later records go to a new
   * file at the same path. The chain goes on across files: an empty new file continues from
   * the head in memory, so the rotated files and the new one verify together in order
   * (`signet audit verify --file OLD --file NEW`).
   */
  reopen(): void {
    if (this.#batch.length > 0) this.#flushBatch();
    this.#closeFd();
    this.#open();
  }

  #open(): void {
    const fd = openSync(this.#path, 'a', 0o600);
    try {
      const tail = readTail(this.#path);
      this.#torn = tail.torn;
      // A file with records gives the head; an empty one (rotated away) keeps the current head.
      if (this.#chainKey !== undefined && (fstatSync(fd).size > 0 || this.#head.seq === 0)) {
        this.#head = tail.head;
        // A new chain counts and hashes whatever the file already holds (lines from before
        // chaining): they verify only as a whole, in front of the chain.
        if (tail.head.seq === 0) this.#genesis = unchainedPrefix(this.#path, tail.torn);
      }
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    this.#fd = fd;
  }

  /** One write for the records, chained after the current head; the head moves only if it succeeds. */
  #writeRecords(records: ReadonlyArray<Record<string, unknown>>): void {
    const key = this.#chainKey;
    if (key === undefined) {
      this.#write(() => (this.#torn ? '\n' : '') + records.map((r) => `${JSON.stringify(r)}\n`).join(''));
      return;
    }
    let head = this.#head;
    this.#write(() => {
      // Built after a reopen has resumed the chain from the file.
      head = this.#head;
      let text = this.#torn ? '\n' : '';
      for (const r of records) {
        const chained = chainLine(key, r, head, this.#genesis);
        text += `${chained.line}\n`;
        head = chained.head;
      }
      return text;
    });
    this.#head = head;
  }

  #write(text: () => string): void {
    try {
      if (this.#fd === undefined) this.#open();
      const bytes = Buffer.from(text(), 'utf8');
      // One O_APPEND write per batch; a short write (rare, on a full disk) is finished, or fails.
      for (let at = 0; at < bytes.length; ) at += writeSync(this.#fd as number, bytes, at);
      this.#degraded = false;
      this.#torn = false;
    } catch (cause) {
      this.#degraded = true;
      // Reopen next time: the sink may recover (disk freed, permissions fixed) without a restart.
      this.#closeFd();
      throw new SignetError('AUDIT_UNAVAILABLE', 'the audit log cannot be written; refusing the request', { cause });
    }
  }

  get degraded(): boolean {
    return this.#degraded;
  }

  close(): void {
    if (this.#batch.length > 0) this.#flushBatch();
    if (this.#fd !== undefined) {
      try {
        fsyncSync(this.#fd);
      } catch {
        // closing anyway
      }
    }
    this.#closeFd();
  }

  #closeFd(): void {
    if (this.#fd === undefined) return;
    try {
      closeSync(this.#fd);
    } catch {
      // already gone
    }
    this.#fd = undefined;
  }
}

/** For embedded uses (tests, tunnels) without a data dir: audit lines go to the logger. */
export class LoggerAuditSink implements AuditSink {
  readonly #logger: Logger;
  constructor(logger: Logger) {
    this.#logger = logger.child({ stream: 'audit' });
  }
  record(event: AuditEvent): void {
    this.#logger.info({ audit: event }, 'audit');
  }
  recordBatched(event: AuditEvent): Promise<void> {
    this.record(event);
    return Promise.resolve();
  }
  close(): void {}
}

/** The number and SHA-256 of the lines in the file (a torn last line completed by its newline). */
function unchainedPrefix(path: string, torn: boolean): Genesis {
  const fd = openSync(path, 'r');
  try {
    const stat = fstatSync(fd);
    // Not a regular file (a device, as in tests of a full disk): nothing in front of the chain.
    if (!stat.isFile()) return EMPTY_GENESIS;
    const hash = createHash('sha256');
    const buf = Buffer.alloc(1024 * 1024);
    let lines = 0;
    for (let at = 0; at < stat.size; ) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, stat.size - at), at);
      if (n === 0) break;
      const chunk = buf.subarray(0, n);
      hash.update(chunk);
      for (let i = chunk.indexOf(0x0a); i !== -1; i = chunk.indexOf(0x0a, i + 1)) lines++;
      at += n;
    }
    if (torn) {
      hash.update('\n');
      lines++;
    }
    return { unchained: lines, sha256: hash.digest('hex') };
  } finally {
    closeSync(fd);
  }
}

/** The chain head of the file's last complete line (EMPTY_HEAD for an empty or unchained file),
 *  and whether the file ends in a torn line (a crash or a full disk mid-write). The chain goes on
 *  from the last complete line; `signet audit verify` names the torn one. */
function readTail(path: string): { head: ChainHead; torn: boolean } {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    // Audit lines are short; the last 64 KiB hold the last complete lines.
    const length = Math.min(size, 64 * 1024);
    const buf = Buffer.alloc(length);
    let got = 0;
    while (got < length) {
      const n = readSync(fd, buf, got, length - got, size - length + got);
      if (n === 0) break;
      got += n;
    }
    const torn = got > 0 && buf[got - 1] !== 0x0a;
    const lines = buf.subarray(0, got).toString('utf8').split('\n');
    lines.pop(); // after the last newline: empty, or a torn line
    for (let i = lines.length - 1; i >= 0; i--) {
      const head = headOf(lines[i] as string);
      if (head !== undefined) return { head, torn };
    }
    return { head: EMPTY_HEAD, torn };
  } finally {
    closeSync(fd);
  }
}
