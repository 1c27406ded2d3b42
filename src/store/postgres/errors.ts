// PostgreSQL failures to SignetError codes, so nothing pg-specific leaks out of the store
// (src/store/types.ts). SQLSTATE classes: PostgreSQL docs, Appendix A "Error Codes".
import { SignetError, type ErrorCode } from '../../errors.js';

/** 23505 unique_violation: the caller names the domain code (KEY_EXISTS, …), as SQLite does. */
export const UNIQUE_VIOLATION = '23505';

// Errors that mean "the database is not there right now": retrying later may succeed, and the
// server must answer 503 STORE_UNAVAILABLE (docs/architecture.md, invariant 4: fail closed).
const UNAVAILABLE_SQLSTATES = new Set([
  '57P01', // admin_shutdown (pg_ctl stop -m fast, or pg_terminate_backend)
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, shutting down, in recovery)
  '53300', // too_many_connections
  '25006', // read_only_sql_transaction (a standby after fail-over)
]);
const UNAVAILABLE_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOENT']);
// pg and pg-pool raise plain Errors without a code for these.
const UNAVAILABLE_MESSAGES = [
  /^Connection terminated/,
  /timeout exceeded when trying to connect/,
  /^Query read timeout/,
  /not queryable/,
  /Cannot use a pool after calling end/,
  /Client was closed and is not queryable/,
];

function sqlState(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
}

/** True when the error says the database is unreachable (not that the statement was wrong). */
export function isConnectionFailure(err: unknown): boolean {
  const code = sqlState(err);
  if (code.startsWith('08')) return true; // class 08: connection exception
  if (UNAVAILABLE_SQLSTATES.has(code) || UNAVAILABLE_ERRNOS.has(code)) return true;
  const message = (err as Error | null)?.message ?? '';
  return code === '' && UNAVAILABLE_MESSAGES.some((re) => re.test(message));
}

/** 40001 serialization_failure, 40P01 deadlock_detected: the transaction may simply be retried. */
export function isRetryable(err: unknown): boolean {
  const code = sqlState(err);
  return code === '40001' || code === '40P01';
}

export interface TranslateOptions {
  /** Domain error for a unique violation, e.g. ['KEY_EXISTS', 'a key named x exists']. */
  readonly constraint?: readonly [ErrorCode, string];
}

export function translatePgError(err: unknown, message: string, options: TranslateOptions = {}): SignetError {
  if (err instanceof SignetError) return err;
  const code = sqlState(err);
  if (options.constraint && code === UNIQUE_VIOLATION) return new SignetError(options.constraint[0], options.constraint[1]);
  if (code === '53100') return new SignetError('DISK_FULL', 'the store has no space left', { cause: err });
  if (isConnectionFailure(err)) {
    return new SignetError('STORE_UNAVAILABLE', `the PostgreSQL store is unreachable (${code || 'connection lost'})`, { cause: err });
  }
  // Anything else is still a failed store operation; like SQLite, it fails closed with 503 and
  // names the SQLSTATE (never the statement or its parameters, which may hold token hashes).
  return new SignetError('STORE_UNAVAILABLE', `${message} (${code || 'error'})`, { cause: err });
}
