// The `signet` command (README "CLI"). Thin: parses arguments, calls the client or
// the server, prints. Exit 0 success, 1 refused/failed, 2 usage; errors are one `signet: …` line.
// Startup stays cheap: commands are registered from light modules (names, options, descriptions,
// so --help is complete) and each implementation is imported inside its action (lazy.ts);
// test/e2e/cli-startup.test.ts fails when a static import brings a heavy module back.
import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import { Readable } from 'node:stream';
import { Argument, Command, CommanderError, Option } from './commander.js';
import { SignetError } from '../errors.js';
import { reportFailure } from './failure.js';
import { endQuietlyOnClosedPipe } from './pipe.js';
import { writeOutputFile } from '../fsutil.js';
import type { SignResponse } from '../client/client.js';
import { loadClientConfig } from './client-config.js';
import { dataDir, printJson, printLine, readInputFile, regularFileSize, withClient, type GlobalOptions } from './common.js';
import { escapeUserId } from './gpg/listing.js';
import { registerRpmCommands } from './rpm.js';
import { registerKeyLifecycleCommands } from './key-lifecycle.js';
import { registerVetCommands } from './vet-commands.js';
import { lazyAction } from './lazy.js';
import { DEFAULT_MIDSTATE_HASH } from './midstate-options.js';
import { VERSION } from './version.js';

interface SignOptions {
  key?: string;
  armor?: boolean;
  clearsign?: boolean;
  output?: string;
  name?: string;
  kind?: string;
  hash?: 'sha256' | 'sha512';
  midstateThreshold: string;
  /** false with --no-midstate */
  midstate: boolean;
  /** false with --no-wait: a request held for approvals prints its id and returns. */
  wait: boolean;
  approval?: string;
}

/** Same default as src/server/serve.ts; the server module is loaded only by `signet serve`. */
const DEFAULT_LISTEN = '127.0.0.1:7780';

export async function main(argv: string[]): Promise<void> {
  endQuietlyOnClosedPipe('signet');
  // `signet --version` alone needs no command definitions (a probe scripts run often).
  const args = argv.slice(2);
  if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
    process.stdout.write(`${VERSION}\n`);
    return;
  }
  const base = baseProgram();
  // `signet rpm …` gets the rpm commands only (rpmProgram); every other command line, `--help`
  // and `--version` included, the whole program.
  const program = commandName(argv, base) === 'rpm' ? rpmProgram(base) : await buildProgram(base);
  try {
    await program.parseAsync(versionOptionOfKeyCommands(argv));
  } catch (err) {
    process.exitCode = reportError(err);
  }
}

/** `signet key revoke|revocation-cert NAME --version FPR`: the program's own -V/--version would
 *  take that option, so after those two commands it is read as --key-version. */
export function versionOptionOfKeyCommands(argv: string[]): string[] {
  const at = argv.findIndex((a, i) => a === 'key' && (argv[i + 1] === 'revoke' || argv[i + 1] === 'revocation-cert'));
  if (at < 0) return argv;
  return argv.map((a, i) => (i <= at + 1 ? a : a === '--version' ? '--key-version' : a.startsWith('--version=') ? `--key-version=${a.slice(10)}` : a));
}

/** Every failure is one `signet: MESSAGE (CODE)` line on stderr; the exit code follows the code. */
export function reportError(err: unknown): number {
  if (err instanceof CommanderError) {
    // commander already printed its message through outputError.
    return err.exitCode === 0 ? 0 : 2;
  }
  return reportFailure(err);
}

function rootOf(cmd: Command): Command {
  let root = cmd;
  while (root.parent) root = root.parent;
  return root;
}

function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals<GlobalOptions>();
}

/** The program with its global options only: what every command line starts from. */
export function baseProgram(): Command {
  return new Command('signet')
    .description('Release signing service: keys that never leave the server, every signature in a transparency log.')
    .version(VERSION, '-V, --version')
    .option('--addr <url>', 'signet server URL (env SIGNET_ADDR)', undefined)
    .option('--token <token>', 'API token (env SIGNET_TOKEN; default: DATA/admin-token when readable)')
    .option('--data <dir>', 'server data directory (env SIGNET_DATA)', undefined)
    .option('--ca-file <pem>', 'CA certificates to trust for an https:// server (env SIGNET_CA_FILE)')
    .option('--timeout <duration>', 'give up when the server is silent this long, e.g. 30s, 2m (env SIGNET_TIMEOUT; default 60s)')
    .option('--json', 'machine-readable JSON output')
    .configureHelp({ showGlobalOptions: true })
    .exitOverride()
    .configureOutput({ outputError: (str, write) => write(usageLine(str)) });
}

