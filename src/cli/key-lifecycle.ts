// `signet key versions|rotate|expire|revoke|disable|enable|delete|subkey add|revocation-cert|lint`
// (docs/keys.md). Every change is admin-only and logged by the server; this file only parses
// options, calls the client and prints. Light at load time: the OpenPGP code is imported inside
// the actions that need it.
import type { Command } from 'commander';
import { Option } from './commander.js';
import { SignetError } from '../errors.js';
import { writeOutputFile } from '../fsutil.js';
import { printJson, printLine, readInputFile, withClient, type GlobalOptions } from './common.js';

const UNIT_SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86400, w: 7 * 86400, y: 365 * 86400 };

/** `90d`, `2y`, `12w`, `36h`: seconds. */
export function parseSpan(text: string, what: string): number {
  const m = /^(\d{1,6})([smhdwy])$/.exec(text.trim());
  if (!m) throw new SignetError('USAGE', `${what}: want a duration like 90d, 12w or 2y`);
  return Number(m[1]) * UNIT_SECONDS[m[2]!]!;
}

interface ChangeAnswer {
  key: { name: string; fingerprint: string; state: string };
  version?: { fingerprint: string; state: string; expires: string | null; export_until: string | null; revocation_reason: string | null } | undefined;
  previous?: { fingerprint: string; state: string; export_until: string | null } | undefined;
  subkey?: { fingerprint: string; algorithm: string } | undefined;
  log: { index: number };
}

function report(g: GlobalOptions, answer: ChangeAnswer, line: string): void {
  if (g.json) printJson(answer);
  else printLine(line);
}

