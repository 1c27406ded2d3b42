// Answers kept by request id (X-Signet-Request-Id), so a client that retries after losing the
// connection (a relay restarted mid-request: docs/pull-mode.md) gets the first answer instead of
// a second signature. Rows hold only keyed hashes and ciphertext (src/server/request-ids.ts).

export type RequestClaim =
  /** No live row: this request is the first, and now holds the id. */
  | { readonly state: 'claimed' }
  /** Another request with this id is being answered. */
  | { readonly state: 'pending'; readonly fingerprint: Buffer }
  | { readonly state: 'done'; readonly fingerprint: Buffer; readonly status: number; readonly answer: Buffer };

export interface RequestStore {
  /** Take the id unless a live (not expired at `now`) row holds it; say what holds it. */
  claim(id: Buffer, fingerprint: Buffer, now: number, expiresAt: number): Promise<RequestClaim>;
  /** The answer of a claimed id, kept until `expiresAt`. */
  complete(id: Buffer, status: number, answer: Buffer, expiresAt: number): Promise<void>;
  /** Give a claimed id up (the request failed in a way a retry may repeat). */
  release(id: Buffer): Promise<void>;
  /** Delete rows expired at `now`; returns how many. */
  purge(now: number): Promise<number>;
}

export const REQUEST_ANSWER_MIGRATION = {
  version: 35,
  description: 'answers kept by request id (retries through a relay)',
  sqlite: `
    CREATE TABLE request_answers (
      id BLOB PRIMARY KEY,
      fingerprint BLOB NOT NULL,
      state TEXT NOT NULL,
      status INTEGER,
      answer BLOB,
      expires_at INTEGER NOT NULL
    );
    CREATE INDEX request_answers_expiry ON request_answers (expires_at);
  `,
  postgres: `
    CREATE TABLE request_answers (
      id BYTEA PRIMARY KEY,
      fingerprint BYTEA NOT NULL,
      state TEXT NOT NULL,
      status INTEGER,
      answer BYTEA,
      expires_at BIGINT NOT NULL
    );
    CREATE INDEX request_answers_expiry ON request_answers (expires_at);
  `,
} as const;
