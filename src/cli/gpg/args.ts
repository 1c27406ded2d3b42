// gpg's command line, for the subset release tools pass (docs/formats.md "How the tools call gpg"):
//   rpmsign   gpg --no-verbose --no-armor --no-secmem-warning [--digest-algo=N] -u NAME -sbo SIG -- -
//   git       gpg --status-fd=2 -bsau KEY                  (payload on stdin, armor on stdout)
//   repo-add  gpg --detach-sign --use-agent --no-armor [-u KEY] FILE      (-> FILE.sig)
//   makepkg   gpg --detach-sign --use-agent [-u KEY] --no-armor FILE
//   debsign   gpg --local-user KEY --clearsign --list-options no-show-policy-urls --armor
//                 --textmode --output OUT IN
//   probes    gpg --version | --list-secret-key[s] [KEY] [--with-colons] | --list-keys
// Anything outside this subset is refused (exit 2) rather than guessed at: an option we do not
// understand could change what gets signed. Verification (--verify) is not parsed here at all;
// the whole command line goes to the real gpg.
import { SignetError } from '../../errors.js';

export type DigestChoice = 'sha256' | 'sha512';

export type GpgCommand =
  | { readonly op: 'version' }
  | { readonly op: 'help' }
  | { readonly op: 'list'; readonly secret: boolean; readonly colons: boolean; readonly patterns: readonly string[] }
  | {
      readonly op: 'sign';
      readonly mode: 'detached' | 'clear';
      readonly armor: boolean;
      /** -u / --local-user (last one wins, as in gpg for a single signer), else --default-key. */
      readonly keySpec?: string;
      /** -o / --output; '-' is standard output. */
      readonly output?: string;
      /** The file to sign; undefined or '-' reads standard input. */
      readonly input?: string;
      readonly statusFd?: number;
      readonly digest?: DigestChoice;
    };

/** Options that take a value, long name → what it sets. */
const VALUE_OPTIONS = new Set([
  'local-user',
  'default-key',
  'output',
  'status-fd',
  'digest-algo',
  // Accepted and ignored: signet holds the keys, there is no passphrase or pinentry.
  'passphrase-fd',
  'passphrase-file',
  'passphrase',
  'pinentry-mode',
  'list-options',
  'keyid-format',
  'homedir',
]);

/** Flags with no effect on what is signed (ignored), or handled below. */
const FLAG_OPTIONS = new Set([
  'sign',
  'detach-sign',
  'clearsign',
  'clear-sign',
  'list-secret-keys',
  'list-keys',
  'version',
  'help',
  'armor',
  'no-armor',
  'textmode',
  'no-textmode',
  'with-colons',
  'batch',
  'no-batch',
  'no-tty',
  'yes',
  'quiet',
  'verbose',
  'no-verbose',
  'no-secmem-warning',
  'no-permission-warning',
  'no-greeting',
  'use-agent',
  'no-use-agent',
  'fixed-list-mode',
  'with-fingerprint',
  'with-subkey-fingerprint',
  'no-show-policy-url',
]);

/** gpg's own spellings of the same options that the tools above use. */
const ALIASES: Record<string, string> = {
  'list-secret-key': 'list-secret-keys',
  'list-key': 'list-keys',
  'list-public-keys': 'list-keys',
};

/** Short options: letter → long name. */
const SHORT: Record<string, string> = {
  s: 'sign',
  b: 'detach-sign',
  a: 'armor',
  u: 'local-user',
  o: 'output',
  t: 'textmode',
  q: 'quiet',
  v: 'verbose',
  k: 'list-keys',
  K: 'list-secret-keys',
  h: 'help',
};

export const SUPPORTED_SUBSET =
  '--detach-sign/-b with -s, --clearsign, -u/--local-user, --default-key, -o/--output, -a/--armor, ' +
  '--no-armor, --status-fd, --digest-algo (SHA256, SHA512), --list-secret-keys, --list-keys, ' +
  '--with-colons, --version, --verify (run by the real gpg); ignored: --batch, --yes, --quiet, ' +
  '--no-verbose, --no-tty, --use-agent, --no-secmem-warning, --textmode (with --clearsign), ' +
  '--pinentry-mode, --passphrase-fd, --list-options, --keyid-format, --homedir';

