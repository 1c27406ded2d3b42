// The plain `signet rpm sign` command line, read without commander.
//
// A pipeline that signs one package per job starts the CLI once per package, and loading
// commander and the command definitions is a fifth of that start (docs/performance.md). This
// reader takes only the common, well-formed line (global options, `rpm sign`, its options and the
// files) and returns exactly what commander would hand the action; for anything else — help,
// `--version`, `--`, an unknown or misspelt option, a missing value, a value that looks like an
// option, no files, no --key — it returns undefined and the full program parses the line, so every
// usage error and help text stays commander's. src/cli/rpm-sign-argv.test.ts checks the two agree
// on generated command lines.
import type { GlobalOptions } from './common.js';

export interface RpmSignOptions {
  key: string[];
  rpmv6?: true;
  replace?: true;
  /** false with --no-wait (commander's default for a `--no-` option is true). */
  wait: boolean;
  approval?: string;
}

export interface RpmSignCommandLine {
  globals: GlobalOptions;
  files: string[];
  opts: RpmSignOptions;
}

/** The program's options that take a value, as baseProgram() in signet.ts defines them. */
const GLOBAL_VALUES: Readonly<Record<string, 'addr' | 'token' | 'data' | 'caFile' | 'timeout'>> = {
  '--addr': 'addr',
  '--token': 'token',
  '--data': 'data',
  '--ca-file': 'caFile',
  '--timeout': 'timeout',
};

/**
 * `args`: the arguments after the program (process.argv.slice(2)). commander reads the program's
 * options anywhere on the line (positional options are off), so they may come before `rpm`, between
 * `rpm` and `sign`, or among sign's own options and files; a repeated one keeps its last value.
 */
export function parseRpmSignArgv(args: readonly string[]): RpmSignCommandLine | undefined {
  const globals: GlobalOptions = {};
  const opts: RpmSignOptions = { key: [], wait: true };
  const words: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('-') || arg === '-') {
      words.push(arg);
      continue;
    }
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const takesValue = name in GLOBAL_VALUES || name === '--key' || name === '--approval';
    let value: string | undefined;
    if (takesValue) {
      value = eq > 0 ? arg.slice(eq + 1) : args[++i];
      // A missing value, or one commander might read differently: the full parser decides.
      if (value === undefined || (eq < 0 && value.startsWith('-'))) return undefined;
    } else if (eq > 0) {
      return undefined;
    }
    const global = GLOBAL_VALUES[name];
    if (global !== undefined) globals[global] = value!;
    else if (name === '--json') globals.json = true;
    // sign's own options count only after `rpm sign` (before it, commander refuses them).
    else if (words.length < 2) return undefined;
    else if (name === '--key') opts.key.push(value!);
    else if (name === '--approval') opts.approval = value!;
    else if (name === '--replace') opts.replace = true;
    else if (name === '--rpmv6') opts.rpmv6 = true;
    else if (name === '--no-wait') opts.wait = false;
    else return undefined;
  }
  if (words[0] !== 'rpm' || words[1] !== 'sign' || words.length < 3 || opts.key.length === 0) return undefined;
  return { globals, files: words.slice(2), opts };
}
