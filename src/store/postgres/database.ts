// The PostgreSQL connection layer shared by every PostgreSQL sub-store (base, log, auth): one
// pg.Pool, parameterised queries, transactions, advisory locks, and the error translation.
// Sub-stores take a PgDatabase in their constructor and never touch pg directly.
import pg from 'pg';
import { SignetError } from '../../errors.js';
import { isRetryable, translatePgError, type TranslateOptions } from './errors.js';

/** Something statements can run on: the pool, or a client inside a transaction. */
export interface PgQueryable {
  query<R extends object = Record<string, unknown>>(sql: string, params?: readonly unknown[], options?: TranslateOptions): Promise<R[]>;
}

export interface PgOptions {
  /** Connections per node (default 10). Several nodes share the server's max_connections. */
  readonly poolSize?: number;
  /** How long to wait for a connection before answering STORE_UNAVAILABLE (default 5 s). */
  readonly connectTimeoutMs?: number;
  /** Client-side bound on one statement, so a hung server cannot hang requests (default 30 s). */
  readonly queryTimeoutMs?: number;
  /** Called with errors of idle connections (the database restarted); default: ignored. */
  readonly onConnectionError?: (err: Error) => void;
}

// Application-wide advisory lock keys (pg_advisory_lock takes one bigint). The high bytes spell
// "SIGNET" so they do not collide with other applications on a shared database. Add yours here.
export const ADVISORY_LOCKS = {
  migrate: 0x5349_474e_4554_0001n,
  logIntegrator: 0x5349_474e_4554_0002n,
} as const;

export class PgDatabase implements PgQueryable {
  readonly #pool: pg.Pool;
  #closed = false;

  constructor(url: string, options: PgOptions = {}) {
    this.#pool = new pg.Pool({
      connectionString: url,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
      query_timeout: options.queryTimeoutMs ?? 30_000,
      idleTimeoutMillis: 30_000,
      keepAlive: true,
      application_name: 'signet',
    });
    // An idle connection dropped by the server (restart, admin shutdown, network) is reported
    // here; without a listener Node would crash the whole process on a database restart.
    const onError = options.onConnectionError ?? (() => undefined);
    this.#pool.on('error', (err) => onError(err));
  }

  async query<R extends object = Record<string, unknown>>(sql: string, params: readonly unknown[] = [], options: TranslateOptions = {}): Promise<R[]> {
    try {
      const result = await this.#pool.query<R>(sql, params as unknown[]);
      return result.rows;
    } catch (err) {
      throw translatePgError(err, 'the PostgreSQL store failed', options);
    }
  }

  /**
   * Run fn in one transaction on one connection: COMMIT when it resolves, ROLLBACK when it
   * throws. Serialization failures and deadlocks are retried (fn must be safe to re-run).
   */
  async transaction<T>(fn: (tx: PgQueryable) => Promise<T>, options: { isolation?: 'read committed' | 'repeatable read' | 'serializable'; retries?: number } = {}): Promise<T> {
    const retries = options.retries ?? 3;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.withClient(async (tx, raw) => {
          await raw.query(`BEGIN ISOLATION LEVEL ${(options.isolation ?? 'read committed').toUpperCase()}`);
          try {
            const value = await fn(tx);
            await raw.query('COMMIT');
            return value;
          } catch (err) {
            await raw.query('ROLLBACK').catch(() => undefined);
            throw err;
          }
        });
      } catch (err) {
        const cause = err instanceof SignetError ? err.cause : err;
        if (attempt < retries && isRetryable(cause)) continue;
        throw err instanceof SignetError ? err : translatePgError(err, 'the PostgreSQL store failed');
      }
    }
  }

  /**
   * Hold one pooled connection for fn (session state: advisory locks, LISTEN). The connection
   * is destroyed, not reused, when anything failed on it.
   */
  async withClient<T>(fn: (session: PgQueryable, raw: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (err) {
      throw translatePgError(err, 'cannot connect to the PostgreSQL store');
    }
    // A checked-out client that loses its connection emits 'error'; the statement in flight
    // rejects on its own, so this listener only keeps the process alive.
    let broken: unknown;
    const onError = (err: Error): void => {
      broken = err;
    };
    client.on('error', onError);
    const session: PgQueryable = {
      async query<R extends object>(sql: string, params: readonly unknown[] = [], options: TranslateOptions = {}): Promise<R[]> {
        try {
          return (await client.query<R>(sql, params as unknown[])).rows;
        } catch (err) {
          broken ??= isBrokenConnection(err) ? err : undefined;
          throw translatePgError(err, 'the PostgreSQL store failed', options);
        }
      },
    };
    try {
      return await fn(session, client);
    } catch (err) {
      // A domain error thrown by fn (no pg cause) says nothing about the connection.
      const cause = err instanceof SignetError ? err.cause : err;
      broken ??= cause !== undefined && isBrokenConnection(cause) ? err : undefined;
      throw err;
    } finally {
      client.off('error', onError);
      client.release(broken instanceof Error ? broken : broken === undefined ? undefined : true);
    }
  }

  /**
   * Run fn while holding the session-level advisory lock `key` on a dedicated connection
   * (blocks until it is free). Used by migrations so that nodes starting together migrate once.
   */
  async withAdvisoryLock<T>(key: bigint, fn: (session: PgQueryable) => Promise<T>): Promise<T> {
    return this.withClient(async (session) => {
      await session.query('SELECT pg_advisory_lock($1)', [key.toString()]);
      try {
        return await fn(session);
      } finally {
        await session.query('SELECT pg_advisory_unlock($1)', [key.toString()]).catch(() => undefined);
      }
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.end();
  }
}

// A statement error (syntax, constraint) leaves the connection usable; anything without a
// SQLSTATE, or a connection-class SQLSTATE, does not.
function isBrokenConnection(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || code === '') return true;
  return code.startsWith('08') || code.startsWith('57P') || code.startsWith('E');
}

/** BIGINT columns arrive as strings (pg keeps 64 bits exact); times (Unix ms or s) fit a number. */
export function toSafeNumber(value: string | number): number;
export function toSafeNumber(value: string | number | null): number | null;
export function toSafeNumber(value: string | number | null): number | null {
  if (value === null) return null;
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new SignetError('STORE_UNAVAILABLE', 'the PostgreSQL store returned a time out of range');
  return n;
}
