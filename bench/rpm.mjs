// npm run bench:rpm: the release corpus (84 packages, ~165 MB, scripts/make-rpm-corpus.sh)
// signed in one run by local `rpmsign --addsign` with an RSA-4096 gpg key (the baseline) and by
// `signet rpm sign` through a signet server on loopback with an RSA-4096 key. Reports the ratio
// (goal: signet >= 10x faster, as a user runs the CLI), bytes on the wire and peak RSS of client and server.
// The timed signet run talks to the server directly: a counting relay in this process would burn
// CPU on the same cores during the timed run. Bytes on the wire are counted in a second, untimed
// run of the same command on a fresh copy of the corpus, through a counting TCP relay.
// The CLI runs as a user runs it: the executable bin/signet (its launcher included) with this
// environment as it is. Where NODE_EXTRA_CA_CERTS is set (this environment sets it to the Debian
// bundle), the launcher moves it aside for `rpm sign`, as it does for any user (docs/performance.md);
// BENCH_DROP_EXTRA_CA=1 removes it from the client's environment altogether. The output says which.
// A third table sets the batch through a pull-mode relay (docs/pull-mode.md) beside the direct run.
// A second section times ONE package per command (start-up included), beside rpmsign, as a
// pipeline that signs one package per job runs it (singlePackage below).
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { countingRelay, freePort, signetBin, startSignet, table } from './lib.mjs';

const corpusScript = process.env.SIGNET_CORPUS_SCRIPT ?? fileURLToPath(new URL('../scripts/make-rpm-corpus.sh', import.meta.url));
const profile = process.env.BENCH_RPM_PROFILE ?? 'release';
const work = mkdtempSync(join(tmpdir(), 'signet-bench-rpm-'));

function must(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return r;
}

function peakRss(pid) {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Run a command, polling its peak RSS; returns { seconds, peakRss, status, stdout }. */
function timed(cmd, args, env) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let peak = 0;
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    const poll = setInterval(() => (peak = Math.max(peak, peakRss(child.pid))), 10);
    child.on('exit', (status) => {
      clearInterval(poll);
      resolve({ seconds: (performance.now() - t0) / 1000, peakRss: peak, status, stdout });
    });
  });
}

/**
 * One package per job (Koji, OBS, a CI stage per RPM): the whole command, start-up included.
 * Rounds are interleaved (rpmsign, signet rpm sign, rpmsign through signet-gpg, then the next
 * round) so a machine shared with other work slows all three alike; the median of the rounds is
 * reported. `signet --version` is the CLI's own start-up as scripts probe it (the launcher prints the
 * version without loading the command definitions), `signet rpm sign --help` the start-up of the
 * signing command itself (Node, commander, the rpm command definitions; no request), and
 * `node -e 0` the floor below both.
 */
