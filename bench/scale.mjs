// npm run bench:scale: detached Ed25519 signing through the API on loopback (32 concurrent
// keep-alive clients, 1 KiB artifacts) with 1 node on SQLite, 1 node on PostgreSQL and 2 nodes on
// one PostgreSQL (the load split evenly across both). PostgreSQL is a throwaway cluster in a temp
// dir (Debian's initdb/pg_ctl, fsync on), or BENCH_PG_URL. Everything shares this machine's
// cores: load generator, nodes and PostgreSQL. What matters is the relative cost of PostgreSQL
// over SQLite and of a second node's coordination, not the absolute figures.
import { spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, appendFileSync, writeFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort, root, signetBin, startSignet, table, waitFor } from './lib.mjs';

const seconds = Number(process.env.BENCH_SECONDS ?? 8);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 32);

/** initdb + pg_ctl in a temp dir, as the postgres OS user when root (initdb refuses root). */
async function startCluster() {
  const base = '/usr/lib/postgresql';
  const version = existsSync(base) ? readdirSync(base).filter((v) => existsSync(join(base, v, 'bin', 'initdb'))).sort((a, b) => b - a)[0] : undefined;
  if (!version) throw new Error('PostgreSQL server binaries are missing: apt-get install -y postgresql');
  const bin = join(base, version, 'bin');
  const asRoot = process.getuid() === 0;
  const uid = asRoot ? Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout) : undefined;
  const gid = asRoot ? Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout) : undefined;
  const dir = mkdtempSync(join(tmpdir(), 'signet-bench-pg-'));
  if (asRoot) chownSync(dir, uid, gid);
  const data = join(dir, 'data');
  const run = (program, args) => {
    const [cmd, argv] = asRoot ? ['setpriv', ['--reuid', String(uid), '--regid', String(gid), '--init-groups', '--', join(bin, program), ...args]] : [join(bin, program), args];
    const r = spawnSync(cmd, argv, { encoding: 'utf8', cwd: dir, env: { PATH: process.env.PATH, LC_ALL: 'C' } });
    if (r.status !== 0) throw new Error(`${program} failed: ${r.stderr}`);
  };
  const port = await freePort();
  run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-sync']);
  appendFileSync(join(data, 'postgresql.conf'), `port = ${port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '${dir}'\nfsync = on\nmax_connections = 200\n`);
  writeFileSync(join(data, 'pg_hba.conf'), 'local all all trust\nhost all all 127.0.0.1/32 trust\n');
  if (asRoot) chownSync(join(data, 'pg_hba.conf'), uid, gid);
  run('pg_ctl', ['-D', data, '-l', join(dir, 'server.log'), '-w', 'start']);
  let n = 0;
  return {
    async createDatabase() {
      const name = `signet_bench_${++n}`;
      const admin = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres` });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${name} TEMPLATE template0`);
      await admin.end();
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    stop() {
      run('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A second node: lib.mjs's startSignet expects the admin token that only the first node writes. */
async function startExtraNode(storeUrl, masterKeyFile) {
  const dir = mkdtempSync(join(tmpdir(), 'signet-bench-'));
  const port = await freePort();
  const child = spawn(process.execPath, [signetBin, 'serve', '--data', join(dir, 'data'), '--listen', `127.0.0.1:${port}`, '--log-level', process.env.BENCH_LOG_LEVEL ?? 'warn', '--store', storeUrl], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, SIGNET_MASTER_KEY_FILE: masterKeyFile },
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`${url}/healthz`);
  return {
    url,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function load(url, token, clients) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(root, 'bench', 'load.mjs'), url, String(seconds), String(clients), '1024', token], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop())) : reject(new Error(`load.mjs exited ${code}`))));
  });
}

