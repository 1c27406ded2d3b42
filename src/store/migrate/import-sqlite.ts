// `signet store migrate --from sqlite:PATH --to postgres://…`: move an embedded store to
// PostgreSQL. Tables are copied by name (both engines use the same column names) in ONE
// PostgreSQL transaction, so the target holds everything or nothing; then each sub-store proves
// the copy by reading both sides through the Store interface (the log: matching roots).
import { existsSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import Database from 'better-sqlite3';
import { SignetError } from '../../errors.js';
import { SqliteStore } from '../sqlite/sqlite-store.js';
import type { Store } from '../types.js';
import { StreamingRoot } from '../../tlog/stream-root.js';
import type { PgQueryable } from '../postgres/database.js';
import { MIGRATIONS } from '../postgres/migrations.js';
import { PostgresStore } from '../postgres/postgres-store.js';

export interface TableImport {
  readonly table: string;
  /** A total order (one column, or several separated by commas), so a copy is reproducible and a
   *  log is copied in index order. */
  readonly orderBy: string;
}

export interface SubStoreImport {
  readonly subStore: string;
  /** In dependency order (referenced tables first). */
  readonly tables: readonly TableImport[];
  /** Prove the copy through the Store interface; throw STORE_MIGRATE_MISMATCH when it differs. */
  verify(from: Store, to: PostgresStore): Promise<void>;
}

// Each sub-store appends its entry (src/store/postgres/README.md, "Adding a sub-store").
export const SQLITE_IMPORTS: readonly SubStoreImport[] = [
  {
    subStore: 'base',
    tables: [
      { table: 'meta', orderBy: 'key' },
      { table: 'keys', orderBy: 'name' },
      { table: 'tokens', orderBy: 'accessor' },
      { table: 'key_versions', orderBy: 'fingerprint' },
      { table: 'key_subkeys', orderBy: 'fingerprint' },
    ],
    async verify(from, to) {
      const keys = await from.listKeys();
      same('keys', keys, await to.listKeys());
      for (const k of keys) {
        same('key versions', await from.keyVersions.list(k.name), await to.keyVersions.list(k.name));
        same('subkeys', await from.keyVersions.listSubkeys(k.name), await to.keyVersions.listSubkeys(k.name));
      }
      same('tokens', await from.listTokens(), await to.listTokens());
    },
  },
  {
    subStore: 'log',
    tables: [
      { table: 'tlog_entries', orderBy: 'idx' },
      { table: 'tlog_sequence', orderBy: 'id' },
      { table: 'tlog_hashes', orderBy: 'idx' },
      { table: 'tlog_tree', orderBy: 'id' },
      { table: 'tlog_checkpoints', orderBy: 'size' },
    ],
    async verify(from, to) {
      // Same sequenced size, same signed tree, and both stores' entries hash to its root.
      if ((await from.log.sequencedSize()) !== (await to.log.sequencedSize())) mismatch('log sizes');
      const tree = await from.log.treeState();
      const copied = await to.log.treeState();
      if (tree?.checkpoint !== copied?.checkpoint) mismatch('log checkpoints');
      if (tree === undefined) return;
      for (const store of [from, to]) {
        const stream = new StreamingRoot();
        for (let start = 0n; start < tree.size; start += 10_000n) {
          const end = start + 10_000n < tree.size ? start + 10_000n : tree.size;
          for (const entry of await store.log.readEntries(start, end)) stream.push(entry);
        }
        if (!stream.root().equals(tree.root)) mismatch('log roots');
      }
    },
  },
  {
    subStore: 'policy',
    tables: [
      { table: 'policies', orderBy: 'name' },
      { table: 'rate_limits', orderBy: 'bucket' },
    ],
    async verify(from, to) {
      same('policies', await from.policies.list(), await to.policies.list());
    },
  },
  {
    subStore: 'approvals',
    tables: [
      { table: 'approval_requests', orderBy: 'id' },
      { table: 'approval_decisions', orderBy: 'request_id, identity' },
      { table: 'vetting_records', orderBy: 'log_index' },
    ],
    async verify(from, to) {
      const all = { pending: false, now: 0, limit: 1_000_000 };
      same('approval requests', await from.approvals.listRequests(all), await to.approvals.listRequests(all));
    },
  },
  {
    subStore: 'auth',
    tables: [
      { table: 'auth_roles', orderBy: 'role_id' },
      { table: 'auth_secret_ids', orderBy: 'accessor' },
      { table: 'auth_wrapped', orderBy: 'accessor' },
      { table: 'auth_login_failures', orderBy: 'scope' },
    ],
    async verify(from, to) {
      for (const kind of ['approle', 'jwt'] as const) {
        const roles = await from.auth.listRoles(kind);
        same(`${kind} roles`, roles, await to.auth.listRoles(kind));
        for (const role of kind === 'approle' ? roles : []) {
          same('secret_ids', await from.auth.listSecretIds(role.name), await to.auth.listSecretIds(role.name));
        }
      }
    },
  },
];

export interface ImportReport {
  /** Rows copied per table. */
  readonly tables: Readonly<Record<string, number>>;
  readonly verified: readonly string[];
}

const BATCH_ROWS = 500;

export async function importSqliteIntoPostgres(sqlitePath: string, postgresUrl: string, imports: readonly SubStoreImport[] = SQLITE_IMPORTS): Promise<ImportReport> {
  if (!existsSync(sqlitePath)) throw new SignetError('FILE_UNREADABLE', `no SQLite store at ${sqlitePath}`);
  let source: Database.Database;
  try {
    source = new Database(sqlitePath, { readonly: true, fileMustExist: true });
    // 64-bit integers (log indices, times) must not round through a double.
    source.defaultSafeIntegers(true);
  } catch (cause) {
    throw new SignetError('STORE_UNAVAILABLE', `cannot open the SQLite store ${sqlitePath}`, { cause });
  }
  const target = PostgresStore.open(postgresUrl);
  const tables: Record<string, number> = {};
  try {
    checkSourceSchema(source);
    await target.migrate();
    await target.db.transaction(async (tx) => {
      for (const { table } of imports.flatMap((i) => i.tables)) {
        const [row] = await tx.query<{ present: boolean }>(`SELECT EXISTS (SELECT 1 FROM ${quoteIdent(table)}) AS present`);
        if (row?.present) throw new SignetError('STORE_NOT_EMPTY', `the PostgreSQL store already holds rows in ${table}; migrate into an empty database`);
      }
      for (const t of imports.flatMap((i) => i.tables)) tables[t.table] = await copyTable(source, tx, t);
    });
    // Settings have no list method in the Store interface: compare them row by row here.
    const meta = source.prepare("SELECT key, value FROM meta ORDER BY key").all() as Array<{ key: string; value: string }>;
    for (const { key, value } of meta) {
      if ((await target.getMeta(key)) !== value) throw new SignetError('STORE_MIGRATE_MISMATCH', `the copied setting ${key} differs from the SQLite store`);
    }
  } finally {
    source.close();
    await target.close();
  }

  // Verify with fresh connections on both sides, after the commit.
  const from = SqliteStore.open(sqlitePath);
  const to = PostgresStore.open(postgresUrl);
  const verified: string[] = [];
  try {
    for (const i of imports) {
      await i.verify(from, to);
      verified.push(i.subStore);
    }
  } finally {
    await from.close();
    await to.close();
  }
  return { tables, verified };
}

function checkSourceSchema(source: Database.Database): void {
  const known = new Set(MIGRATIONS.map((m) => m.version));
  const rows = source.prepare('SELECT version FROM schema_migrations').all() as Array<{ version: bigint }>;
  const unknown = rows.map((r) => Number(r.version)).filter((v) => !known.has(v));
  if (unknown.length > 0) {
    throw new SignetError('CONFIG_INVALID', `the SQLite store has schema versions this signet's PostgreSQL engine lacks (${unknown.join(', ')})`);
  }
}

async function copyTable(source: Database.Database, tx: PgQueryable, t: TableImport): Promise<number> {
  const exists = source.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(t.table);
  if (!exists) return 0; // an older source schema: nothing to copy
  const statement = source.prepare(`SELECT * FROM ${quoteIdent(t.table)} ORDER BY ${t.orderBy.split(',').map((c) => quoteIdent(c.trim())).join(', ')}`);
  const columns = statement.columns().map((c) => c.name);
  const insertHead = `INSERT INTO ${quoteIdent(t.table)} (${columns.map(quoteIdent).join(', ')}) VALUES `;
  let batch: unknown[][] = [];
  let copied = 0;
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    const tuples = batch.map((_, r) => `(${columns.map((_c, c) => `$${r * columns.length + c + 1}`).join(', ')})`);
    await tx.query(insertHead + tuples.join(', '), batch.flat().map(toParameter));
    copied += batch.length;
    batch = [];
  };
  for (const row of statement.raw(true).iterate() as IterableIterator<unknown[]>) {
    batch.push(row);
    if (batch.length >= BATCH_ROWS) await flush();
  }
  await flush();
  return copied;
}

// SQLite values to pg parameters: bigint as decimal text (exact); Buffers stay bytes; JSON text
// is accepted by JSONB columns as is.
function toParameter(value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

function quoteIdent(name: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new SignetError('INTERNAL', `bad table or column name ${name}`);
  return `"${name}"`;
}

function same(what: string, from: unknown, to: unknown): void {
  if (!isDeepStrictEqual(from, to)) throw new SignetError('STORE_MIGRATE_MISMATCH', `the copied ${what} differ from the SQLite store`);
}

function mismatch(what: string): never {
  throw new SignetError('STORE_MIGRATE_MISMATCH', `the copied ${what} differ from the SQLite store`);
}
