// bench:midstate — a large release image (1 GiB of random bytes by default) signed by local
// `gpg --detach-sign` and by `signet sign` in midstate mode against a signet server on loopback,
// same key type (RSA-4096: both hash with SHA-512). Bytes on the wire are counted by a TCP relay
// between the client and the server. Every signet signature is checked with `gpg --verify`.
//   node bench/midstate.mjs [SIZE_MIB=1024] [RUNS=3]
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { countingRelay, signetBin, startSignet, table } from './lib.mjs';

const sizeMiB = Number(process.argv[2] ?? 1024);
const runs = Number(process.argv[3] ?? 3);
const work = mkdtempSync(join(tmpdir(), 'signet-bench-midstate-'));

function must(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...options });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return r;
}

/** Wall time of a child process. */
function timed(cmd, args, env) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (status) => resolve({ seconds: (performance.now() - t0) / 1000, status, stdout, stderr }));
  });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

try {
  const image = join(work, 'image.iso');
  process.stderr.write(`bench:midstate: writing ${sizeMiB} MiB of random bytes ...\n`);
  const fd = openSync(image, 'w');
  const chunk = 16 * 1024 * 1024;
  for (let written = 0; written < sizeMiB * 1024 * 1024; written += chunk) writeSync(fd, randomBytes(Math.min(chunk, sizeMiB * 1024 * 1024 - written)));
  closeSync(fd);
  // Both tools read from the page cache: read the file once before timing anything.
  must('cat', [image], { stdio: ['ignore', 'ignore', 'pipe'] });

  const gnupg = join(work, 'gnupg');
  mkdirSync(gnupg, { mode: 0o700 });
  const genv = { ...process.env, GNUPGHOME: gnupg };
  must('gpg', ['--batch', '--passphrase', '', '--quick-gen-key', 'Bench Local <bench-local@example.org>', 'rsa4096', 'sign', 'never'], { env: genv });
  // Warm the agent with one small signature (not timed).
  writeFileSync(join(work, 'warm.txt'), 'warm');
  must('gpg', ['--batch', '--yes', '--detach-sign', join(work, 'warm.txt')], { env: genv });

  const signet = await startSignet(['--log-level', 'warn']);
  const gpgTimes = [];
  const signetTimes = [];
  let counts;
  try {
    const created = await fetch(`${signet.url}/v1/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${signet.token}`, 'content-type': 'application/json' },
      // Midstate mode needs a key that signs neither rpm nor git (docs/security.md).
      body: JSON.stringify({ name: 'bench-image', algorithm: 'rsa4096', user_id: 'Bench Image <bench-image@example.org>', purposes: ['detached', 'sums'] }),
    });
    if (created.status !== 201) throw new Error(`key create failed: ${await created.text()}`);
    const pub = await (await fetch(`${signet.url}/v1/keys/bench-image/public`, { headers: { authorization: `Bearer ${signet.token}` } })).text();
    must('gpg', ['--batch', '--import'], { env: genv, input: pub });
    const senv = { ...process.env, SIGNET_TOKEN: signet.token, SIGNET_ADDR: signet.url };
    // The server's key is loaded by a first signature (not timed).
    must(process.execPath, [signetBin, 'sign', '--key', 'bench-image', '--midstate-threshold', '0', join(work, 'warm.txt')], { env: senv });

    // Runs alternate between the tools so that both see the same background load.
    for (let i = 0; i < runs; i++) {
      process.stderr.write(`bench:midstate: run ${i + 1}/${runs}: gpg --detach-sign ...\n`);
      const local = await timed('gpg', ['--batch', '--yes', '--detach-sign', '-o', join(work, 'local.sig'), image], genv);
      if (local.status !== 0) throw new Error(`gpg --detach-sign failed: ${local.stderr}`);
      gpgTimes.push(local.seconds);

      process.stderr.write(`bench:midstate: run ${i + 1}/${runs}: signet sign (midstate) ...\n`);
      const { server, counts: c, port } = await countingRelay(Number(new URL(signet.url).port));
      const r = await timed(process.execPath, [signetBin, 'sign', '--key', 'bench-image', '--json', '-o', join(work, 'signet.sig'), image], { ...senv, SIGNET_ADDR: `http://127.0.0.1:${port}` });
      server.close();
      if (r.status !== 0) throw new Error(`signet sign failed: ${r.stderr}`);
      const out = JSON.parse(r.stdout);
      if (out.mode !== 'midstate') throw new Error(`signet sign did not use midstate mode: ${r.stdout}`);
      signetTimes.push(r.seconds);
      counts = { ...c, json_body: out.bytes_sent };
      must('gpg', ['--verify', join(work, 'local.sig'), image], { env: genv });
      must('gpg', ['--verify', join(work, 'signet.sig'), image], { env: genv });
    }
  } finally {
    await signet.stop();
  }

  const g = median(gpgTimes);
  const s = median(signetTimes);
  process.stdout.write(
    `${table([
      ['image', 'gpg --detach-sign s (median)', 'signet sign midstate s (median)', 'signet / gpg', 'request bytes', 'response bytes', 'JSON body bytes'],
      [`${sizeMiB} MiB`, g.toFixed(2), s.toFixed(2), `${(s / g).toFixed(2)}`, String(counts.up), String(counts.down), String(counts.json_body)],
    ])}\n`,
  );
  process.stdout.write(
    `${JSON.stringify({ image_mib: sizeMiB, runs, gpg_s: gpgTimes, signet_s: signetTimes, request_bytes: counts.up, response_bytes: counts.down, json_body_bytes: counts.json_body, load_average: readFileSync('/proc/loadavg', 'utf8').trim() })}\n`,
  );
} finally {
  spawnSync('gpgconf', ['--kill', 'all'], { env: { ...process.env, GNUPGHOME: join(work, 'gnupg') } });
  rmSync(work, { recursive: true, force: true });
}
