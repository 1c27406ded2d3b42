// openStore: the store URL (`--store` / SIGNET_STORE) to a Store.
//   ''                 → sqlite:DATA/signet.db
//   sqlite:PATH        → SQLite at PATH (relative to the working directory)
//   postgres://…       → PostgreSQL (scale-out; see src/store/postgres)
import { join, resolve } from 'node:path';
import { SignetError } from '../errors.js';
import { PostgresStore } from './postgres/postgres-store.js';
import type { PgOptions } from './postgres/database.js';
import { SqliteStore } from './sqlite/sqlite-store.js';
import type { Store } from './types.js';

export async function openStore(url: string, options: { dataDir: string; postgres?: PgOptions }): Promise<Store> {
  if (url === '' || url === undefined) return SqliteStore.open(join(options.dataDir, 'signet.db'));
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (path === '') throw new SignetError('CONFIG_INVALID', 'sqlite: store URL needs a path');
    return SqliteStore.open(resolve(path));
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    try {
      new URL(url);
    } catch {
      throw new SignetError('CONFIG_INVALID', 'the postgres:// store URL is malformed');
    }
    return PostgresStore.open(url, options.postgres);
  }
  throw new SignetError('CONFIG_INVALID', 'the store URL must start with sqlite: or postgres://');
}