export function registerKeyLifecycleCommands(key: Command): void {
  const globals = (cmd: Command): GlobalOptions => cmd.optsWithGlobals<GlobalOptions>();

  key
    .command('versions')
    .description("list a key's versions (current first is marked *) and signing subkeys")
    .argument('<name>', 'key name')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const g = globals(cmd);
      const answer = await withClient(g, (c) => c.keyVersions(name));
      if (g.json) {
        printJson(answer);
        return;
      }
      for (const v of answer.versions) {
        printLine(`${v.current ? '*' : ' '} ${v.fingerprint}\t${v.algorithm}\t${v.state}${v.revocation_reason ? ` (${v.revocation_reason})` : ''}\tcreated ${v.created}\texpires ${v.expires ?? 'never'}${v.export_until ? `\texported until ${v.export_until}` : ''}`);
      }
      for (const s of answer.subkeys) printLine(`  sub ${s.fingerprint}\t${s.algorithm}\t${s.state}\tof ${s.primary_fingerprint}`);
    });

  key
    .command('rotate')
    .description('make a new version the signing one, certified by the previous; the previous stays in the keyring during the overlap (admin; logged)')
    .argument('<name>', 'key name')
    .option('--overlap <duration>', 'how long the previous version stays in the exported keyring, e.g. 90d (default), or "forever"', '90d')
    .addOption(new Option('--algo <algorithm>', 'algorithm of the new version (default: the current one)').choices(['rsa4096', 'ed25519']))
    .action(async (name: string, opts: { overlap: string; algo?: string }, cmd: Command) => {
      const g = globals(cmd);
      const overlap = opts.overlap === 'forever' ? null : parseSpan(opts.overlap, '--overlap');
      const answer = (await withClient(g, (c) => c.changeKey(name, 'rotate', { overlap_seconds: overlap, ...(opts.algo ? { algorithm: opts.algo } : {}) }))) as ChangeAnswer;
      report(g, answer, `${name} rotated: ${answer.previous?.fingerprint ?? '?'} -> ${answer.key.fingerprint} (previous exported until ${answer.previous?.export_until ?? 'revoked'})`);
    });

  key
    .command('expire')
    .description('set the key expiration time with a new self-signature, as gpg --quick-set-expire (admin; logged)')
    .argument('<name>', 'key name')
    .option('--in <duration>', 'expire this long from now, e.g. 2y')
    .option('--never', 'remove the expiry')
    .action(async (name: string, opts: { in?: string; never?: boolean }, cmd: Command) => {
      const g = globals(cmd);
      if ((opts.in === undefined) === (opts.never !== true)) throw new SignetError('USAGE', 'pass exactly one of --in DURATION or --never');
      const expires = opts.never ? null : new Date(Math.floor(Date.now() / 1000 + parseSpan(opts.in!, '--in')) * 1000).toISOString();
      const answer = (await withClient(g, (c) => c.changeKey(name, 'expire', { expires }))) as ChangeAnswer;
      report(g, answer, `${name} ${answer.key.fingerprint} expires ${answer.version?.expires ?? 'never'}`);
    });

  key
    .command('revoke')
    .description('revoke the key (its current version: it stops signing) or one version; the revocation is published in the export (admin; logged)')
    .argument('<name>', 'key name')
    .option('--key-version <fingerprint>', 'revoke this version instead of the current one (also spelt --version FPR)')
    .addOption(new Option('--reason <reason>', 'published reason: compromised (every signature distrusted), superseded or retired (earlier signatures stay valid)').choices(['compromised', 'superseded', 'retired', 'unspecified']).default('unspecified'))
    .option('--message <text>', 'a human-readable explanation, published with the revocation')
    .action(async (name: string, opts: { keyVersion?: string; reason: string; message?: string }, cmd: Command) => {
      const g = globals(cmd);
      const answer = (await withClient(g, (c) =>
        c.changeKey(name, 'revoke', { reason: opts.reason, ...(opts.keyVersion ? { version: opts.keyVersion } : {}), ...(opts.message !== undefined ? { message: opts.message } : {}) }))) as ChangeAnswer;
      report(g, answer, `${name} ${answer.version?.fingerprint ?? ''} revoked (${opts.reason})`);
    });

  for (const [action, text] of [['disable', 'refuse every signing request with the key until enabled (admin; logged)'], ['enable', 'sign with a disabled key again (admin; logged)']] as const) {
    key
      .command(action)
      .description(text)
      .argument('<name>', 'key name')
      .action(async (name: string, _opts: unknown, cmd: Command) => {
        const g = globals(cmd);
        const answer = (await withClient(g, (c) => c.changeKey(name, action, {}))) as ChangeAnswer;
        report(g, answer, `${name} ${answer.key.state}`);
      });
  }

  key
    .command('delete')
    .description('erase the secret keys for good; the public part stays for verifying past signatures (admin; logged; needs --force)')
    .argument('<name>', 'key name')
    .option('--force', 'really erase the secret keys')
    .action(async (name: string, opts: { force?: boolean }, cmd: Command) => {
      const g = globals(cmd);
      const answer = (await withClient(g, (c) => c.changeKey(name, 'delete', { force: opts.force === true }))) as ChangeAnswer;
      report(g, answer, `${name} deleted (public part kept)`);
    });

  const subkey = key.command('subkey').description('signing subkeys');
  subkey
    .command('add')
    .description('add a signing subkey to the current version; signatures are made by it from now on (admin; logged)')
    .argument('<name>', 'key name')
    .addOption(new Option('--algo <algorithm>', 'subkey algorithm').choices(['rsa4096', 'ed25519']).default('ed25519'))
    .action(async (name: string, opts: { algo: string }, cmd: Command) => {
      const g = globals(cmd);
      const answer = (await withClient(g, (c) => c.changeKey(name, 'subkeys', { algorithm: opts.algo }))) as ChangeAnswer;
      report(g, answer, `${name} signs with subkey ${answer.subkey?.fingerprint ?? '?'} (${opts.algo})`);
    });

  key
    .command('revocation-cert')
    .description('print the revocation certificate made at key creation, to keep offline (admin)')
    .argument('<name>', 'key name')
    .option('--key-version <fingerprint>', 'of this version (default: the current one; also spelt --version FPR)')
    .option('-o, --output <file>', 'write to FILE (mode 0600) instead of stdout')
    .action(async (name: string, opts: { keyVersion?: string; output?: string }, cmd: Command) => {
      const g = globals(cmd);
      const armored = await withClient(g, (c) => c.revocationCertificate(name, opts.keyVersion));
      if (opts.output) writeOutputFile(opts.output, Buffer.from(armored), 0o600);
      if (g.json) printJson({ name, revocation_certificate: armored, ...(opts.output ? { output: opts.output } : {}) });
      else if (!opts.output) process.stdout.write(armored);
    });

  key
    .command('lint')
    .description("check a key's certificate against what today's verifiers refuse (SHA-1 bindings, missing back-signatures, DSA, small RSA)")
    .argument('[name]', 'key name on the server')
    .option('--file <file>', 'check a certificate file (armored or binary) instead, without a server')
    .action(async (name: string | undefined, opts: { file?: string }, cmd: Command) => {
      const g = globals(cmd);
      let findings: Array<{ severity: string; code: string; message: string }>;
      if (opts.file !== undefined) {
        const { lintCertificate } = await import('../openpgp/lint.js');
        const { dearmor } = await import('../openpgp/armor.js');
        const bytes = readInputFile(opts.file);
        const text = bytes.toString('latin1');
        const binary = text.includes('-----BEGIN PGP') ? dearmor(text.slice(text.indexOf('-----BEGIN PGP'))).bytes : bytes;
        findings = lintCertificate(binary, { newKey: false });
      } else {
        if (name === undefined) throw new SignetError('USAGE', 'pass a key name or --file FILE');
        findings = (await withClient(g, (c) => c.lintKey(name))).findings;
      }
      if (g.json) printJson({ ...(name !== undefined ? { name } : {}), findings });
      else if (findings.length === 0) printLine('no problems found');
      else for (const f of findings) printLine(`${f.severity}\t${f.code}\t${f.message}`);
      if (findings.some((f) => f.severity === 'error')) process.exitCode = 1;
    });
}