async function createKey(url, token) {
  const r = await fetch(`${url}/v1/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'bench', algorithm: 'ed25519', user_id: 'Bench <bench@example.org>' }),
  });
  if (r.status !== 201) throw new Error(`key create failed: ${r.status} ${await r.text()}`);
}

/**
 * What signet's PostgreSQL sessions wait on while the load runs (pg_stat_activity sampled every
 * 50 ms): Lock = nodes queueing for the same rows (coordination), IO:WALSync = commit fsync,
 * Client:ClientRead = idle in a pool. Shares of all samples, top five.
 */
function sampleWaits(databaseUrl) {
  const counts = new Map();
  let total = 0;
  let stopped = false;
  const client = new pg.Client({ connectionString: databaseUrl });
  const done = (async () => {
    await client.connect();
    while (!stopped) {
      const { rows } = await client.query("SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU') AS w FROM pg_stat_activity WHERE application_name = 'signet' AND state <> 'idle'");
      for (const { w } of rows) counts.set(w, (counts.get(w) ?? 0) + 1);
      total += rows.length;
      await new Promise((r) => setTimeout(r, 50));
    }
    await client.end();
  })();
  return async () => {
    stopped = true;
    await done;
    return Object.fromEntries([...counts].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([w, n]) => [w, Number((n / Math.max(total, 1)).toFixed(2))]));
  };
}

/** Run the load split evenly over the nodes; requests add up, p99 is the worst node's. */
async function measure(nodes, token, databaseUrl) {
  const signUrl = (n) => `${n.url}/v1/sign/bench?name=artifact.bin`;
  const waits = databaseUrl ? sampleWaits(databaseUrl) : undefined;
  const parts = await Promise.all(nodes.map((n) => load(signUrl(n), token, Math.ceil(concurrency / nodes.length))));
  return {
    ...(waits ? { pg_waits: await waits() } : {}),
    rps: parts.reduce((s, p) => s + p.rps, 0),
    errors: parts.reduce((s, p) => s + p.errors, 0),
    p50_ms: Math.max(...parts.map((p) => p.p50_ms)),
    p99_ms: Math.max(...parts.map((p) => p.p99_ms)),
  };
}

const quiet = { BENCH_LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn' };
process.env.BENCH_LOG_LEVEL = quiet.BENCH_LOG_LEVEL;
const results = {};

process.stderr.write('bench:scale: 1 node, SQLite ...\n');
{
  const node = await startSignet();
  try {
    await createKey(node.url, node.token);
    results.sqlite_1 = await measure([node], node.token);
  } finally {
    await node.stop();
  }
}

const cluster = process.env.BENCH_PG_URL ? undefined : await startCluster();
try {
  const database = async () => (cluster ? cluster.createDatabase() : process.env.BENCH_PG_URL);
  process.stderr.write('bench:scale: 1 node, PostgreSQL ...\n');
  {
    const url = await database();
    const node = await startSignet(['--store', url]);
    try {
      await createKey(node.url, node.token);
      results.postgres_1 = await measure([node], node.token, url);
      // Control: the same node, the load from two generator processes as in the 2-node run, so
      // the second generator's CPU is not billed to the second node.
      results.postgres_1_split = await measure([node, node], node.token, url);
    } finally {
      await node.stop();
    }
  }
  if (!cluster) throw new Error('the 2-node run needs a fresh database: unset BENCH_PG_URL');
  process.stderr.write('bench:scale: 2 nodes, one PostgreSQL ...\n');
  {
    const url = await database();
    const first = await startSignet(['--store', url]);
    const second = await startExtraNode(url, join(first.dataDir, 'master.key'));
    try {
      await createKey(first.url, first.token);
      results.postgres_2 = await measure([first, second], first.token, url);
    } finally {
      await second.stop();
      await first.stop();
    }
  }
} finally {
  cluster?.stop();
}

const base = results.sqlite_1.rps;
const rows = [['setup', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'vs SQLite']];
for (const [name, label] of [
  ['sqlite_1', '1 node, SQLite'],
  ['postgres_1', '1 node, PostgreSQL'],
  ['postgres_1_split', '1 node, PostgreSQL, 2 load processes'],
  ['postgres_2', '2 nodes, PostgreSQL'],
]) {
  const r = results[name];
  rows.push([label, r.rps.toFixed(0), r.p50_ms.toFixed(2), r.p99_ms.toFixed(2), String(r.errors), (r.rps / base).toFixed(2)]);
}
process.stdout.write(`${table(rows)}\n`);
for (const name of ['postgres_1', 'postgres_2']) process.stdout.write(`${name} PostgreSQL wait events: ${JSON.stringify(results[name].pg_waits)}\n`);
process.stdout.write(`${JSON.stringify({ cores: cpus().length, seconds, concurrency, results, kernel: readFileSync('/proc/version', 'utf8').split(' ')[2] })}\n`);