/**
 * commander's error text (`error: unknown option '--jsno'\n(Did you mean --json?)\n`) as the
 * CLI's one line: `signet: unknown option '--jsno' (did you mean --json?) (USAGE)`.
 */
export function usageLine(text: string): string {
  const parts = text
    .replace(/^error: /, '')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .map((l) => l.replace(/^\(Did you mean/, '(did you mean'));
  return `signet: ${parts.join(' ')} (USAGE)\n`;
}

/**
 * The first command word of `argv` (node, script, then arguments), skipping global options and
 * the values of those that take one (`--addr URL`); undefined when there is none.
 */
export function commandName(argv: readonly string[], program: Command): string | undefined {
  const takesValue = new Set<string>();
  for (const o of program.options) {
    if (!o.required && !o.optional) continue;
    if (o.long) takesValue.add(o.long);
    if (o.short) takesValue.add(o.short);
  }
  const args = argv.slice(2);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') return undefined;
    if (!arg.startsWith('-')) return arg;
    if (takesValue.has(arg)) i++;
  }
  return undefined;
}

/**
 * `signet rpm sign` runs once per batch of packages in a release, so its start counts: with
 * the rpm commands alone the other command groups' modules are not loaded and their commands
 * not built (about 15 ms of CPU per start on a 2-core machine). `signet rpm … --help` and
 * errors inside `rpm` read the same as with the whole program.
 */
export function rpmProgram(program: Command = baseProgram()): Command {
  registerRpmCommands(program);
  return program;
}