async function singlePackage({ corpus, genv, direct, signet }) {
  const rounds = Number(process.env.BENCH_RPM_SINGLE_ROUNDS ?? 7);
  // The package closest to 2 MB, the size of a typical single-package job.
  const pkg = corpus.map((f) => ({ f, d: Math.abs(statSync(f).size - 2 * 1024 * 1024) })).sort((a, b) => a.d - b.d)[0].f;
  const dir = join(work, 'single');
  must('mkdir', ['-p', dir]);
  const shim = join(signetBin, '..', 'signet-gpg');
  const viaShim = { ...genv, ...direct };
  if (direct.NODE_EXTRA_CA_CERTS === undefined) delete viaShim.NODE_EXTRA_CA_CERTS;
  // Node's own start, the floor under every signet command (without NODE_EXTRA_CA_CERTS, which
  // the launcher keeps from Node on these paths).
  const bare = { ...direct };
  delete bare.NODE_EXTRA_CA_CERTS;
  // rpmsign's own work: the same command with a stand-in "gpg" that copies a signature made once
  // beforehand (a shell script: no key, no agent). Any program rpmsign starts instead of gpg adds
  // its whole run to this, so this plus `node -e 0` is the floor of rpmsign through signet-gpg.
  const stub = join(dir, 'stub-gpg');
  must('sh', ['-c', `echo stub | gpg --batch -u 'Bench RPM' --no-armor -sbo '${join(dir, 'stub.sig')}'`], { env: genv });
  writeFileSync(stub, `#!/bin/sh\nout=\nwhile [ $# -gt 0 ]; do [ "$1" = -sbo ] && out=$2; shift; done\ncat > /dev/null\ncp '${join(dir, 'stub.sig')}' "$out"\n`, { mode: 0o755 });
  // The floor of any Node client of the server: Node, the two built-in modules the client needs
  // (node:http, node:crypto) and one request on a fresh connection (GET /healthz), no signet code.
  const floor = `require('node:crypto');require('node:http').get(${JSON.stringify(`${direct.SIGNET_ADDR}/healthz`)},(r)=>r.resume())`;
  const times = { rpmsign: [], signet: [], shim: [], startup: [], help: [], node: [], stub: [], floor: [] };
  const fresh = (name) => {
    const f = join(dir, `${name}.rpm`);
    cpSync(pkg, f);
    return f;
  };
  process.stderr.write(`bench:rpm: one package (${(statSync(pkg).size / 1024 / 1024).toFixed(1)} MiB), ${rounds} interleaved rounds ...\n`);
  for (let i = 0; i < rounds; i++) {
    const a = fresh(`local-${i}`);
    const b = fresh(`signet-${i}`);
    const c = fresh(`shim-${i}`);
    must('sync', []);
    const local = await timed('rpmsign', ['--define', '_gpg_name Bench RPM', '--define', '__gpg /usr/bin/gpg', '--addsign', a], genv);
    const remote = await timed(signetBin, ['rpm', 'sign', '--key', 'bench-rpm', b], direct);
    const through = await timed('rpmsign', ['--define', `__gpg ${shim}`, '--define', '_gpg_name bench-rpm', '--addsign', c], viaShim);
    const startup = await timed(signetBin, ['--version'], direct);
    const help = await timed(signetBin, ['rpm', 'sign', '--help'], direct);
    const node = await timed(process.execPath, ['-e', '0'], bare);
    const own = await timed('rpmsign', ['--define', `__gpg ${stub}`, '--define', '_gpg_name Bench RPM', '--addsign', fresh(`stub-${i}`)], genv);
    const client = await timed(process.execPath, ['-e', floor], bare);
    if (local.status !== 0 || remote.status !== 0 || through.status !== 0 || startup.status !== 0 || help.status !== 0 || own.status !== 0 || client.status !== 0) throw new Error('single-package signing failed');
    times.rpmsign.push(local.seconds);
    times.signet.push(remote.seconds);
    times.shim.push(through.seconds);
    times.startup.push(startup.seconds);
    times.help.push(help.seconds);
    times.node.push(node.seconds);
    times.stub.push(own.seconds);
    times.floor.push(client.seconds);
  }
  spawnSync('gpgconf', ['--kill', 'all'], { env: genv });
  const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
  const m = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
  process.stdout.write(
    `\n${table([
      ['one package', 'rpmsign (local) s', 'signet rpm sign s', 'x local', 'rpmsign via signet-gpg s', 'x local', 'signet --version s', 'signet rpm sign --help s', 'node -e 0 s'],
      [
        `${(statSync(pkg).size / 1024 / 1024).toFixed(1)} MiB`,
        m.rpmsign.toFixed(3),
        m.signet.toFixed(3),
        `${(m.signet / m.rpmsign).toFixed(2)}x`,
        m.shim.toFixed(3),
        `${(m.shim / m.rpmsign).toFixed(2)}x`,
        m.startup.toFixed(3),
        m.help.toFixed(3),
        m.node.toFixed(3),
      ],
    ])}\n(median of ${rounds} interleaved rounds, start-up included, the CLI run as a user runs it; node -e 0 without NODE_EXTRA_CA_CERTS; goal: each signet path at most 2x local rpmsign, signet --version below 0.1 s)\n`,
  );
  process.stdout.write(
    `${table([
      ['floors (one package)', 'rpmsign, stand-in gpg s', 'node -e 0 s', 'sum s', 'x local', 'node + http + crypto + 1 request s', 'x local'],
      [
        `${(statSync(pkg).size / 1024 / 1024).toFixed(1)} MiB`,
        m.stub.toFixed(3),
        m.node.toFixed(3),
        (m.stub + m.node).toFixed(3),
        `${((m.stub + m.node) / m.rpmsign).toFixed(2)}x`,
        m.floor.toFixed(3),
        `${(m.floor / m.rpmsign).toFixed(2)}x`,
      ],
    ])}\n(rpmsign's own work with a shell script for gpg; node + http + crypto + 1 request: the least any Node client of the server starts and does, no signet code; rpmsign through signet-gpg costs at least the first plus the last)\n`,
  );
  process.stdout.write(`${JSON.stringify({ single_package: { bytes: statSync(pkg).size, rounds, median_s: m, samples_s: times } })}\n`);
  void signet;
}

