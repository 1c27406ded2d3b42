// The master key: 32 random bytes that wrap every key's data key. It lives in DATA/master.key
// (created 0600 on first start) or in the file SIGNET_MASTER_KEY_FILE names. The store holds only
// a check value (an HMAC under the key), so a server started with the wrong key refuses to run
// before it writes anything.
import { createHmac, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SignetError } from '../errors.js';
import { writeFileAtomic } from '../fsutil.js';
import { Secret, constantTimeEqual } from '../secret.js';
import type { Store } from '../store/types.js';

const FORMAT_PREFIX = 'signet-master-key-v1:';
const CHECK_LABEL = 'signet/master-key-check/v1';
const CHECK_META = 'master_key_check';

export interface MasterKey {
  readonly key: Secret;
  readonly created: boolean;
  readonly path: string;
  readonly warnings: string[];
  /** With `deferWrite`, a new key is written only by this (after the store was checked). */
  readonly persist?: () => void;
}

/**
 * Read the master key, or make a new one when DATA/master.key does not exist. With `deferWrite`
 * the new key stays in memory until `persist()`: the server first checks that the store was
 * never bound to a master key (checkStoreUnbound), so a lost key file is reported, not replaced.
 */
export async function loadOrCreateMasterKey(options: { dataDir: string; masterKeyFile?: string; deferWrite?: boolean }): Promise<MasterKey> {
  if (options.masterKeyFile !== undefined) {
    if (!existsSync(options.masterKeyFile)) {
      throw new SignetError('MASTER_KEY_UNREADABLE', `the master key file ${options.masterKeyFile} does not exist`);
    }
    return { ...readMasterKey(options.masterKeyFile), created: false, path: options.masterKeyFile };
  }
  const path = join(options.dataDir, 'master.key');
  if (existsSync(path)) return { ...readMasterKey(path), created: false, path };
  const key = randomBytes(32);
  const secret = new Secret(key);
  key.fill(0);
  const persist = (): void => {
    mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
    writeFileAtomic(path, Buffer.from(`${FORMAT_PREFIX}${secret.reveal().toString('base64')}\n`), 0o600);
  };
  if (options.deferWrite === true) return { key: secret, created: true, path, warnings: [], persist };
  persist();
  return { key: secret, created: true, path, warnings: [] };
}

/**
 * Before a new master key is written: refuse (MASTER_KEY_UNREADABLE) when the store already
 * records a master key's check value, i.e. it holds keys, log state and an audit chain sealed
 * or keyed under a master key this server no longer has. Nothing is written.
 */
export async function checkStoreUnbound(store: Store, path: string): Promise<void> {
  if ((await store.getMeta(CHECK_META)) !== undefined) {
    throw new SignetError(
      'MASTER_KEY_UNREADABLE',
      `the master key file ${path} is missing, but this store was set up with a master key (its keys are sealed under it); restore the file or point master_key_file at it. Nothing was written`,
    );
  }
}

function readMasterKey(path: string): { key: Secret; warnings: string[] } {
  let text: string;
  const warnings: string[] = [];
  try {
    text = readFileSync(path, 'latin1');
    if ((statSync(path).mode & 0o077) !== 0) warnings.push(`the master key file ${path} is readable by other users; chmod 600 it`);
  } catch (err) {
    throw new SignetError('MASTER_KEY_UNREADABLE', `cannot read the master key file ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  // The message never echoes the file's content.
  const line = text.replace(/\r?\n$/, '');
  const bad = new SignetError('MASTER_KEY_UNREADABLE', `the master key file ${path} is not in the signet-master-key-v1 format`);
  if (!line.startsWith(FORMAT_PREFIX) || line.includes('\n')) throw bad;
  const b64 = line.slice(FORMAT_PREFIX.length);
  if (!/^[A-Za-z0-9+/]{43}=$/.test(b64)) throw bad;
  const key = Buffer.from(b64, 'base64');
  if (key.length !== 32) throw bad;
  return { key: new Secret(key), warnings };
}

export function masterKeyCheck(master: Secret): string {
  return createHmac('sha256', master.reveal()).update(CHECK_LABEL).digest('base64');
}

/** Record the check value on first use; refuse a different master key afterwards. */
export async function verifyMasterKey(store: Store, master: Secret): Promise<void> {
  const expected = masterKeyCheck(master);
  const stored = await store.putMetaIfAbsent(CHECK_META, expected);
  if (!constantTimeEqual(Buffer.from(stored), Buffer.from(expected))) {
    throw new SignetError('MASTER_KEY_MISMATCH', 'the master key does not match this data store; nothing was changed');
  }
}
