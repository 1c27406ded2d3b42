// npm run bench: detached signing through the API on loopback, 32 concurrent keep-alive clients,
// 1 KiB artifacts, RSA-4096 and Ed25519, beside the two references measured in the same run:
// `openssl speed -multi 2` (the crypto limit) and bench/bare-server.mjs (the limit for any Node
// HTTP service). Goals (foundation issue): RSA >= 0.8 x openssl, Ed25519 >= 0.7 x bare server.
// Each server is warmed with BENCH_WARM_SECONDS (3) of the same load before it is measured.
// Then (issue 4, bench/policy.mjs) Ed25519 with a role-like token bound to a 20-rule policy vs
// the admin token: goal within 5%. BENCH_POLICY_ONLY=1 runs only that comparison.
import { opensslSpeed, runLoad, startBare, startSignet, table } from './lib.mjs';
import { policyComparison } from './policy.mjs';

const seconds = Number(process.env.BENCH_SECONDS ?? 8);
const results = {};
const policyOnly = process.env.BENCH_POLICY_ONLY === '1';
const algorithms = policyOnly ? ['ed25519'] : ['rsa4096', 'ed25519'];

if (!policyOnly) {
  process.stderr.write('bench: openssl speed -multi 2 ...\n');
  results.openssl = opensslSpeed(3);
}

// Steady state, as a long-running service is: every server first gets WARM_SECONDS of the same
// load, not measured (V8 optimises hot code only after many calls; signet's request path is
// longer than the bare server's, and at RSA rates a 1 s warm-up covers a few hundred requests).
const warmSeconds = Number(process.env.BENCH_WARM_SECONDS ?? 3);

for (const algorithm of policyOnly ? [] : algorithms) {
  process.stderr.write(`bench: bare node:http server, ${algorithm} ...\n`);
  const bare = await startBare(algorithm);
  if (warmSeconds > 0) runLoad(bare.url, { seconds: warmSeconds });
  results[`bare_${algorithm}`] = runLoad(bare.url, { seconds });
  await bare.stop();
}

process.stderr.write('bench: signet serve ...\n');
const signet = await startSignet();
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
    process.stderr.write(`bench: signet ${algorithm} ...\n`);
    if (warmSeconds > 0) runLoad(url, { seconds: warmSeconds, token: signet.token });
    results[`signet_${algorithm}`] = runLoad(url, { seconds, token: signet.token });
  }
  process.stderr.write('bench: ed25519, admin token vs role token with a 20-rule policy (interleaved) ...\n');
  results.policy = await policyComparison(signet, 'bench-ed25519', seconds);
} finally {
  await signet.stop();
}

const f = (x) => (Number.isFinite(x) ? x.toFixed(0) : 'n/a');
const ratio = (a, b) => (a / b).toFixed(2);
const rows = policyOnly ? [] : [
  ['algorithm', 'openssl sign/s', 'bare node req/s', 'signet req/s', 'signet p50 ms', 'signet p99 ms', 'signet/openssl', 'signet/bare'],
];
for (const algorithm of policyOnly ? [] : algorithms) {
  const s = results[`signet_${algorithm}`];
  const b = results[`bare_${algorithm}`];
  const o = results.openssl[algorithm];
  rows.push([algorithm, f(o), f(b.rps), f(s.rps), s.p50_ms.toFixed(2), s.p99_ms.toFixed(2), ratio(s.rps, o), ratio(s.rps, b.rps)]);
}
if (rows.length > 0) process.stdout.write(`${table(rows)}\n\n`);
const p = results.policy;
const policyRows = [['ed25519 token', 'signet req/s', 'p50 ms', 'p99 ms', 'vs admin']];
for (const [label, r] of [
  ['admin', p.admin],
  ['role, 20-rule policy', p.role_20_rules],
  ['role, 20 rules, rate on the granting rule', p.role_20_rules_rated],
]) {
  policyRows.push([label, f(r.rps), r.p50_ms.toFixed(2), r.p99_ms.toFixed(2), ratio(r.rps, p.admin.rps)]);
}
process.stdout.write(`${table(policyRows)}\n`);
process.stdout.write(`${JSON.stringify(results)}\n`);
