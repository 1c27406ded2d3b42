// The transparency log on PostgreSQL, shared by several nodes (after Tessera's MySQL storage design, github.com/transparency-dev/tessera).
// Sequencing: one transaction per batch that locks the single `tlog_sequence` row (an upsert takes
// the row lock and returns the next index), inserts the entries and advances the counter; batches
// from all nodes therefore get dense, ordered indices, and a rolled-back batch leaves no gap
// (a SEQUENCE would). Integration: one node at a time, under a transaction-scoped advisory lock
// that PostgreSQL releases at COMMIT, ROLLBACK or when the node's connection dies.
import { SignetError } from '../../errors.js';
import type { LogIntegrationInput, LogIntegrationOutput, LogStore, LogTreeState, StoredCheckpoint } from '../log-types.js';
import { storedHashCount, treeHashIndices } from '../../tlog/tree.js';
import { denseEntries } from '../rows.js';
import { ADVISORY_LOCKS, type PgDatabase, type PgQueryable } from './database.js';

interface TreeRow {
  size: string;
  root: Buffer;
  checkpoint: string;
}

export class PostgresLogStore implements LogStore {
  readonly #db: PgDatabase;

  constructor(db: PgDatabase) {
    this.#db = db;
  }

  async append(entries: readonly Buffer[], at: number): Promise<bigint> {
    if (entries.length === 0) throw new SignetError('INTERNAL', 'empty log append');
    return this.#db.transaction(async (tx) => {
      // ON CONFLICT DO UPDATE locks the coordinator row until COMMIT: appenders queue here.
      const [row] = await tx.query<{ next_index: string }>(
        `INSERT INTO tlog_sequence (id, next_index) VALUES (1, 0)
         ON CONFLICT (id) DO UPDATE SET next_index = tlog_sequence.next_index RETURNING next_index`,
      );
      const first = BigInt((row as { next_index: string }).next_index);
      await tx.query(
        `INSERT INTO tlog_entries (idx, entry, created_at)
         SELECT $1::bigint + t.ord - 1, t.entry, $3 FROM unnest($2::bytea[]) WITH ORDINALITY AS t(entry, ord)`,
        [first.toString(), entries, at],
      );
      await tx.query('UPDATE tlog_sequence SET next_index = $1 WHERE id = 1', [(first + BigInt(entries.length)).toString()]);
      return first;
    });
  }

  async sequencedSize(): Promise<bigint> {
    const [row] = await this.#db.query<{ next_index: string }>('SELECT next_index FROM tlog_sequence WHERE id = 1');
    return row ? BigInt(row.next_index) : 0n;
  }

  async readEntries(start: bigint, end: bigint): Promise<Buffer[]> {
    if (end <= start) return [];
    const rows = await this.#db.query<{ idx: string; entry: Buffer }>(
      'SELECT idx, entry FROM tlog_entries WHERE idx >= $1 AND idx < $2 ORDER BY idx',
      [start.toString(), end.toString()],
    );
    return denseEntries(start, end, rows);
  }

  async readHashes(indices: readonly bigint[]): Promise<Buffer[]> {
    return readHashes(this.#db, indices);
  }

  async treeState(): Promise<LogTreeState | undefined> {
    return treeState(this.#db);
  }

  async integrate(maxEntries: number, step: (input: LogIntegrationInput) => LogIntegrationOutput | undefined): Promise<LogTreeState | undefined> {
    return this.#db.transaction(async (tx) => {
      const [lock] = await tx.query<{ locked: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS locked', [ADVISORY_LOCKS.logIntegrator.toString()]);
      if (!lock?.locked) return undefined; // another node is integrating
      const tree = await treeState(tx);
      const size = tree?.size ?? 0n;
      const edge = await readHashes(tx, treeHashIndices(size));
      // Sequencing commits whole batches in index order, so committed entries are a prefix.
      const rows = await tx.query<{ idx: string; entry: Buffer }>('SELECT idx, entry FROM tlog_entries WHERE idx >= $1 ORDER BY idx LIMIT $2', [
        size.toString(),
        maxEntries,
      ]);
      const output = step({ tree, edge, entries: denseEntries(size, size + BigInt(rows.length), rows) });
      if (output === undefined) return tree;
      if (output.hashes.length > 0) {
        await tx.query(
          `INSERT INTO tlog_hashes (idx, hash)
           SELECT $1::bigint + t.ord - 1, t.hash FROM unnest($2::bytea[]) WITH ORDINALITY AS t(hash, ord)`,
          [storedHashCount(size).toString(), output.hashes],
        );
      }
      const t = output.tree;
      const now = Date.now();
      await tx.query(
        `INSERT INTO tlog_tree (id, size, root, checkpoint, updated_at) VALUES (1, $1, $2, $3, $4)
         ON CONFLICT (id) DO UPDATE SET size = excluded.size, root = excluded.root, checkpoint = excluded.checkpoint, updated_at = excluded.updated_at`,
        [t.size.toString(), t.root, t.checkpoint, now],
      );
      await tx.query('INSERT INTO tlog_checkpoints (size, root, checkpoint, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (size) DO NOTHING', [
        t.size.toString(),
        t.root,
        t.checkpoint,
        now,
      ]);
      return t;
    });
  }

  async listCheckpoints(fromSize: bigint, toSize: bigint, limit: number): Promise<StoredCheckpoint[]> {
    const rows = await this.#db.query<TreeRow & { created_at: string }>(
      'SELECT size, root, checkpoint, created_at FROM tlog_checkpoints WHERE size >= $1 AND size <= $2 ORDER BY size LIMIT $3',
      [fromSize.toString(), toSize.toString(), limit],
    );
    return rows.map((r) => ({ size: BigInt(r.size), root: r.root, checkpoint: r.checkpoint, createdAt: Number(r.created_at) }));
  }
}

async function treeState(q: PgQueryable): Promise<LogTreeState | undefined> {
  const [row] = await q.query<TreeRow>('SELECT size, root, checkpoint FROM tlog_tree WHERE id = 1');
  return row && { size: BigInt(row.size), root: row.root, checkpoint: row.checkpoint };
}

async function readHashes(q: PgQueryable, indices: readonly bigint[]): Promise<Buffer[]> {
  if (indices.length === 0) return [];
  const rows = await q.query<{ idx: string; hash: Buffer }>('SELECT idx, hash FROM tlog_hashes WHERE idx = ANY($1::bigint[])', [
    indices.map((i) => i.toString()),
  ]);
  const byIndex = new Map(rows.map((r) => [BigInt(r.idx), r.hash]));
  return indices.map((index) => {
    const hash = byIndex.get(index);
    if (!hash) throw new SignetError('INTERNAL', `stored hash ${index} is missing`);
    return hash;
  });
}
