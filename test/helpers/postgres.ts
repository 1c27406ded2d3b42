// A throwaway PostgreSQL cluster for tests: Debian's server binaries (initdb, pg_ctl from
// /usr/lib/postgresql/N/bin; they are not on PATH), a temp dir, loopback only, trust auth, fsync
// on. One cluster per test file (beforeAll), a fresh database per test (CREATE DATABASE from
// template0). As root the cluster runs as the `postgres` OS user, since initdb refuses root.
import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './cli.js';
import { requireTools } from './tools.js';

// The interop-tools.txt line that installs the server binaries (package `postgresql`).
const INITDB_GLOB = '/usr/lib/postgresql/*/bin/initdb';

export interface PgCluster {
  readonly port: number;
  /** Admin URL of database `name` (superuser `postgres`, trust auth on loopback). */
  url(database: string): string;
  /** A new empty database (from template0); returns its URL. */
  createDatabase(prefix?: string): Promise<string>;
  /** Stop the server (outage tests). `fast` disconnects clients with 57P01, `immediate` is a crash. */
  stop(mode?: 'fast' | 'immediate'): void;
  /** Start it again on the same port and data. */
  start(): void;
  readonly running: boolean;
  /** Stop and delete everything. */
  destroy(): void;
}

/** The bin directory of the newest installed PostgreSQL server, or a failure naming the package. */
export function postgresBinDir(): string {
  const find = (): string | undefined => {
    const base = '/usr/lib/postgresql';
    if (!existsSync(base)) return undefined;
    const versions = readdirSync(base)
      .filter((v) => existsSync(join(base, v, 'bin', 'initdb')) && existsSync(join(base, v, 'bin', 'pg_ctl')))
      .sort((a, b) => Number(b) - Number(a));
    return versions[0] === undefined ? undefined : join(base, versions[0], 'bin');
  };
  const found = find();
  if (found) return found;
  requireTools(INITDB_GLOB); // installs as root, or throws naming `apt-get install -y postgresql`
  const installed = find();
  if (!installed) throw new Error(`PostgreSQL server binaries are missing (${INITDB_GLOB}): apt-get install -y postgresql`);
  return installed;
}

interface OsUser {
  readonly uid: number;
  readonly gid: number;
}

function postgresUser(): OsUser | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const r = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const g = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (r.status !== 0 || g.status !== 0) throw new Error('running as root needs the `postgres` OS user (apt-get install -y postgresql creates it)');
  return { uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) };
}

export async function startPgCluster(): Promise<PgCluster> {
  const bin = postgresBinDir();
  const user = postgresUser();
  const dir = mkdtempSync(join(tmpdir(), 'signet-pg-'));
  const data = join(dir, 'data');
  const logFile = join(dir, 'server.log');
  if (user) chownSync(dir, user.uid, user.gid);

  const run = (program: string, args: string[]): void => {
    const command = user ? 'setpriv' : join(bin, program);
    const argv = user ? ['--reuid', String(user.uid), '--regid', String(user.gid), '--init-groups', '--', join(bin, program), ...args] : args;
    const r = spawnSync(command, argv, { encoding: 'utf8', cwd: dir, env: { PATH: process.env.PATH ?? '', LC_ALL: 'C', TZ: 'UTC' } });
    if (r.status !== 0) {
      const log = existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-2000) : '';
      throw new Error(`${program} failed (${r.status}): ${r.stderr}${r.stdout}${log}`);
    }
  };

  const port = await freePort();
  // --no-sync only skips flushing the initial template files; the server itself runs fsync=on.
  run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-sync']);
  appendFileSync(
    join(data, 'postgresql.conf'),
    [
      `port = ${port}`,
      "listen_addresses = '127.0.0.1'",
      `unix_socket_directories = '${dir}'`,
      'fsync = on',
      'max_connections = 200',
      'shared_buffers = 32MB',
      "log_min_messages = 'warning'",
      '',
    ].join('\n'),
  );
  // Loopback and the private socket dir only; nothing else may connect.
  writeFileSync(join(data, 'pg_hba.conf'), 'local all all trust\nhost all all 127.0.0.1/32 trust\n');
  if (user) chownSync(join(data, 'pg_hba.conf'), user.uid, user.gid);

  let running = false;
  let counter = 0;
  const cluster: PgCluster = {
    port,
    url: (database) => `postgres://postgres@127.0.0.1:${port}/${database}`,
    async createDatabase(prefix = 'signet_test') {
      const name = `${prefix}_${process.pid}_${++counter}`;
      const admin = new pg.Client({ connectionString: cluster.url('postgres') });
      await admin.connect();
      try {
        await admin.query(`CREATE DATABASE ${name} TEMPLATE template0`);
      } finally {
        await admin.end();
      }
      return cluster.url(name);
    },
    stop(mode = 'fast') {
      if (!running) return;
      run('pg_ctl', ['-D', data, '-m', mode, '-w', 'stop']);
      running = false;
    },
    start() {
      if (running) return;
      run('pg_ctl', ['-D', data, '-l', logFile, '-w', '-t', '60', 'start']);
      running = true;
    },
    get running() {
      return running;
    },
    destroy() {
      process.off('exit', onExit);
      try {
        if (running) run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } finally {
        running = false;
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
  // A test run that dies early must not leave a server running.
  const onExit = (): void => {
    if (running) spawnSync(user ? 'setpriv' : join(bin, 'pg_ctl'), user ? ['--reuid', String(user.uid), '--regid', String(user.gid), '--init-groups', '--', join(bin, 'pg_ctl'), '-D', data, '-m', 'immediate', 'stop'] : ['-D', data, '-m', 'immediate', 'stop']);
    rmSync(dir, { recursive: true, force: true });
  };
  process.on('exit', onExit);
  try {
    cluster.start();
  } catch (err) {
    cluster.destroy();
    throw err;
  }
  return cluster;
}
