// Policies and rate-limit counters (docs/policy.md, src/policy/). Both engines implement this with the
// same tables (migration 25), so `signet store migrate` copies them by name.

export interface PolicyRecord {
  readonly name: string;
  /** The YAML text exactly as written (validated before it was stored). */
  readonly text: string;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** The result of counting one use against a rate-limit bucket. */
export interface RateDecision {
  readonly allowed: boolean;
  /** Uses counted in the current window (including this one when allowed). */
  readonly count: number;
  /** Unix ms when the current window opened; it closes at windowStart + windowMs. */
  readonly windowStart: number;
}

export interface PolicyStore {
  /** Insert or replace a policy document (one statement: the old or the new text, never a mix). */
  put(name: string, text: string, at: number): Promise<void>;
  get(name: string): Promise<PolicyRecord | undefined>;
  /** All policies, by name (byte order). */
  list(): Promise<PolicyRecord[]>;
  /** Returns false when there was no such policy. */
  delete(name: string): Promise<boolean>;
  /**
   * Count one use in `bucket`, atomically across connections and nodes. Window semantics: a
   * window opens with the first use after the previous window closed and lasts `windowMs`; within
   * it at most `limit` uses are allowed. A refused use is not counted.
   */
  consumeRate(bucket: string, limit: number, windowMs: number, now: number): Promise<RateDecision>;
}