/** Every command; the command groups' modules are loaded here. */
export async function buildProgram(program: Command = baseProgram()): Promise<Command> {
  const [auth, store, log, gpgShim, pulp, repo, policy, audit, backup, pull] = await Promise.all([
    import('./auth.js'),
    import('./store.js'),
    import('./log.js'),
    import('./gpg-shim.js'),
    import('./pulp.js'),
    import('./repo.js'),
    import('./policy.js'),
    import('./audit.js'),
    import('./backup.js'),
    import('./pull.js'),
  ]);
  program
    .command('serve')
    .description('run the signing server (first start creates DATA, the master key and an admin token)')
    .option('--listen <host:port>', `address to listen on (default ${DEFAULT_LISTEN})`)
    .option('--tls-cert <file>', 'TLS certificate (PEM); TLS 1.3 only')
    .option('--tls-key <file>', 'TLS private key (PEM)')
    .option('--store <url>', 'sqlite:PATH (default DATA/signet.db) or postgres://… (env SIGNET_STORE)')
    .option('--config <file>', 'YAML settings file for what flags do not cover')
    .addOption(new Option('--log-level <level>', 'log level').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']))
    .option('--pull <url>', 'pull mode: dial this relay (https://RELAY:PORT; repeat for fail-over) and listen on no port', (v: string, prev: string[] = []) => [...prev, v])
    .option('--ca <file>', 'pull mode: the pull CA certificate the relays\' certificates chain to')
    .option('--pull-pool <n>', 'pull mode: idle connections kept at each relay (default 8)')
    .action(async (opts: { listen?: string; tlsCert?: string; tlsKey?: string; store?: string; config?: string; logLevel?: string; pull?: string[]; ca?: string; pullPool?: string }, cmd: Command) => {
      const g = globals(cmd);
      const { startServer } = await import('../server/serve.js');
      const server = await startServer({
        dataDir: dataDir(g),
        ...(opts.listen ? { listen: opts.listen } : {}),
        ...(opts.tlsCert ? { tlsCert: opts.tlsCert } : {}),
        ...(opts.tlsKey ? { tlsKey: opts.tlsKey } : {}),
        ...((opts.store ?? process.env.SIGNET_STORE) ? { store: opts.store ?? process.env.SIGNET_STORE } : {}),
        ...(process.env.SIGNET_MASTER_KEY_FILE ? { masterKeyFile: process.env.SIGNET_MASTER_KEY_FILE } : {}),
        ...(opts.config ? { settingsFile: opts.config } : {}),
        ...(opts.logLevel ? { logLevel: opts.logLevel } : {}),
        ...(opts.pull ? { pull: opts.pull } : {}),
        ...(opts.ca ? { pullCa: opts.ca } : {}),
        ...(opts.pullPool !== undefined ? { pullPool: pullPool(opts.pullPool) } : {}),
        onAdminToken: (token, path) => {
          process.stderr.write(`signet: first start: admin token written to ${path} (0600); it is shown once:\n`);
          process.stdout.write(`${token.revealString()}\n`);
        },
      });
      // SIGHUP (systemctl reload, logrotate's postrotate): reopen the audit log.
      const reopen = (): void => {
        try {
          server.reopenAudit();
        } catch (err) {
          server.logger.error({ err, event: 'audit.reopen' }, 'cannot reopen the audit log; requests are refused until it can be written');
        }
      };
      process.on('SIGHUP', reopen);
      await new Promise<void>((resolvePromise) => {
        const stop = (): void => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          process.off('SIGHUP', reopen);
          void server.close().then(resolvePromise, resolvePromise);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });

  const key = program.command('key').description('manage signing keys');

  key
    .command('create')
    .description('create a signing key on the server')
    .argument('<name>', 'key name (lower-case letters, digits, . _ -)')
    .addOption(new Option('--algo <algorithm>', 'key algorithm (ecdsa-p256: pkcs11 backend only; ed448 and the ML-DSA composites need --profile rfc9580, ML-DSA is experimental)')
      .choices(['rsa4096', 'ed25519', 'ecdsa-p256', 'ed448', 'mldsa65-ed25519', 'mldsa87-ed448']).default('ed25519'))
    .addOption(new Option('--profile <profile>', 'OpenPGP v4 (rfc4880) or v6 (rfc9580); docs/keys.md "Profiles"').choices(['rfc4880', 'rfc9580']).default('rfc4880'))
    .option('--uid <user-id>', 'user ID, e.g. "Release Team <release@example.org>"')
    .option('--purpose <kinds>', 'the kinds the key may ever sign, e.g. rpm,yum (default: every kind; docs/policy.md)')
    .addOption(new Option('--backend <backend>', "where the private key lives: sealed in the store or made inside the server's PKCS#11 token (default: the server's keys.default_backend; docs/key-backends.md)").choices(['sealed', 'pkcs11']))
    .action(async (name: string, opts: { algo: string; profile: string; uid?: string; purpose?: string; backend?: string }, cmd: Command) => {
      const g = globals(cmd);
      const purposes = opts.purpose === undefined ? undefined : purposeList(opts.purpose);
      // The default profile is not sent, so an older server keeps accepting the request.
      const created = await withClient(g, (c) =>
        c.createKey({
          name, algorithm: opts.algo, user_id: opts.uid ?? `signet key ${name}`, ...(opts.profile !== 'rfc4880' ? { profile: opts.profile } : {}),
          ...(purposes ? { purposes } : {}), ...(opts.backend ? { backend: opts.backend } : {}),
        }),
      );
      warnAll(created.warnings);
      if (g.json) printJson(created);
      else printLine(`${created.name} ${created.algorithm} ${created.fingerprint} ${created.user_id}${created.backend === 'pkcs11' ? ' (pkcs11)' : ''}`);
    });

  key
    .command('purpose')
    .description('replace the kinds a key may ever sign (admin; logged)')
    .argument('<name>', 'key name')
    .argument('<kinds>', 'comma-separated kinds, e.g. rpm,yum')
    .action(async (name: string, kinds: string, _opts: unknown, cmd: Command) => {
      const g = globals(cmd);
      const updated = await withClient(g, (c) => c.setKeyPurposes(name, purposeList(kinds)));
      warnAll(updated.warnings);
      if (g.json) printJson(updated);
      else printLine(`${updated.name} ${(updated.purposes ?? []).join(',')}`);
    });

  key
    .command('list')
    .description('list signing keys')
    .action(async (_opts: unknown, cmd: Command) => {
      const g = globals(cmd);
      const { keys } = await withClient(g, (c) => c.listKeys());
      if (g.json) {
        printJson(keys);
        return;
      }
      for (const k of keys) printLine(`${k.name}\t${k.algorithm}\t${k.fingerprint}\t${k.state}\t${escapeUserId(k.user_id)}\t${(k.purposes ?? []).join(',')}`);
    });

  key
    .command('export')
    .description('print the public keyring (every version a verifier needs): armored (default), binary (apt signed-by), rpm (rpm --import), or a Web Key Directory tree')
    .argument('<name>', 'key name')
    .argument('[dir]', 'with --format wkd-dir: the web root to write .well-known/openpgpkey/ into')
    .option('-o, --output <file>', 'write to FILE instead of stdout')
    .addOption(new Option('--format <format>', 'armor, binary, rpm, or wkd-dir DIR (docs/keys.md "Publishing")').choices(['armor', 'binary', 'rpm', 'wkd-dir']))
    .action(async (name: string, dir: string | undefined, opts: { output?: string; format?: string }, cmd: Command) => {
      const g = globals(cmd);
      if (dir !== undefined && opts.format !== 'wkd-dir') throw new SignetError('USAGE', `unexpected argument ${dir} (a directory is for --format wkd-dir)`);
      if (opts.format !== undefined) {
        const { exportKeyring } = await import('./key-lifecycle.js');
        await exportKeyring(g, name, opts.format, opts.format === 'wkd-dir' ? (dir ?? opts.output) : opts.output);
        return;
      }
      const armored = await withClient(g, (c) => c.exportKey(name));
      if (opts.output) writeOutputFile(opts.output, Buffer.from(armored), 0o644);
      if (g.json) printJson({ name, public_key: armored, ...(opts.output ? { output: opts.output } : {}) });
      else if (!opts.output) process.stdout.write(armored);
    });

  key
    .command('import')
    .description('import a secret key exported by `gpg --export-secret-keys` (binary or armored)')
    .argument('<file>', 'the exported secret key')
    .option('--name <name>', 'key name in signet (default: the file name without extension)')
    .option('--passphrase-file <file>', 'read the passphrase from FILE (or set SIGNET_KEY_PASSPHRASE)')
    .option('--purpose <kinds>', 'the kinds the key may ever sign, e.g. rpm,yum (default: every kind)')
    .addOption(new Option('--backend <backend>', "where the imported key is kept: sealed in the store, or moved into the server's PKCS#11 token as a non-extractable object (default: sealed)").choices(['sealed', 'pkcs11']))
    .action(async (file: string, opts: { name?: string; passphraseFile?: string; purpose?: string; backend?: string }, cmd: Command) => {
      const g = globals(cmd);
      const material = readInputFile(file);
      const text = material.toString('latin1');
      const secretKey = text.includes('-----BEGIN PGP PRIVATE KEY BLOCK-----') ? text : material.toString('base64');
      let passphrase: string | undefined = process.env.SIGNET_KEY_PASSPHRASE;
      if (opts.passphraseFile) passphrase = readInputFile(opts.passphraseFile).toString('utf8').replace(/\r?\n$/, '');
      const name = opts.name ?? defaultKeyName(file);
      const imported = await withClient(g, (c) =>
        c.importKey({
          name,
          secret_key: secretKey,
          ...(passphrase !== undefined ? { passphrase } : {}),
          ...(opts.purpose !== undefined ? { purposes: purposeList(opts.purpose) } : {}),
          ...(opts.backend ? { backend: opts.backend } : {}),
        }),
      );
      warnAll(imported.warnings);
      if (g.json) printJson(imported);
      else printLine(`${imported.name} ${imported.algorithm} ${imported.fingerprint} ${escapeUserId(imported.user_id)}`);
    });

  registerKeyLifecycleCommands(key);

  program
    .command('sign')
    .description(
      'make a detached signature (binary by default) or a cleartext signature of FILE; files above the midstate threshold are hashed here and only the hash state crosses the wire',
    )
    .argument('<file>', 'file to sign, or - for standard input')
    .option('--key <name>', 'signing key (default: SIGNET_DEFAULT_KEY, else default_key in the client configuration)')
    .option('--armor', 'ASCII-armored signature (FILE.asc)')
    .option('--clearsign', 'cleartext signature of a text file (FILE.asc)')
    .option('-o, --output <file>', 'output file (default FILE.sig, or FILE.asc with --armor/--clearsign; - for stdout)')
    .option('--name <artifact>', 'artifact name recorded for policy and audit (default: the file name)')
    .addOption(new Option('--kind <kind>', 'artifact kind for policy').choices(['detached', 'clearsign', 'sums', 'git', 'yum', 'apt', 'pacman']))
    .addOption(new Option('--hash <hash>', `signature hash (default: the key's, ${DEFAULT_MIDSTATE_HASH} in midstate mode)`).choices(['sha256', 'sha512']))
    .option('--midstate-threshold <size>', 'hash files larger than this locally and send only the hash state (e.g. 8M, 512k, 0)', '8M')
    .option('--no-midstate', 'always send the whole file')
    .option('--no-wait', 'when the rule needs approvals, print the request id and return instead of waiting')
    .option('--approval <id>', 'sign under this approved request (after --no-wait)')
    .action(async (file: string, opts: SignOptions, cmd: Command) => {
      const g = globals(cmd);
      const key = signingKey(opts.key);
      const { parseSize, signFileMidstateWithProgress } = await import('./midstate.js');
      const fromStdin = file === '-';
      const threshold = parseSize(opts.midstateThreshold);
      const length = fromStdin ? undefined : regularFileSize(file);
      const armored = Boolean(opts.armor || opts.clearsign);
      const name = opts.name ?? (fromStdin ? 'stdin' : basename(file));
      // Midstate for regular files above the threshold; a cleartext signature canonicalises the
      // whole text on the server, and standard input has no size to decide on.
      const wantMidstate = opts.midstate && !opts.clearsign && length !== undefined && length > threshold;
      // The key's public key first: the signature is verified before anything is written.
      const { PublicKeyCache, checkCleartext, checkDetached, checkDetachedStream, teeInto } = await import('./signature-check.js');
      const publicKeys = await withClient(g, (c) => new PublicKeyCache(c).get(key));
      const kept: Buffer[] = [];
      let response: SignResponse | undefined;
      let bytesSent: number | undefined;
      let midstate = wantMidstate;
      let stdinRead = false;
      // A rule with approvals holds the first request (docs/approvals.md): wait, then send the
      // same artifact again under the approved request.
      const obtain = async (approval: string | undefined): Promise<SignResponse> => {
        if (midstate) {
          try {
            const result = await signFileMidstateWithProgress(g, key, file, {
              hash: opts.hash ?? DEFAULT_MIDSTATE_HASH,
              armor: armored,
              name,
              // A v6 key's signature hashes a server-issued salt first (docs/midstate.md).
              v6: publicKeys[0]?.version === 6,
              ...(opts.kind ? { kind: opts.kind } : {}),
              ...(approval !== undefined ? { approval } : {}),
            });
            bytesSent = result.bytesSent;
            return result.response;
          } catch (err) {
            // The server refuses midstate for this key (its purposes include rpm or git) or this
            // kind (only detached and sums): send the whole file instead (docs/security.md).
            // A v6 key (KEY_PROFILE_UNSUPPORTED) also signs whole files only.
            if (!(err instanceof SignetError) || (err.code !== 'KEY_PURPOSE' && err.code !== 'KIND_MISMATCH' && err.code !== 'KEY_PROFILE_UNSUPPORTED')) throw err;
            process.stderr.write(`signet: ${err.message}; sending the whole file\n`);
            midstate = false;
          }
        }
        const stream = fromStdin ? (stdinRead ? Readable.from([Buffer.concat(kept)]) : Readable.from(teeInto(process.stdin, kept))) : createReadStream(file);
        stdinRead = fromStdin;
        return withClient(g, (c) =>
          c.sign(
            key,
            stream,
            {
              armor: armored,
              clear: Boolean(opts.clearsign),
              name,
              ...(opts.kind ? { kind: opts.kind } : {}),
              ...(opts.hash ? { hash: opts.hash } : {}),
              ...(approval !== undefined ? { approval } : {}),
            },
            length,
          ),
        );
      };
      try {
        response = await obtain(opts.approval);
      } catch (err) {
        const { PendingApprovalError } = await import('../client/client.js');
        if (!(err instanceof PendingApprovalError)) throw err;
        const { reportPending, waitForApproval } = await import('./approvals.js');
        if (!opts.wait) {
          reportPending(g, err.pending);
          return;
        }
        await waitForApproval(g, err.pending);
        response = await obtain(err.pending.id);
      }
      const output = opts.clearsign
        ? Buffer.from(response.cleartext ?? '', 'utf8')
        : armored
          ? Buffer.from(response.armored ?? '', 'utf8')
          : Buffer.from(response.signature, 'base64');
      const what = fromStdin ? 'standard input' : file;
      if (opts.clearsign) checkCleartext(output.toString('utf8'), fromStdin ? Buffer.concat(kept) : readInputFile(file), publicKeys, what, key);
      else if (fromStdin) checkDetached(Buffer.concat(kept), output, publicKeys, what, key);
      else await checkDetachedStream(() => createReadStream(file), output, publicKeys, what, key);
      const out = opts.output ?? (fromStdin ? '-' : `${file}${armored ? '.asc' : '.sig'}`);
      if (out === '-') process.stdout.write(output);
      else writeOutputFile(out, output, 0o644);
      if (g.json) {
        const { signature: _s, armored: _a, cleartext: _c, ...rest } = response;
        printJson({ ...rest, mode: midstate ? 'midstate' : 'content', ...(bytesSent !== undefined ? { bytes_sent: bytesSent } : {}), output: out });
      } else if (out !== '-') {
        process.stderr.write(`signet: signed ${file} with ${response.key} (${response.fingerprint})${midstate ? ' in midstate mode' : ''} -> ${out}\n`);
      }
    });

  program
    .command('sums')
    .description('write DIR/SHA256SUMS and its armored signature DIR/SHA256SUMS.asc')
    .argument('<dir>', 'directory of release files')
    .requiredOption('--key <name>', 'signing key')
    .option('--recursive', 'include files in subdirectories')
    .action(async (dir: string, opts: { key: string; recursive?: boolean }, cmd: Command) => {
      const g = globals(cmd);
      const { writeChecksums } = await import('./sums.js');
      const result = await writeChecksums(g, dir, opts.key, Boolean(opts.recursive));
      if (g.json) printJson(result);
      else process.stderr.write(`signet: ${result.files} files listed in ${result.sums}, signed in ${result.signature}\n`);
    });

  program
    .command('completion')
    .description('print a shell completion script: source <(signet completion bash)')
    .addArgument(new Argument('<shell>', 'the shell').choices(['bash', 'zsh']))
    .action(async (shell: 'bash' | 'zsh', _opts: unknown, cmd: Command) => {
      const { bashCompletion, zshCompletion } = await import('./docgen.js');
      const root = rootOf(cmd);
      process.stdout.write(shell === 'bash' ? bashCompletion(root) : zshCompletion(root));
    });

  program
    .command('verify-policy')
    .description("check signatures, keys and RPM packages against what today's verifiers refuse (apt's Sequoia policy, rpm-sequoia): SHA-1, SHA-224, v3 signatures, DSA, RSA under 2048 bits")
    .argument('<files...>', 'signatures (.sig, .asc), cleartext-signed files, key files or RPM packages')
    .action(lazyAction(async () => (await import('./verify-policy.js')).verifyPolicyAction));

  program
    .command('man')
    .description('print the signet(1) man page (roff): signet man > signet.1; man -l signet.1')
    .action(async (_opts: unknown, cmd: Command) => {
      const { manPage } = await import('./docgen.js');
      process.stdout.write(manPage(rootOf(cmd), VERSION));
    });

  registerRpmCommands(program);
  registerVetCommands(program);
  repo.registerRepoCommands(program);
  repo.registerGateCommands(program);
  store.registerStoreCommands(program);
  log.registerLogCommands(program);
  audit.registerAuditCommands(program);
  backup.registerBackupCommands(program);
  gpgShim.registerGpgShimCommands(program);
  pulp.registerPulpCommands(program);
  policy.registerPolicyCommands(program);
  pull.registerPullCommands(program);
  auth.registerAuthCommands(program);
  return program;
}

/** --key, else SIGNET_DEFAULT_KEY, else the client configuration's default_key (as signet-gpg). */
export function signingKey(flag: string | undefined): string {
  const key = flag ?? (process.env.SIGNET_DEFAULT_KEY || loadClientConfig().defaultKey);
  if (key === undefined || key.trim() === '') {
    throw new SignetError('USAGE', 'no signing key: pass --key NAME (or set SIGNET_DEFAULT_KEY, or default_key in the client configuration)');
  }
  return key.trim();
}

export function defaultKeyName(file: string): string {
  const base = basename(file).replace(/\.(asc|gpg|key|pgp|sec)$/i, '').toLowerCase();
  const cleaned = base.replace(/[^a-z0-9._-]+/g, '-').replace(/^[^a-z0-9]+/, '').slice(0, 64);
  if (cleaned === '') throw new SignetError('USAGE', 'cannot derive a key name from the file name; pass --name');
  return cleaned;
}


function pullPool(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 256) throw new SignetError('USAGE', '--pull-pool is a whole number, 1 to 256');
  return n;
}

/** `rpm,yum` → ['rpm', 'yum']; the server checks the kinds. */
function purposeList(text: string): string[] {
  const list = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (list.length === 0) throw new SignetError('USAGE', '--purpose needs at least one kind, e.g. rpm,yum');
  return list;
}

function warnAll(warnings: readonly string[] | undefined): void {
  for (const w of warnings ?? []) process.stderr.write(`signet: warning: ${w}\n`);
}