function unsupported(what: string): SignetError {
  return new SignetError('USAGE', `${what} is not supported; signet-gpg supports: ${SUPPORTED_SUBSET}`);
}

/** Value-taking gpg options that verification command lines carry besides the signing ones
 *  above (git, rpm, dpkg-source, debsig and their documentation use these). */
const VERIFY_VALUE_OPTIONS = new Set([
  'keyring',
  'primary-keyring',
  'trustdb-name',
  'trust-model',
  'verify-options',
  'weak-digest',
  'logger-fd',
  'logger-file',
  'attribute-fd',
  'command-fd',
  'keyserver',
  'keyserver-options',
  'auto-key-locate',
  'trusted-key',
  'log-file',
  'options',
  'compliance',
  'display-charset',
]);

/** gpg's short options that take a value (gpg.c: -u, -o, -r, -R, -f, -F, -N, -z). */
const SHORT_VALUE_LETTERS = new Set(['u', 'o', 'r', 'R', 'f', 'F', 'N', 'z']);

/** Flags (no value) seen on verification command lines. */
const VERIFY_FLAGS = new Set(['no-default-keyring', 'always-trust', 'auto-key-retrieve', 'no-auto-key-retrieve', 'no-options', 'enable-special-filenames', 'with-key-data']);

/**
 * True when gpg would verify: then the command line is handed to the real gpg unchanged. Parsed
 * as gpg does: `--verify` counts only where an option is expected, not as the value of one
 * (`-u --verify -bsa FILE` signs with a key called --verify; taking it for a verification would
 * hand signing to the local gpg and its keys). A `--verify` right after an option this table
 * does not know, given without `=VALUE`, could be either: refused rather than guessed.
 */
export function isVerification(args: readonly string[]): boolean {
  let unknownBefore: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') return false;
    const afterUnknown = unknownBefore;
    unknownBefore = undefined;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const rawName = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
      if (rawName === 'verify') {
        if (eq !== -1) throw new SignetError('USAGE', '--verify takes no value');
        if (afterUnknown !== undefined) throw new SignetError('USAGE', `cannot tell whether --verify is the value of --${afterUnknown}; write --${afterUnknown}=VALUE`);
        return true;
      }
      const name = ALIASES[rawName] ?? rawName;
      if (eq !== -1) continue;
      if (VALUE_OPTIONS.has(name) || VERIFY_VALUE_OPTIONS.has(name)) i++; // its value, whatever it looks like
      else if (!FLAG_OPTIONS.has(name) && !VERIFY_FLAGS.has(name)) unknownBefore = rawName;
      continue;
    }
    if (arg.startsWith('-') && arg.length > 1) {
      for (let j = 1; j < arg.length; j++) {
        if (SHORT_VALUE_LETTERS.has(arg[j]!)) {
          if (j === arg.length - 1) i++; // -u KEY: the next argument is the value
          break; // -uKEY: the rest of this one is
        }
      }
    }
  }
  return false;
}

function parseDigest(value: string): DigestChoice {
  const v = value.trim().toUpperCase();
  if (v === '8' || v === 'SHA256' || v === 'SHA-256') return 'sha256';
  if (v === '10' || v === 'SHA512' || v === 'SHA-512') return 'sha512';
  throw new SignetError('USAGE', `--digest-algo ${value} is not supported: signet signs with SHA256 or SHA512`);
}

function parseFd(name: string, value: string): number {
  if (!/^(?:0|[1-9][0-9]{0,5})$/.test(value)) throw new SignetError('USAGE', `--${name} needs a file descriptor number`);
  return Number(value);
}

