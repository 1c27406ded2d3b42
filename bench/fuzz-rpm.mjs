// Mutation fuzz of the RPM parser and signature-header rebuild (docs/formats.md "RPM"), run as
// a benchmark-style script, not in `npm test`: FUZZ_COUNT inputs (default 1,000,000) derived from
// real rpmbuild output, 1–8 byte changes (half inside the two index areas), sometimes truncated.
// Any throw other than a typed RPM/OpenPGP error, or a case slower than FUZZ_CASE_MS, is a
// finding: the input is saved and the script exits 1. Usage: node bench/fuzz-rpm.mjs (after build)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exerciseRpmPrefix, parseRpmPrefix, rpmPrefixLength } from '../dist/rpm/index.js';

const count = Number(process.env.FUZZ_COUNT ?? 1_000_000);
const caseLimitMs = Number(process.env.FUZZ_CASE_MS ?? 250);
const corpusScript = process.env.SIGNET_CORPUS_SCRIPT ?? fileURLToPath(new URL('../scripts/make-rpm-corpus.sh', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'signet-fuzz-rpm-'));

// A deterministic PRNG (xorshift32) so a finding can be replayed from its case number.
let state = Number(process.env.FUZZ_SEED ?? 0x9e3779b9) >>> 0;
const rand = () => {
  state ^= state << 13;
  state >>>= 0;
  state ^= state >>> 17;
  state ^= state << 5;
  state >>>= 0;
  return state / 0x100000000;
};
const randInt = (n) => Math.floor(rand() * n);

try {
  const r = spawnSync('bash', [corpusScript, join(work, 'corpus'), 'small'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`corpus: ${r.stderr}`);
  const seeds = readdirSync(join(work, 'corpus')).filter((f) => f.endsWith('.rpm')).map((f) => {
    const bytes = readFileSync(join(work, 'corpus', f));
    const len = rpmPrefixLength(bytes);
    const prefix = Buffer.from(bytes.subarray(0, len.length));
    const layout = parseRpmPrefix(prefix);
    // The two index areas: 16-byte entries after each header's 16-byte intro.
    const sigIndex = [96 + 16, 96 + 16 + layout.signatureHeader.entries.length * 16];
    const mainIndex = [layout.headerOffset + 16, layout.headerOffset + 16 + layout.header.entries.length * 16];
    return { name: f, prefix, sigIndex, mainIndex };
  });
  // A real signature packet for the rebuild path: gpg over the first seed's main header.
  const gnupg = join(work, 'gnupg');
  spawnSync('mkdir', ['-m', '700', gnupg]);
  const env = { ...process.env, GNUPGHOME: gnupg };
  spawnSync('gpg', ['--batch', '--passphrase', '', '--quick-gen-key', 'Fuzz <fuzz@example.org>', 'ed25519', 'sign', 'never'], { env });
  const first = parseRpmPrefix(seeds[0].prefix);
  const packet = spawnSync('gpg', ['--batch', '--detach-sign', '-o', '-'], { env, input: first.header.bytes }).stdout;
  spawnSync('gpgconf', ['--kill', 'all'], { env });
  const probe = packet.length > 0 ? { packet, algorithm: 'ed25519' } : undefined;

  const outcomes = new Map();
  let slowest = 0;
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const seed = seeds[i % seeds.length];
    const input = Buffer.from(seed.prefix);
    const edits = 1 + randInt(8);
    for (let e = 0; e < edits; e++) {
      const area = rand() < 0.5 ? (rand() < 0.5 ? seed.sigIndex : seed.mainIndex) : [0, input.length];
      const at = area[0] + randInt(Math.max(1, area[1] - area[0]));
      input[at] = rand() < 0.3 ? [0x00, 0xff, 0x7f, 0x80][randInt(4)] : randInt(256);
    }
    const candidate = rand() < 0.05 ? input.subarray(0, randInt(input.length)) : input;
    const t0 = performance.now();
    let outcome;
    try {
      outcome = exerciseRpmPrefix(candidate, probe, { maxHeaderBytes: 16 * 1024 * 1024 });
    } catch (err) {
      const file = join(tmpdir(), `signet-fuzz-finding-${i}.bin`);
      writeFileSync(file, candidate);
      process.stderr.write(`fuzz-rpm: case ${i} threw ${err?.name}: ${err?.message} (input saved to ${file})\n`);
      process.exit(1);
    }
    const ms = performance.now() - t0;
    slowest = Math.max(slowest, ms);
    if (ms > caseLimitMs) {
      const file = join(tmpdir(), `signet-fuzz-slow-${i}.bin`);
      writeFileSync(file, candidate);
      process.stderr.write(`fuzz-rpm: case ${i} took ${ms.toFixed(1)} ms (input saved to ${file})\n`);
      process.exit(1);
    }
    const key = outcome.ok ? `ok${outcome.inPlace === null ? '' : outcome.inPlace ? ' in place' : ' grown'}` : outcome.code;
    outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    if (process.stderr.isTTY && i % 50_000 === 0) process.stderr.write(`\rfuzz-rpm: ${i}/${count}`);
  }
  const seconds = (performance.now() - started) / 1000;
  const rss = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
  process.stdout.write(
    `${JSON.stringify({ inputs: count, seconds: Number(seconds.toFixed(1)), per_second: Math.round(count / seconds), slowest_ms: Number(slowest.toFixed(2)), peak_rss_mib: rss ? Math.round(Number(rss) / 1024) : null, outcomes: Object.fromEntries(outcomes) })}\n`,
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