/**
 * The same batch in pull mode (docs/pull-mode.md): a relay on loopback, a signer of its own (fresh
 * data dir, its own RSA-4096 key) that dials the relay and listens on no port, and the client
 * with SIGNET_ADDR=relay://…, its TLS session running to the signer through the relay.
 */
async function throughRelay({ corpus, env }) {
  const dir = join(work, 'pull');
  const ca = join(dir, 'ca');
  const cli = (args, extra = {}) => must(signetBin, args, { env: { ...env, ...extra } });
  cli(['ca', 'init', '--out', ca]);
  cli(['ca', 'issue', 'relay', '--role', 'relay', '--ip', '127.0.0.1', '--out', ca]);
  cli(['ca', 'issue', 'bench-signer', '--role', 'signer', '--out', ca]);
  const port = await freePort();
  const quiet = { stdio: ['ignore', 'ignore', 'inherit'], env };
  const relay = spawn(signetBin, ['relay', '--listen', `127.0.0.1:${port}`, '--tls-cert', join(ca, 'relay.pem'), '--tls-key', join(ca, 'relay.key'), '--ca', join(ca, 'ca.pem'), '--log-level', 'warn'], quiet);
  const signer = spawn(
    signetBin,
    ['--data', join(dir, 'data'), 'serve', '--pull', `https://127.0.0.1:${port}`, '--tls-cert', join(ca, 'bench-signer.pem'), '--tls-key', join(ca, 'bench-signer.key'), '--ca', join(ca, 'ca.pem'), '--log-level', process.env.BENCH_LOG_LEVEL ?? 'info'],
    quiet,
  );
  try {
    const relayEnv = { SIGNET_ADDR: `relay://127.0.0.1:${port}/bench-signer`, SIGNET_CA_FILE: join(ca, 'ca.pem') };
    for (let i = 0; ; i++) {
      const s = spawnSync(signetBin, ['relay', 'status', '--relay', `https://127.0.0.1:${port}`, '--json'], { encoding: 'utf8', env: { ...env, ...relayEnv } });
      if (s.status === 0 && JSON.parse(s.stdout).signers.length > 0) break;
      if (i > 150) throw new Error('the pull signer did not connect to the relay');
      await new Promise((r) => setTimeout(r, 200));
    }
    const token = readFileSync(join(dir, 'data', 'admin-token'), 'utf8').trim();
    const viaRelay = { ...env, ...relayEnv, SIGNET_TOKEN: token };
    cli(['key', 'create', 'bench-rpm', '--algo', 'rsa4096', '--uid', 'Bench RPM <bench-rpm@example.org>'], viaRelay);
    cpSync(join(work, 'corpus'), join(work, 'relayed'), { recursive: true });
    cpSync(corpus[0], join(work, 'warmup-relay.rpm'));
    must('sync', []);
    cli(['rpm', 'sign', '--key', 'bench-rpm', join(work, 'warmup-relay.rpm')], viaRelay);
    process.stderr.write('bench:rpm: signet rpm sign (timed, through a relay to a pull-mode signer) ...\n');
    const run = await timed(signetBin, ['rpm', 'sign', '--key', 'bench-rpm', '--json', ...rpms(join(work, 'relayed'))], viaRelay);
    if (run.status !== 0) throw new Error(`signet rpm sign through the relay failed: ${run.stdout}`);
    return run;
  } finally {
    relay.kill('SIGTERM');
    signer.kill('SIGTERM');
    await Promise.all([relay, signer].map((c) => new Promise((r) => (c.exitCode !== null ? r() : c.once('exit', r)))));
  }
}

const rpms = (dir) => readdirSync(dir).filter((f) => f.endsWith('.rpm')).map((f) => join(dir, f));

