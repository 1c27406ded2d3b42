// The audit stream of authorisation decisions: one JSON line per allow or deny, written to
// DATA/audit.log (0600) before the request goes on. Lines carry the token's accessor, role and
// policy names, the action, the source address, the rule that allowed it or the code that refused
// it: never a token, secret_id, passphrase or key material (the audit has no field that could hold
// one). Writes are synchronous; if a line cannot be written the request fails with
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
  /** True while the last write failed (until one succeeds again): /readyz answers 503. */
  readonly degraded?: boolean;
  close(): void;
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

  record(event: AuditEvent): void {
    const line = `${JSON.stringify({ time: new Date().toISOString(), ...event })}\n`;
    try {
      if (this.#fd === undefined) this.#fd = openSync(this.#path, 'a', 0o600);
      writeSync(this.#fd, line);
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
  close(): void {}
}
