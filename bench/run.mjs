// npm run bench: detached signing through the API on loopback, 32 concurrent keep-alive clients,
// 1 KiB artifacts, RSA-4096 and Ed25519, beside the two references measured in the same run:
// `openssl speed -multi 2` (the crypto limit) and bench/bare-server.mjs (the limit for any Node
// HTTP service). Goals (foundation issue): RSA >= 0.8 x openssl, Ed25519 >= 0.7 x bare server.
import { opensslSpeed, runLoad, startBare, startSignet, table } from './lib.mjs';

const seconds = Number(process.env.BENCH_SECONDS ?? 8);
const results = {};

process.stderr.write('bench: openssl speed -multi 2 ...\n');
results.openssl = opensslSpeed(3);

for (const algorithm of ['rsa4096', 'ed25519']) {
  process.stderr.write(`bench: bare node:http server, ${algorithm} ...\n`);
  const bare = await startBare(algorithm);
  results[`bare_${algorithm}`] = runLoad(bare.url, { seconds });
  await bare.stop();
}

process.stderr.write('bench: signet serve ...\n');
const signet = await startSignet();
try {
  for (const algorithm of ['rsa4096', 'ed25519']) {
    const name = `bench-${algorithm}`;
    const r = await fetch(`${signet.url}/v1/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${signet.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name, algorithm, user_id: `Bench ${algorithm} <bench@example.org>` }),
    });
    if (r.status !== 201) throw new Error(`key create failed: ${r.status} ${await r.text()}`);
    process.stderr.write(`bench: signet ${algorithm} ...\n`);
    results[`signet_${algorithm}`] = runLoad(`${signet.url}/v1/sign/${name}?name=artifact.bin`, { seconds, token: signet.token });
  }
} finally {
  await signet.stop();
}

const f = (x) => (Number.isFinite(x) ? x.toFixed(0) : 'n/a');
const ratio = (a, b) => (a / b).toFixed(2);
const rows = [
  ['algorithm', 'openssl sign/s', 'bare node req/s', 'signet req/s', 'signet p50 ms', 'signet p99 ms', 'signet/openssl', 'signet/bare'],
];
for (const algorithm of ['rsa4096', 'ed25519']) {
  const s = results[`signet_${algorithm}`];
  const b = results[`bare_${algorithm}`];
  const o = results.openssl[algorithm];
  rows.push([algorithm, f(o), f(b.rps), f(s.rps), s.p50_ms.toFixed(2), s.p99_ms.toFixed(2), ratio(s.rps, o), ratio(s.rps, b.rps)]);
}
process.stdout.write(`${table(rows)}\n`);
process.stdout.write(`${JSON.stringify(results)}\n`);
