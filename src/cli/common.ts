// Shared CLI plumbing: global options, the client, output (human or --json), errors, progress.
import { lstatSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SignetError } from '../errors.js';
import { SignetClient } from '../client/client.js';
import { loadClientConfig, type ClientConfig } from './client-config.js';
import { parseTimeout } from './timeout.js';

export const DEFAULT_ADDR = 'http://127.0.0.1:7780';
export const DEFAULT_DATA = './.signet';

export interface GlobalOptions {
  addr?: string;
  token?: string;
  data?: string;
  json?: boolean;
  caFile?: string;
  /** --timeout: how long the server may stay silent (30s, 2m, 500ms; a bare number is seconds). */
  timeout?: string;
}


export function dataDir(g: GlobalOptions): string {
  return resolve(g.data ?? process.env.SIGNET_DATA ?? DEFAULT_DATA);
}

/**
 * The token: --token, else SIGNET_TOKEN, else the client configuration file's, else (for the
 * `signet` command only, `dataToken`) the first-start admin token in DATA/admin-token when it is
 * this user's own file that nobody else can read (the operator on the server host, as with
 * Vault's ~/.vault-token). signet-gpg passes dataToken false: it runs in build directories, and a
 * file beside an artifact must never configure the signer.
 */
export function resolveToken(g: GlobalOptions, config: () => ClientConfig = loadClientConfig, dataToken = true): string | undefined {
  const explicit = g.token ?? process.env.SIGNET_TOKEN;
  if (explicit !== undefined && explicit !== '') return explicit.trim();
  const configured = config().token;
  if (configured !== undefined) return configured;
  if (!dataToken) return undefined;
  const path = join(dataDir(g), 'admin-token');
  try {
    const st = lstatSync(path);
    if (!st.isFile() || st.uid !== process.getuid?.() || (st.mode & 0o077) !== 0) return undefined;
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/**
 * Flags, then SIGNET_* variables, then the client configuration file (read once, only if needed).
 * `anonymous`: send no token at all (login presents its own credentials).
 */
export function makeClient(g: GlobalOptions, extra: { correlationId?: string; anonymous?: boolean; dataToken?: boolean } = {}): SignetClient {
  let cached: ClientConfig | undefined;
  const config = () => (cached ??= loadClientConfig());
  const token = extra.anonymous ? undefined : resolveToken(g, config, extra.dataToken ?? true);
  // An empty variable counts as unset, as for SIGNET_TOKEN.
  const caFile = g.caFile ?? (process.env.SIGNET_CA_FILE || config().caFile);
  const timeout =
    g.timeout !== undefined
      ? parseTimeout(g.timeout)
      : process.env.SIGNET_TIMEOUT
        ? parseTimeout(process.env.SIGNET_TIMEOUT, 'SIGNET_TIMEOUT')
        : config().timeout;
  // NODE_EXTRA_CA_CERTS as the launcher (bin/signet, bin/signet-gpg) deferred it: Node 20 parses
  // that file at every process start, before any JavaScript runs; the client reads it only when
  // it opens an https:// connection.
  const extraCaFile = process.env.SIGNET_NODE_EXTRA_CA_CERTS;
  return new SignetClient({
    addr: g.addr ?? (process.env.SIGNET_ADDR || config().addr || DEFAULT_ADDR),
    ...(token !== undefined ? { token } : {}),
    ...(caFile ? { caFile } : {}),
    ...(extraCaFile ? { extraCaFile } : {}),
    ...(timeout !== undefined ? { timeoutMs: timeout } : {}),
    ...(extra.correlationId !== undefined ? { correlationId: extra.correlationId } : {}),
  });
}

export async function withClient<T>(g: GlobalOptions, fn: (client: SignetClient) => Promise<T>): Promise<T> {
  const client = makeClient(g);
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function printLine(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** A progress bar only when stderr is a terminal and output is for humans. */
export function wantProgress(g: GlobalOptions): boolean {
  return Boolean(process.stderr.isTTY) && !g.json && process.env.CI !== 'true';
}

export function readInputFile(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new SignetError('FILE_UNREADABLE', `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

/** The size of FILE, which must be a regular file (FILE_UNREADABLE otherwise). */
export function regularFileSize(path: string): number {
  let st;
  try {
    st = statSync(path);
  } catch (err) {
    throw new SignetError('FILE_UNREADABLE', `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  if (!st.isFile()) throw new SignetError('FILE_UNREADABLE', `${path} is not a regular file`);
  return st.size;
}