export function parseGpgArgs(args: readonly string[]): GpgCommand {
  const values = new Map<string, string>();
  const flags: string[] = [];
  const positional: string[] = [];
  let keySpec: string | undefined;

  const take = (name: string, value: string) => {
    if (name === 'local-user') keySpec = value;
    values.set(name, value);
  };

  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') {
      positional.push(...args.slice(i + 1));
      break;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const rawName = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
      const name = ALIASES[rawName] ?? rawName;
      if (VALUE_OPTIONS.has(name)) {
        let value: string | undefined;
        if (eq !== -1) value = arg.slice(eq + 1);
        else value = args[++i];
        if (value === undefined) throw new SignetError('USAGE', `--${rawName} needs a value`);
        take(name, value);
      } else if (FLAG_OPTIONS.has(name)) {
        if (eq !== -1) throw new SignetError('USAGE', `--${rawName} takes no value`);
        flags.push(name);
      } else {
        throw unsupported(`option --${rawName}`);
      }
      continue;
    }
    if (arg.startsWith('-') && arg.length > 1) {
      for (let j = 1; j < arg.length; j++) {
        const letter = arg[j]!;
        const name = SHORT[letter];
        if (name === undefined) throw unsupported(`option -${letter}`);
        if (VALUE_OPTIONS.has(name)) {
          // The value is the rest of this argument, or the next one (-sbo FILE, -uKEY).
          const rest = arg.slice(j + 1);
          const value = rest !== '' ? rest : args[++i];
          if (value === undefined) throw new SignetError('USAGE', `-${letter} needs a value`);
          take(name, value);
          break;
        }
        flags.push(name);
      }
      continue;
    }
    positional.push(arg);
  }

  const has = (f: string) => flags.includes(f);
  const commands = ['detach-sign', 'clearsign', 'clear-sign', 'list-secret-keys', 'list-keys', 'version', 'help'].filter(has);
  const command = new Set(commands.map((c) => (c === 'clear-sign' ? 'clearsign' : c)));
  if (command.size > 1) throw new SignetError('USAGE', `conflicting commands: ${[...command].map((c) => `--${c}`).join(' ')}`);
  const [only] = [...command];

  if (only === 'version') return { op: 'version' };
  if (only === 'help') return { op: 'help' };
  if (only === 'list-secret-keys' || only === 'list-keys') {
    if (has('sign')) throw new SignetError('USAGE', 'conflicting commands: --sign with a key listing');
    return { op: 'list', secret: only === 'list-secret-keys', colons: has('with-colons'), patterns: positional };
  }
  if (only === undefined) {
    if (has('sign')) throw unsupported('an inline-signed message (-s without -b or --clearsign)');
    throw unsupported(positional.length > 0 ? 'a command line without a command' : 'no command');
  }

  // detach-sign or clearsign
  const mode = only === 'clearsign' ? 'clear' : 'detached';
  if (mode === 'detached' && flags.includes('textmode') && flags.lastIndexOf('textmode') > flags.lastIndexOf('no-textmode')) {
    throw unsupported('a text-mode detached signature (--textmode with --detach-sign)');
  }
  if (positional.length > 1) throw unsupported('signing more than one file per call');
  // Last of --armor / --no-armor wins, as in gpg; clearsign is always armored.
  const armor = mode === 'clear' || flags.lastIndexOf('armor') > flags.lastIndexOf('no-armor');
  const digest = values.get('digest-algo');
  const statusFd = values.get('status-fd');
  const spec = keySpec ?? values.get('default-key');
  const output = values.get('output');
  const input = positional[0];
  return {
    op: 'sign',
    mode,
    armor,
    ...(spec !== undefined ? { keySpec: spec } : {}),
    ...(output !== undefined ? { output } : {}),
    ...(input !== undefined ? { input } : {}),
    ...(statusFd !== undefined ? { statusFd: parseFd('status-fd', statusFd) } : {}),
    ...(digest !== undefined ? { digest: parseDigest(digest) } : {}),
  };
}
