// The transparency log's storage (src/tlog/README.md), built for several nodes on one database,
// after the design of Tessera's MySQL and AWS storage (github.com/transparency-dev/tessera):
// - sequencing: `append` durably stores a batch in ONE transaction and assigns it dense, unique,
//   ordered indices (SQLite: the single writer; PostgreSQL: a row lock on the `tlog_sequence`
//   coordinator row — not a SEQUENCE, which leaves gaps on rollback);
// - integration: `integrate` runs one step at a time across all nodes (PostgreSQL: a transaction-
//   scoped advisory lock; SQLite: BEGIN IMMEDIATE). The step itself is pure and synchronous
//   (hashing and signing, src/tlog/integrate.ts), so it fits inside either engine's transaction;
//   the new stored hashes, the tree state and its signed checkpoint commit together.
// Indices and sizes are bigint; hashes are 32-byte Buffers; times Unix ms.

import type { ExtendedTree } from '../tlog/integrate.js';

/** The integrated tree: what the latest signed checkpoint says. */
export interface LogTreeState {
  readonly size: bigint;
  readonly root: Buffer;
  /** The signed checkpoint note (C2SP tlog-checkpoint) for exactly this size and root. */
  readonly checkpoint: string;
}

/** What an integration step is given, read inside the integration transaction. */
export interface LogIntegrationInput {
  /** The current tree, or undefined before the first checkpoint. */
  readonly tree: LogTreeState | undefined;
  /** Stored hashes at `treeHashIndices(tree.size)` (the tree's right edge), in that order. */
  readonly edge: readonly Buffer[];
  /** Sequenced entries from index `tree.size` on (at most the step's limit), in index order. */
  readonly entries: readonly Buffer[];
  /**
   * The tree extended by those entries, when the store computed it off the event loop (SQLite
   * with its log threads: the hashing of hundreds of entries would otherwise stall requests).
   * Then `entries` is empty; the step still checks the extension against the signed tree.
   */
  readonly extended?: ExtendedTree;
}

/** What a step wants committed; `hashes` go at stored-hash positions storedHashCount(old size)…. */
export interface LogIntegrationOutput {
  readonly tree: LogTreeState;
  readonly hashes: readonly Buffer[];
}

export interface StoredCheckpoint {
  readonly size: bigint;
  readonly root: Buffer;
  readonly checkpoint: string;
  readonly createdAt: number;
}

export interface LogStore {
  /**
   * Durably append entries in one transaction; returns the index of the first (the rest follow
   * densely). Resolves only after the commit: the caller may then hand out what the entries record.
   */
  append(entries: readonly Buffer[], at: number): Promise<bigint>;
  /** Entries sequenced so far (integrated or not). */
  sequencedSize(): Promise<bigint>;
  /**
   * Entries [start, end) in index order. A missing row (a gap) is TLOG_VERIFY_FAILED naming the
   * first missing index: the store has been tampered with.
   */
  readEntries(start: bigint, end: bigint): Promise<Buffer[]>;
  /** Stored hashes at these positions, same order; a missing one is INTERNAL. */
  readHashes(indices: readonly bigint[]): Promise<Buffer[]>;
  treeState(): Promise<LogTreeState | undefined>;
  /**
   * One integration step under the cluster-wide integrator lock: reads the tree, its edge and up
   * to `maxEntries` pending entries, calls `step`, and commits its output atomically (unless it
   * returns undefined). Returns the tree after the step, or undefined when another node holds
   * the lock.
   */
  integrate(maxEntries: number, step: (input: LogIntegrationInput) => LogIntegrationOutput | undefined): Promise<LogTreeState | undefined>;
  /** Signed checkpoints with size in [fromSize, toSize], ascending (history kept for audits). */
  listCheckpoints(fromSize: bigint, toSize: bigint, limit: number): Promise<StoredCheckpoint[]>;
}
