// The audit stream of authorisation decisions: one JSON line per allow or deny, written to
// DATA/audit.log (0600) before the request goes on. Lines carry the token's accessor, role and
// policy names, the action, the source address, the rule that allowed it or the code that refused
// it: never a token, secret_id, passphrase or key material (the audit has no field that could hold
// one). Writes are synchronous (the allow decisions of one event-loop turn share one write, and
// their requests wait for it); if a line cannot be written the request fails with
// AUDIT_UNAVAILABLE (fail closed: nothing is allowed that is not on record).
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import type { Logger } from 'pino';
import { SignetError } from '../errors.js';

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

function line(event: AuditEvent): string {
  return `${JSON.stringify({ time: new Date().toISOString(), ...event })}\n`;
}

/** Appends JSON lines to a file opened once (O_APPEND). */
export class FileAuditSink implements AuditSink {
  #fd: number | undefined;
  #degraded = false;
  readonly #path: string;

  constructor(path: string) {
    this.#path = path;
    this.#fd = openSync(path, 'a', 0o600);
  }

  #batch: Array<{ line: string; resolve(): void; reject(err: unknown): void }> = [];

  record(event: AuditEvent): void {
    this.#write(line(event));
  }

  recordBatched(event: AuditEvent): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.#batch.length === 0) setImmediate(() => this.#flushBatch());
      this.#batch.push({ line: line(event), resolve, reject });
    });
  }

  #flushBatch(): void {
    const batch = this.#batch;
    this.#batch = [];
    try {
      this.#write(batch.map((b) => b.line).join(''));
    } catch (err) {
      for (const b of batch) b.reject(err);
      return;
    }
    for (const b of batch) b.resolve();
  }

  #write(text: string): void {
    try {
      if (this.#fd === undefined) this.#fd = openSync(this.#path, 'a', 0o600);
      const bytes = Buffer.from(text, 'utf8');
      // One O_APPEND write per batch; a short write (rare, on a full disk) is finished, or fails.
      for (let at = 0; at < bytes.length; ) at += writeSync(this.#fd, bytes, at);
      this.#degraded = false;
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
