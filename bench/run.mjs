// npm run bench: detached signing through the API on loopback, 32 concurrent keep-alive clients,
// 1 KiB artifacts, RSA-4096 and Ed25519, beside the two references measured in the same run:
// `openssl speed -multi 2` (the crypto limit) and bench/bare-server.mjs (the limit for any Node
// HTTP service). Goals (foundation issue): RSA >= 0.8 x openssl, Ed25519 >= 0.7 x bare server.
// This machine is shared and its speed drifts by 10-25% within minutes, so the three are measured
// in BENCH_ROUNDS (3) interleaved rounds (openssl, bare, signet, openssl again; the round's openssl
// figure is the mean of its two), and the ratios are the medians of the per-round ratios; every
// round is printed too. Each server is warmed with
// BENCH_WARM_SECONDS (3) of the same load before its first round.
// Then (bench/policy.mjs) Ed25519 with a role-like token bound to a 20-rule policy vs
// the admin token: goal within 5%. BENCH_POLICY_ONLY=1 runs only that comparison.
// Then (bench/pkcs11.mjs) keys in a SoftHSM2 token beside sealed keys of the same algorithm, and
// SoftHSM2's own signing rate, as ratios. BENCH_PKCS11_ONLY=1 runs only that comparison;
// BENCH_PKCS11=0 skips it.
import { opensslSpeed, runLoad, startBare, startSignet, table } from './lib.mjs';
import { policyComparison } from './policy.mjs';
import { pkcs11Comparison } from './pkcs11.mjs';

const seconds = Number(process.env.BENCH_SECONDS ?? 8);
const rounds = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
const results = {};
const policyOnly = process.env.BENCH_POLICY_ONLY === '1';
const pkcs11Only = process.env.BENCH_PKCS11_ONLY === '1';
const algorithms = policyOnly ? ['ed25519'] : ['rsa4096', 'ed25519'];

// Steady state, as a long-running service is: every server first gets WARM_SECONDS of the same
// load, not measured (V8 optimises hot code only after many calls; signet's request path is
// longer than the bare server's, and at RSA rates a 1 s warm-up covers a few hundred requests).
const warmSeconds = Number(process.env.BENCH_WARM_SECONDS ?? 3);

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

process.stderr.write('bench: signet serve ...\n');
const signet = pkcs11Only ? undefined : await startSignet();
if (signet) {
  try {
    for (const algorithm of algorithms) {
      const name = `bench-${algorithm}`;
      const r = await fetch(`${signet.url}/v1/keys`, {
        method: 'POST',
        headers: { authorization: `Bearer ${signet.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name, algorithm, user_id: `Bench ${algorithm} <bench@example.org>` }),
      });
      if (r.status !== 201) throw new Error(`key create failed: ${r.status} ${await r.text()}`);
    }
    for (const algorithm of policyOnly ? [] : algorithms) {
      const url = `${signet.url}/v1/sign/bench-${algorithm}?name=artifact.bin`;
      // Both servers stay up; the idle one costs nothing while the other is measured.
      const bare = await startBare(algorithm);
      try {
        if (warmSeconds > 0) {
          runLoad(bare.url, { seconds: warmSeconds });
          runLoad(url, { seconds: warmSeconds, token: signet.token });
        }
        const perRound = [];
        for (let round = 1; round <= rounds; round++) {
          process.stderr.write(`bench: ${algorithm} round ${round}/${rounds}: openssl speed -multi 2, bare node:http, signet, openssl ...\n`);
          // openssl before and after the two servers: the round's reference is their mean, so a
          // drift during the round moves the reference too.
          const before = opensslSpeed(3, [algorithm])[algorithm];
          const b = runLoad(bare.url, { seconds });
          const s = runLoad(url, { seconds, token: signet.token });
          const after = opensslSpeed(3, [algorithm])[algorithm];
          const openssl = (before + after) / 2;
          perRound.push({ openssl, openssl_before: before, openssl_after: after, bare: b, signet: s, signet_per_openssl: s.rps / openssl, signet_per_bare: s.rps / b.rps });
        }
        results[algorithm] = perRound;
      } finally {
        await bare.stop();
      }
    }
    process.stderr.write('bench: ed25519, admin token vs role token with a 20-rule policy (interleaved) ...\n');
    results.policy = await policyComparison(signet, 'bench-ed25519', seconds);
  } finally {
    await signet.stop();
  }
}
let pkcs11Rows = [];
if (!policyOnly && process.env.BENCH_PKCS11 !== '0') {
  const compared = await pkcs11Comparison({ algorithms, seconds, rounds, warmSeconds });
  results.pkcs11 = compared.results;
  pkcs11Rows = compared.rows;
}

const f = (x) => (Number.isFinite(x) ? x.toFixed(0) : 'n/a');
const ratio = (a, b) => (a / b).toFixed(2);
const rows = policyOnly || pkcs11Only ? [] : [
  ['algorithm', 'openssl sign/s', 'bare node req/s', 'signet req/s', 'signet p50 ms', 'signet p99 ms', 'signet/openssl', 'signet/bare'],
];
const roundRows = [['algorithm', 'round', 'openssl sign/s (before/after)', 'bare req/s', 'signet req/s', 'signet/openssl', 'signet/bare']];
for (const algorithm of policyOnly || pkcs11Only ? [] : algorithms) {
  const rs = results[algorithm];
  // p50/p99 from the round whose signet throughput is the median one.
  const mid = [...rs].sort((a, b) => a.signet.rps - b.signet.rps)[Math.floor(rs.length / 2)];
  rows.push([
    `${algorithm} (median of ${rs.length})`,
    f(median(rs.map((r) => r.openssl))),
    f(median(rs.map((r) => r.bare.rps))),
    f(median(rs.map((r) => r.signet.rps))),
    mid.signet.p50_ms.toFixed(2),
    mid.signet.p99_ms.toFixed(2),
    median(rs.map((r) => r.signet_per_openssl)).toFixed(2),
    median(rs.map((r) => r.signet_per_bare)).toFixed(2),
  ]);
  rs.forEach((r, i) => roundRows.push([algorithm, String(i + 1), `${f(r.openssl)} (${f(r.openssl_before)}/${f(r.openssl_after)})`, f(r.bare.rps), f(r.signet.rps), r.signet_per_openssl.toFixed(2), r.signet_per_bare.toFixed(2)]));
}
if (rows.length > 0) process.stdout.write(`${table(rows)}\n\n${table(roundRows)}\n\n`);
const p = results.policy;
if (p) {
  const policyRows = [['ed25519 token', 'signet req/s', 'p50 ms', 'p99 ms', 'vs admin']];
  for (const [label, r] of [
    ['admin', p.admin],
    ['role, 20-rule policy', p.role_20_rules],
    ['role, 20 rules, rate on the granting rule', p.role_20_rules_rated],
  ]) {
    policyRows.push([label, f(r.rps), r.p50_ms.toFixed(2), r.p99_ms.toFixed(2), ratio(r.rps, p.admin.rps)]);
  }
  process.stdout.write(`${table(policyRows)}\n`);
}
if (pkcs11Rows.length > 0) process.stdout.write(`\n${table(pkcs11Rows)}\n`);
process.stdout.write(`${JSON.stringify(results)}\n`);
