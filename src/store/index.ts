// openStore: the store URL (`--store` / SIGNET_STORE) to a Store.
//   ''                 → sqlite:DATA/signet.db
//   sqlite:PATH        → SQLite at PATH (relative to the working directory)
//   postgres://…       → PostgreSQL (scale-out; see src/store/postgres)
import { join, resolve } from 'node:path';
import { SignetError } from '../errors.js';
import { SqliteStore } from './sqlite/sqlite-store.js';
import type { Store } from './types.js';

export async function openStore(url: string, options: { dataDir: string }): Promise<Store> {
  if (url === '' || url === undefined) return SqliteStore.open(join(options.dataDir, 'signet.db'));
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (path === '') throw new SignetError('CONFIG_INVALID', 'sqlite: store URL needs a path');
    return SqliteStore.open(resolve(path));
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    throw new SignetError('CONFIG_INVALID', 'the PostgreSQL store is not built yet');
  }
  throw new SignetError('CONFIG_INVALID', 'the store URL must start with sqlite: or postgres://');
}
