// Policy overhead (docs/performance.md): signing throughput with a role-like token bound to a 20-rule policy
// vs the admin token, on the same server and key, in interleaved short runs (ABBA order) so
// drift on a shared machine hits both. The granting rule is the LAST of the 20 (every request
// walks all rules), with name globs, source CIDRs and mode; the 19 others name other keys, kinds
// and names. A third figure: the same policy with a rate on the granting rule (one atomic counter
// update in the store per signature). Goal: role token within 5% of the admin token.
import { runLoad } from './lib.mjs';

export function twentyRulePolicy(key, { rate } = {}) {
  const kinds = ['detached', 'clearsign', 'rpm', 'yum', 'apt', 'pacman', 'sums', 'git'];
  const lines = ['rules:'];
  for (let i = 0; i < 19; i++) {
    lines.push(
      `  - keys: ['team-${i}-*', 'other-${i}']`,
      `    kinds: [${kinds[i % kinds.length]}, ${kinds[(i + 3) % kinds.length]}]`,
      `    names: ['pkg-${i}-*', 'release-${i}-[0-9]*.tar.gz', '**/nightly-${i}/*']`,
      `    cidrs: [10.${i}.0.0/16, '2001:db8:${i.toString(16)}::/48']`,
      ...(i % 3 === 0 ? [`    rate: ${100 + i}/1h`] : []),
      '    mode: [content]',
    );
  }
  lines.push(
    `  - keys: ['${key}']`,
    '    kinds: [detached, sums]',
    "    names: ['artifact.*', 'release-*.tar.gz']",
    "    cidrs: [10.0.0.0/8, 127.0.0.0/8, '::1/128']",
    ...(rate ? [`    rate: ${rate}`] : []),
    '    mode: [content]',
  );
  return `${lines.join('\n')}\n`;
}

async function call(signet, method, path, body) {
  const r = await fetch(`${signet.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${signet.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = await r.json();
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(json)}`);
  return json;
}

async function roleToken(signet, policyName, text) {
  await call(signet, 'PUT', `/v1/sys/policies/${policyName}`, { policy: text });
  const { token } = await call(signet, 'POST', '/v1/auth/token/create', { policies: [policyName], ttl: '2h', display_name: `bench ${policyName}` });
  return token;
}

const mean = (runs, field) => runs.reduce((s, r) => s + r[field], 0) / runs.length;

export async function policyComparison(signet, key, seconds) {
  const role = await roleToken(signet, 'bench-role', twentyRulePolicy(key));
  const rated = await roleToken(signet, 'bench-role-rated', twentyRulePolicy(key, { rate: '100000000/1h' }));
  const url = `${signet.url}/v1/sign/${key}?name=artifact.bin`;
  // ABBA order over several short runs: a load trend on the shared machine hits both sides alike.
  const pairs = Number(process.env.BENCH_POLICY_PAIRS ?? 4);
  const each = Math.max(2, Math.round(seconds / 2));
  const admin = [];
  const roleRuns = [];
  for (let i = 0; i < pairs; i++) {
    const order = i % 2 === 0 ? ['admin', 'role'] : ['role', 'admin'];
    for (const who of order) {
      if (who === 'admin') admin.push(runLoad(url, { seconds: each, token: signet.token }));
      else roleRuns.push(runLoad(url, { seconds: each, token: role }));
    }
  }
  const ratedRun = runLoad(url, { seconds, token: rated });
  for (const r of [...admin, ...roleRuns, ratedRun]) if (r.errors > 0) throw new Error(`policy bench: ${r.errors} failed requests`);
  const summary = (runs) => ({ rps: mean(runs, 'rps'), p50_ms: mean(runs, 'p50_ms'), p99_ms: mean(runs, 'p99_ms'), runs: runs.map((r) => Math.round(r.rps)) });
  return { admin: summary(admin), role_20_rules: summary(roleRuns), role_20_rules_rated: summary([ratedRun]) };
}
