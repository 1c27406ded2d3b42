// The plain `signet rpm sign` reader (rpm-sign-argv.ts) against commander, the parser it stands in
// for: on every generated command line it either declines, or hands the action exactly what
// commander hands it (files, sign's options, the program's options). fast-check prints the seed of
// a failing case; FC_SEED=N replays it.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Command } from './commander.js';
import { parseRpmSignArgv, type RpmSignCommandLine } from './rpm-sign-argv.js';
import { baseProgram, rpmProgram } from './signet.js';

/** What commander gives `rpm sign`'s action for `args`, or undefined when it refuses the line. */
async function viaCommander(args: string[]): Promise<RpmSignCommandLine | undefined> {
  const program = rpmProgram(baseProgram());
  program.configureOutput({ writeOut: () => {}, writeErr: () => {}, outputError: () => {} });
  const sign = program.commands.find((c) => c.name() === 'rpm')!.commands.find((c) => c.name() === 'sign')!;
  let got: RpmSignCommandLine | undefined;
  for (const c of [program, ...program.commands, sign]) c.exitOverride();
  sign.action((files: string[], opts: RpmSignCommandLine['opts'], cmd: Command) => {
    got = { files, opts: { ...opts }, globals: { ...cmd.parent!.parent!.opts() } };
  });
  try {
    await program.parseAsync(['node', 'signet', ...args]);
  } catch {
    return undefined;
  }
  return got;
}

const file = fc.constantFrom('a.rpm', 'dir/b.rpm', '-', 'rpm', 'sign', 'x y.rpm');
const value = fc.oneof({ weight: 6, arbitrary: fc.constantFrom('k1', 'k2', 'http://127.0.0.1:9', '30s', 'rpm') }, { weight: 1, arbitrary: fc.constantFrom('', '-x', '--json') });
const withValue = fc.constantFrom('--key', '--approval', '--addr', '--token', '--data', '--ca-file', '--timeout');
const flag = fc.constantFrom('--json', '--replace', '--rpmv6', '--no-wait');
/** Options and forms the reader must leave to commander (or that commander refuses). */
const odd = fc.constantFrom('--wait', '--help', '-h', '-V', '--version', '--', '--bogus', '--json=1', '--replace=yes', '-k', '--ke', 'verify', 'help');
const pair = fc.tuple(withValue, value).map(([o, v]) => [o, v]);
const joined = fc.tuple(withValue, value).map(([o, v]) => [`${o}=${v}`]);
const token = fc.oneof(
  { weight: 4, arbitrary: file.map((f) => [f]) },
  { weight: 4, arbitrary: pair },
  { weight: 1, arbitrary: joined },
  { weight: 3, arbitrary: flag.map((f) => [f]) },
  { weight: 1, arbitrary: odd.map((o) => [o]) },
  { weight: 1, arbitrary: withValue.map((o) => [o]) },
);
const globalOption = fc.oneof(fc.tuple(fc.constantFrom('--addr', '--token', '--data', '--ca-file', '--timeout'), value).map(([o, v]) => [o, v]), fc.constant(['--json']));
/** Mostly `[globals] rpm sign …`; sometimes the words are moved, dropped or doubled. */
const line = fc
  .tuple(
    fc.array(globalOption, { maxLength: 3 }),
    fc.constantFrom(['rpm', 'sign'], ['rpm', 'sign'], ['rpm', 'sign'], ['rpm', 'sign'], ['rpm'], ['sign', 'rpm'], ['rpm', 'verify'], []),
    fc.array(token, { maxLength: 8 }),
    fc.boolean(),
  )
  .map(([g, words, rest, complete]) => [...g.flat(), ...words, ...rest.flat(), ...(complete ? ['--key', 'k9', 'z.rpm'] : [])]);

describe('the plain rpm sign command line', () => {
  it('reads a usual line as commander does', async () => {
    const args = ['--addr', 'http://127.0.0.1:9', 'rpm', 'sign', '--key', 'a', 'x.rpm', '--key=b', '--json', '--no-wait', 'y.rpm', '--timeout', '5s'];
    const fast = parseRpmSignArgv(args);
    expect(fast).toEqual({
      globals: { addr: 'http://127.0.0.1:9', json: true, timeout: '5s' },
      files: ['x.rpm', 'y.rpm'],
      opts: { key: ['a', 'b'], wait: false },
    });
    expect(fast).toEqual(await viaCommander(args));
  });

  it('leaves help, usage errors and unusual forms to commander', () => {
    for (const args of [
      ['rpm', 'sign', '--help'],
      ['rpm', 'sign', 'x.rpm'],
      ['rpm', 'sign', '--key', 'k'],
      ['rpm', 'sign', '--key'],
      ['rpm', 'sign', '--key', '--replace', 'x.rpm'],
      ['rpm', 'sign', '--key', 'k', '--bogus', 'x.rpm'],
      ['rpm', 'sign', '--key', 'k', '--', 'x.rpm'],
      ['--key', 'k', 'rpm', 'sign', 'x.rpm'],
      ['rpm', '--key', 'k', 'sign', 'x.rpm'],
      ['rpm', 'verify', 'x.rpm'],
      ['-V'],
      [],
    ]) {
      expect(parseRpmSignArgv(args), args.join(' ')).toBeUndefined();
    }
  });

  it('never reads a line differently from commander (generated lines)', async () => {
    let taken = 0;
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(line, async (args) => {
        runs++;
        const fast = parseRpmSignArgv(args);
        if (fast === undefined) return;
        taken++;
        expect(fast).toEqual(await viaCommander(args));
      }),
      { numRuns: 2000, ...(process.env.FC_SEED ? { seed: Number(process.env.FC_SEED) } : {}) },
    );
    // The property says something only if the reader took a good share of the lines.
    expect(taken, `${taken} of ${runs} lines taken`).toBeGreaterThan(runs / 10);
  });

  it('takes every well-formed line commander accepts', async () => {
    // Values that do not look like options: the lines the reader is for.
    const plainGlobal = fc.oneof(fc.tuple(fc.constantFrom('--addr', '--token', '--data', '--ca-file', '--timeout'), fc.constantFrom('k1', 'http://127.0.0.1:9', '30s', 'rpm', '')).map(([o, v]) => [o, v]), fc.constant(['--json']));
    const plain = fc
      .tuple(fc.array(plainGlobal, { maxLength: 3 }), fc.array(fc.oneof(file.filter((f) => f !== '-').map((f) => [f]), fc.tuple(fc.constantFrom('--key', '--approval'), fc.constantFrom('k1', 'k2')).map(([o, v]) => [o, v]), flag.map((f) => [f])), { maxLength: 8 }))
      .map(([g, rest]) => [...g.flat(), 'rpm', 'sign', '--key', 'k0', ...rest.flat(), 'last.rpm']);
    await fc.assert(
      fc.asyncProperty(plain, async (args) => {
        const expected = await viaCommander(args);
        expect(expected, args.join(' ')).toBeDefined();
        expect(parseRpmSignArgv(args)).toEqual(expected);
      }),
      { numRuns: 500, ...(process.env.FC_SEED ? { seed: Number(process.env.FC_SEED) } : {}) },
    );
  });
});