/** `signet key export NAME --format armor|binary|rpm|wkd-dir DIR`. */
export async function exportKeyring(g: GlobalOptions, name: string, format: string, target: string | undefined): Promise<void> {
  const armored = await withClient(g, (c) => c.exportKey(name));
  const { dearmor, armor } = await import('../openpgp/armor.js');
  const binary = dearmor(armored).bytes;
  if (format === 'armor') {
    if (target) writeOutputFile(target, Buffer.from(armored), 0o644);
    if (g.json) printJson({ name, format, public_key: armored, ...(target ? { output: target } : {}) });
    else if (!target) process.stdout.write(armored);
    return;
  }
  if (format === 'binary') {
    if (target) writeOutputFile(target, binary, 0o644);
    else if (!g.json) process.stdout.write(binary);
    if (g.json) printJson({ name, format, bytes: binary.length, ...(target ? { output: target } : {}) });
    return;
  }
  const { parseKeyring, splitKeyring } = await import('../openpgp/certificate.js');
  if (format === 'rpm') {
    // rpm --import reads one certificate per armor block (rpm 4.x keeps only the first key of a
    // block): one block per version, concatenated in one file, which rpm imports whole.
    const text = splitKeyring(binary).map((c) => armor('PUBLIC KEY BLOCK', c)).join('');
    if (target) writeOutputFile(target, Buffer.from(text), 0o644);
    if (g.json) printJson({ name, format, public_key: text, ...(target ? { output: target } : {}) });
    else if (!target) process.stdout.write(text);
    return;
  }
  // wkd-dir
  if (!target) throw new SignetError('USAGE', '--format wkd-dir needs the directory: signet key export NAME --format wkd-dir DIR');
  const { wkdTree } = await import('../openpgp/wkd.js');
  const userIds = [...new Set(parseKeyring(binary).flatMap((c) => c.userIds))];
  const files = wkdTree(userIds, binary);
  if (files.length === 0) throw new SignetError('BAD_REQUEST', `no user ID of ${name} holds a mail address: a Web Key Directory needs one`);
  const { mkdirSync } = await import('node:fs');
  const { dirname, join } = await import('node:path');
  for (const f of files) {
    const path = join(target, ...f.path.split('/'));
    mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
    writeOutputFile(path, f.content, 0o644);
  }
  if (g.json) printJson({ name, format, directory: target, files: files.map((f) => f.path) });
  else for (const f of files) printLine(f.path);
}