try {
  process.stderr.write(`bench:rpm: building the ${profile} corpus ...\n`);
  must('bash', [corpusScript, join(work, 'corpus'), profile]);
  const corpus = rpms(join(work, 'corpus'));
  const totalBytes = corpus.reduce((a, f) => a + statSync(f).size, 0);

  // Baseline: rpmsign with a local RSA-4096 gpg key.
  const gnupg = join(work, 'gnupg');
  must('mkdir', ['-m', '700', gnupg]);
  const genv = { ...process.env, GNUPGHOME: gnupg };
  must('gpg', ['--batch', '--passphrase', '', '--quick-gen-key', 'Bench RPM <bench-rpm@example.org>', 'rsa4096', 'sign', 'never'], { env: genv });
  cpSync(join(work, 'corpus'), join(work, 'local'), { recursive: true });
  // Flush the copies now: signet fsyncs each package it signs (rpmsign does not), and must not be
  // charged for writing back 165 MB of freshly copied pages.
  must('sync', []);
  process.stderr.write('bench:rpm: rpmsign --addsign (local gpg key) ...\n');
  const local = await timed('rpmsign', ['--define', '_gpg_name Bench RPM', '--define', '__gpg /usr/bin/gpg', '--addsign', ...rpms(join(work, 'local'))], genv);
  if (local.status !== 0) throw new Error('rpmsign failed');
  spawnSync('gpgconf', ['--kill', 'all'], { env: genv });

  // signet: server on loopback; timed client straight to it, bytes counted in a second run.
  const signet = await startSignet();
  try {
    const r = await fetch(`${signet.url}/v1/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${signet.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'bench-rpm', algorithm: 'rsa4096', user_id: 'Bench RPM <bench-rpm@example.org>' }),
    });
    if (r.status !== 201) throw new Error(`key create failed: ${await r.text()}`);
    cpSync(join(work, 'corpus'), join(work, 'signet'), { recursive: true });
    cpSync(join(work, 'corpus'), join(work, 'counted'), { recursive: true });
    // A running server has its key loaded: warm it with one package first (not timed).
    cpSync(corpus[0], join(work, 'warmup.rpm'));
    must('sync', []);
    const direct = { ...process.env, SIGNET_ADDR: signet.url, SIGNET_TOKEN: signet.token };
    const dropExtraCa = process.env.BENCH_DROP_EXTRA_CA === '1';
    const extraCa = direct.NODE_EXTRA_CA_CERTS === undefined ? 'not set' : dropExtraCa ? 'removed from the client environment' : 'set (the launcher defers it)';
    if (dropExtraCa) delete direct.NODE_EXTRA_CA_CERTS;
    must(signetBin, ['rpm', 'sign', '--key', 'bench-rpm', join(work, 'warmup.rpm')], { env: direct });
    process.stderr.write('bench:rpm: signet rpm sign (timed, client straight to the server) ...\n');
    const remote = await timed(signetBin, ['rpm', 'sign', '--key', 'bench-rpm', '--json', ...rpms(join(work, 'signet'))], direct);
    if (remote.status !== 0) throw new Error(`signet rpm sign failed: ${remote.stdout}`);
    // Untimed: the same command on a fresh copy, through a relay that counts the bytes.
    process.stderr.write('bench:rpm: signet rpm sign (untimed, through a counting relay) ...\n');
    const { server, counts, port } = await countingRelay(Number(new URL(signet.url).port));
    const counted = await timed(signetBin, ['rpm', 'sign', '--key', 'bench-rpm', '--json', ...rpms(join(work, 'counted'))], { ...direct, SIGNET_ADDR: `http://127.0.0.1:${port}` });
    server.close();
    if (counted.status !== 0) throw new Error(`signet rpm sign (counted) failed: ${counted.stdout}`);
    // Two keys in one pass (RSA-4096 v4 and Ed25519 v6: the rpm 6 layout, tag 278 and 268), on a
    // fresh copy: the same batches go to both keys' signing routes at once.
    const k2 = await fetch(`${signet.url}/v1/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${signet.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'bench-rpm-v6', algorithm: 'ed25519', profile: 'rfc9580', user_id: 'Bench RPM v6 <bench-rpm-v6@example.org>' }),
    });
    if (k2.status !== 201) throw new Error(`v6 key create failed: ${await k2.text()}`);
    cpSync(join(work, 'corpus'), join(work, 'twokey'), { recursive: true });
    cpSync(corpus[0], join(work, 'warmup2.rpm'));
    must('sync', []);
    must(signetBin, ['rpm', 'sign', '--key', 'bench-rpm', '--key', 'bench-rpm-v6', join(work, 'warmup2.rpm')], { env: direct });
    process.stderr.write('bench:rpm: signet rpm sign --key RSA --key Ed25519-v6 (timed, two signatures per package) ...\n');
    const twoKeys = await timed(signetBin, ['rpm', 'sign', '--key', 'bench-rpm', '--key', 'bench-rpm-v6', '--json', ...rpms(join(work, 'twokey'))], direct);
    if (twoKeys.status !== 0) throw new Error(`signet rpm sign with two keys failed: ${twoKeys.stdout}`);
    const serverPeak = peakRss(signet.child.pid);
    const pub = await (await fetch(`${signet.url}/v1/keys/bench-rpm/public`, { headers: { authorization: `Bearer ${signet.token}` } })).text();
    writeFileSync(join(work, 'bench-rpm.asc'), pub);
    const check = spawnSync('rpmkeys', ['--dbpath', join(work, 'db'), '--import', join(work, 'bench-rpm.asc')]);
    if (check.status !== 0) throw new Error('rpmkeys --import failed');
    // The two-key packages too: Debian 12's rpm finds the RSA signature in tag 268.
    const bad = [...rpms(join(work, 'signet')), ...rpms(join(work, 'twokey'))].filter((f) => spawnSync('rpmkeys', ['--dbpath', join(work, 'db'), '-K', f]).status !== 0);
    if (bad.length > 0) throw new Error(`rpmkeys -K failed for ${bad.length} packages`);

    const mb = (b) => `${(b / 1024 / 1024).toFixed(1)} MiB`;
    process.stdout.write(
      `${table([
        ['packages', 'corpus', 'rpmsign (local) s', 'signet rpm sign s (direct)', 'speed-up', 'bytes sent (relay run)', 'bytes received (relay run)', 'client peak RSS', 'server peak RSS'],
        [String(corpus.length), mb(totalBytes), local.seconds.toFixed(2), remote.seconds.toFixed(2), `${(local.seconds / remote.seconds).toFixed(1)}x`, mb(counts.up), mb(counts.down), mb(remote.peakRss), mb(serverPeak)],
      ])}\n(signet timed straight to the server; bytes counted in a separate, untimed run through a relay; NODE_EXTRA_CA_CERTS ${extraCa})\n`,
    );
    process.stdout.write(`${JSON.stringify({ signet_timed: 'direct to the server', bytes_counted: 'separate untimed run through a relay', node_extra_ca_certs: extraCa, packages: corpus.length, corpus_bytes: totalBytes, rpmsign_s: local.seconds, signet_s: remote.seconds, bytes_sent: counts.up, bytes_received: counts.down, client_peak_rss: remote.peakRss, server_peak_rss: serverPeak })}\n`);

    const relayed = await throughRelay({ corpus, direct: remote.seconds, env: direct });
    process.stdout.write(
      `${table([
        ['packages', 'signet rpm sign s (direct)', 'signet rpm sign s (through a relay)', 'relay / direct'],
        [String(corpus.length), remote.seconds.toFixed(2), relayed.seconds.toFixed(2), `${((relayed.seconds / remote.seconds - 1) * 100).toFixed(1)}%`],
      ])}\n(pull mode: the signer dials a relay on loopback, the client tunnels TLS 1.3 to the signer through it; docs/pull-mode.md)\n`,
    );
    process.stdout.write(`${JSON.stringify({ pull_mode: true, packages: corpus.length, direct_s: remote.seconds, relay_s: relayed.seconds })}\n`);
    process.stdout.write(
      `${table([
        ['packages', 'one key (RSA-4096 v4) s', 'two keys (RSA-4096 v4 + Ed25519 v6) s', 'ratio'],
        [String(corpus.length), remote.seconds.toFixed(2), twoKeys.seconds.toFixed(2), `${(twoKeys.seconds / remote.seconds).toFixed(2)}x`],
      ])}\n(two keys: each batch to both keys' signing routes at once, both signatures written in one pass, rpm 6 layout)\n`,
    );
    process.stdout.write(`${JSON.stringify({ one_key_s: remote.seconds, two_keys_s: twoKeys.seconds })}\n`);

    await singlePackage({ corpus, genv, direct, signet });
  } finally {
    await signet.stop();
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
