// PKCS#11 signing beside sealed software keys (docs/performance.md, docs/key-backends.md): one
// signet server with a throwaway SoftHSM2 token, a sealed key and a token key per algorithm, the
// same load (bench/load.mjs) on both in interleaved rounds, and SoftHSM2's own signing rate
// through pkcs11js (bench/pkcs11-raw.mjs) as the token's floor. Ratios: token/sealed (what moving
// a key into SoftHSM costs) and token/raw (what signet adds to the token's own cost).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { root, runLoad, startSignet } from './lib.mjs';

const MODULE = process.env.BENCH_PKCS11_MODULE ?? '/usr/lib/softhsm/libsofthsm2.so';
const SESSIONS = Number(process.env.BENCH_PKCS11_SESSIONS ?? 4);

function softhsm() {
  const dir = mkdtempSync(join(tmpdir(), 'signet-bench-softhsm-'));
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${dir}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  const pin = randomBytes(8).toString('hex');
  const pinFile = join(dir, 'pin');
  writeFileSync(pinFile, `${pin}\n`, { mode: 0o600 });
  const env = { ...process.env, SOFTHSM2_CONF: conf };
  for (const label of ['bench', 'bench-raw']) {
    const r = spawnSync('softhsm2-util', ['--init-token', '--free', '--label', label, '--pin', pin, '--so-pin', randomBytes(8).toString('hex')], { env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error('softhsm2-util --init-token failed (is softhsm2 installed?)');
  }
  return { dir, conf, pinFile, env: { SOFTHSM2_CONF: conf } };
}

function raw(hsm, algorithm, seconds) {
  const r = spawnSync(process.execPath, [join(root, 'bench', 'pkcs11-raw.mjs'), MODULE, 'bench-raw', hsm.pinFile, algorithm, String(seconds), String(SESSIONS)], {
    env: { ...process.env, ...hsm.env },
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`pkcs11-raw failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()).ops_per_s;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

export async function pkcs11Comparison({ algorithms, seconds, rounds, warmSeconds }) {
  const hsm = softhsm();
  const settings = join(hsm.dir, 'signet.yaml');
  writeFileSync(settings, `keys:\n  pkcs11:\n    module: ${MODULE}\n    token_label: bench\n    pin_file: ${hsm.pinFile}\n    sessions: ${SESSIONS}\n`);
  const signet = await startSignet(['--config', settings], hsm.env);
  const results = {};
  try {
    // Every key first: a keep-alive connection left idle through a round is closed by the server.
    for (const algorithm of algorithms) {
      for (const backend of ['sealed', 'pkcs11']) {
        const r = await fetch(`${signet.url}/v1/keys`, {
          method: 'POST',
          headers: { authorization: `Bearer ${signet.token}`, 'content-type': 'application/json', connection: 'close' },
          body: JSON.stringify({ name: `bench-${backend}-${algorithm}`, algorithm, backend, user_id: `Bench ${backend} ${algorithm} <bench@example.org>` }),
        });
        if (r.status !== 201) throw new Error(`key create failed: ${r.status} ${await r.text()}`);
      }
    }
    for (const algorithm of algorithms) {
      const url = (backend) => `${signet.url}/v1/sign/bench-${backend}-${algorithm}?name=artifact.bin`;
      if (warmSeconds > 0) for (const backend of ['sealed', 'pkcs11']) runLoad(url(backend), { seconds: warmSeconds, token: signet.token });
      const perRound = [];
      for (let round = 1; round <= rounds; round++) {
        process.stderr.write(`bench: pkcs11 ${algorithm} round ${round}/${rounds}: sealed, pkcs11, softhsm raw ...\n`);
        const sealed = runLoad(url('sealed'), { seconds, token: signet.token });
        const token = runLoad(url('pkcs11'), { seconds, token: signet.token });
        const floor = raw(hsm, algorithm, seconds);
        perRound.push({ sealed, pkcs11: token, softhsm_raw: floor, pkcs11_per_sealed: token.rps / sealed.rps, pkcs11_per_raw: token.rps / floor });
      }
      results[algorithm] = perRound;
    }
  } finally {
    await signet.stop();
    rmSync(hsm.dir, { recursive: true, force: true });
  }
  const rows = [['algorithm', 'sealed req/s', 'pkcs11 req/s', 'pkcs11 p50/p99 ms', 'softhsm raw sign/s', 'pkcs11/sealed', 'pkcs11/softhsm raw']];
  for (const [algorithm, rs] of Object.entries(results)) {
    const mid = [...rs].sort((a, b) => a.pkcs11.rps - b.pkcs11.rps)[Math.floor(rs.length / 2)];
    rows.push([
      `${algorithm} (median of ${rs.length})`,
      median(rs.map((r) => r.sealed.rps)).toFixed(0),
      median(rs.map((r) => r.pkcs11.rps)).toFixed(0),
      `${mid.pkcs11.p50_ms.toFixed(2)}/${mid.pkcs11.p99_ms.toFixed(2)}`,
      median(rs.map((r) => r.softhsm_raw)).toFixed(0),
      median(rs.map((r) => r.pkcs11_per_sealed)).toFixed(2),
      median(rs.map((r) => r.pkcs11_per_raw)).toFixed(2),
    ]);
  }
  return { results, rows };
}
