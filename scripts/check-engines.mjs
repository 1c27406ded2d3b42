// The package's Node requirement matches its dependency tree: every package in
// package-lock.json that declares `engines.node` must accept the oldest Node that package.json
// promises (its `engines.node` floor, e.g. ">=20.19" -> 20.19.0), or `npm ci` on that Node warns
// EBADENGINE and the dependency may not run there. Run: `node scripts/check-engines.mjs [DIR]`
// (exit 1 and one line per mismatch); test/engines.test.ts runs it on the lockfile.
// Evaluates the subset of semver ranges npm packages use for engines (comparators, ^, ~, x,
// ||, space = and, hyphen ranges); anything else is reported as unreadable, never passed.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** [major, minor, patch] of a (partial) version; missing or x parts are null. */
function parts(v) {
  const m = /^v?(\d+|[xX*])(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?(?:-[0-9A-Za-z.-]+)?$/.exec(v);
  if (!m) throw new Error(`unreadable version ${JSON.stringify(v)}`);
  return [m[1], m[2], m[3]].map((p) => (p === undefined || /^[xX*]$/.test(p) ? null : Number(p)));
}

function cmp(a, b) {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  return 0;
}

const floor = (p) => p.map((n) => n ?? 0);

/** The smallest version above every version matching the partial `p` (1.2 -> 1.3.0). */
function above(p) {
  const k = p.findIndex((n) => n === null);
  if (k === -1) return [p[0], p[1], p[2] + 1];
  if (k === 0) return [Infinity, 0, 0];
  const out = floor(p);
  out[k - 1] += 1;
  for (let i = k; i < 3; i++) out[i] = 0;
  return out;
}

/** One comparator as [low inclusive, high exclusive] bounds on v. */
function satisfiesComparator(v, c) {
  const m = /^(>=|<=|>|<|=|\^|~)?\s*(.+)$/.exec(c);
  if (!m) throw new Error(`unreadable comparator ${JSON.stringify(c)}`);
  const op = m[1] ?? '';
  const p = parts(m[2]);
  switch (op) {
    case '>=': return cmp(v, floor(p)) >= 0;
    case '>': return p.includes(null) ? cmp(v, above(p)) >= 0 : cmp(v, p) > 0;
    case '<': return cmp(v, floor(p)) < 0;
    case '<=': return p.includes(null) ? cmp(v, above(p)) < 0 : cmp(v, p) <= 0;
    case '~': return cmp(v, floor(p)) >= 0 && cmp(v, above(p[1] === null ? [p[0], null, null] : [p[0], p[1], null])) < 0;
    case '^': {
      const f = floor(p);
      const upper = f[0] > 0 || p[1] === null ? [f[0] + 1, 0, 0] : f[1] > 0 || p[2] === null ? [0, f[1] + 1, 0] : [0, 0, f[2] + 1];
      return cmp(v, f) >= 0 && cmp(v, upper) < 0;
    }
    default: return cmp(v, floor(p)) >= 0 && cmp(v, above(p)) < 0;
  }
}

/** Whether version `version` (full x.y.z) satisfies the npm range `range`. */
export function satisfies(version, range) {
  const v = parts(version);
  if (v.includes(null)) throw new Error(`not a full version ${version}`);
  return range.split('||').some((alt) => {
    const s = alt.trim();
    if (s === '' || s === '*') return true;
    const hyphen = /^(\S+)\s+-\s+(\S+)$/.exec(s);
    if (hyphen) return satisfiesComparator(v, `>=${hyphen[1]}`) && (parts(hyphen[2]).includes(null) ? cmp(v, above(parts(hyphen[2]))) < 0 : satisfiesComparator(v, `<=${hyphen[2]}`));
    return s.replace(/(>=|<=|>|<|=|\^|~)\s+/g, '$1').split(/\s+/).every((c) => satisfiesComparator(v, c));
  });
}

/** The oldest Node a `>=X.Y[.Z]` (or `^X.Y`) engines range admits, as x.y.z. */
export function minimumNode(range) {
  const m = /^\s*(?:>=|\^)\s*v?(\d+)(?:\.(\d+))?(?:\.(\d+))?\s*$/.exec(range);
  if (!m) throw new Error(`package.json engines.node must be a ">=X.Y" floor, not ${JSON.stringify(range)}`);
  return `${m[1]}.${m[2] ?? 0}.${m[3] ?? 0}`;
}

/** Every lockfile package whose engines.node refuses `node`: [{ name, version, required }]. */
export function engineMismatches(lock, node) {
  const out = [];
  for (const [path, pkg] of Object.entries(lock.packages ?? {})) {
    if (path === '') continue;
    const required = pkg.engines?.node;
    if (typeof required !== 'string') continue;
    let ok;
    try {
      ok = satisfies(node, required);
    } catch {
      ok = false;
    }
    if (!ok) out.push({ name: path.replace(/^.*node_modules\//, ''), version: pkg.version, required });
  }
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  // The repository, or the directory given (a scratch copy whose lockfile was regenerated).
  const root = process.argv[2] !== undefined ? join(resolve(process.argv[2]), '/') : fileURLToPath(new URL('../', import.meta.url));
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'));
  const node = minimumNode(manifest.engines.node);
  const bad = engineMismatches(lock, node);
  for (const b of bad) process.stderr.write(`signet: ${b.name}@${b.version} wants Node ${b.required}; package.json promises ${manifest.engines.node} (ENGINE_MISMATCH)\n`);
  process.exit(bad.length === 0 ? 0 : 1);
}
