// `signet repo sign yum|apt|pacman` (README "CLI"; docs/repositories.md). Thin: the
// work is in src/repo/, imported when a command runs (the signers are not loaded at startup).
import type { Command } from 'commander';
import type { SignetClient } from '../client/client.js';
import { SignetError } from '../errors.js';
import type { PublicKeyInfo } from '../openpgp/index.js';
import type { GateReport } from '../repo/gate.js';
import { printJson, printLine, withClient, type GlobalOptions } from './common.js';

function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals<GlobalOptions>();
}

export function registerRepoCommands(program: Command): void {
  const repo = program.command('repo').description('sign repository metadata (yum, apt, pacman)');
  const sign = repo.command('sign').description('sign the metadata of a yum, apt or pacman repository');

  sign
    .command('yum')
    .description('DIR/repodata/repomd.xml -> repomd.xml.asc (armored detached), for repo_gpgcheck=1')
    .argument('<dir>', 'repository root (the directory holding repodata/)')
    .requiredOption('--key <name>', 'signing key')
    .action(async (dir: string, opts: { key: string }, cmd: Command) => {
      const g = globals(cmd);
      const { signYumRepo } = await import('../repo/yum.js');
      const result = await withClient(g, (c) => signYumRepo(c, opts.key, dir));
      if (g.json) printJson({ key: opts.key, ...result });
      else process.stderr.write(`signet: signed ${result.repomd} with ${opts.key} (${result.fingerprint}) -> ${result.signature}\n`);
    });

  sign
    .command('apt')
    .description('DIST_DIR/Release -> InRelease (cleartext) + Release.gpg (armored), SHA-512')
    .argument('<dist-dir>', 'directory holding Release, e.g. repo/dists/stable')
    .requiredOption('--key <name>', 'signing key')
    .option('--valid-for <duration>', 'rewrite Date and Valid-Until (e.g. 7d, 12h) before signing; re-sign on a timer')
    .action(async (distDir: string, opts: { key: string; validFor?: string }, cmd: Command) => {
      const g = globals(cmd);
      const { parseValidFor, signAptDist } = await import('../repo/apt.js');
      const validForSeconds = opts.validFor !== undefined ? parseValidFor(opts.validFor) : undefined;
      const result = await withClient(g, (c) => signAptDist(c, opts.key, distDir, validForSeconds !== undefined ? { validForSeconds } : {}));
      if (g.json) printJson({ key: opts.key, ...result });
      else {
        process.stderr.write(
          `signet: signed ${result.release} with ${opts.key} (${result.fingerprint}) -> InRelease, Release.gpg${result.validUntil ? `; valid until ${result.validUntil}` : ''}\n`,
        );
      }
    });

  sign
    .command('pacman')
    .description('NAME.db.tar.gz -> .sig (binary) + NAME.db.sig link, and NAME.files.*, as `repo-add -s` leaves them')
    .argument('<db>', 'the database archive (NAME.db.tar.gz) or its NAME.db link')
    .requiredOption('--key <name>', 'signing key')
    .action(async (db: string, opts: { key: string }, cmd: Command) => {
      const g = globals(cmd);
      const { signPacmanRepo } = await import('../repo/pacman.js');
      const result = await withClient(g, (c) => signPacmanRepo(c, opts.key, db));
      if (g.json) printJson({ key: opts.key, ...result });
      else {
        for (const f of result.files) process.stderr.write(`signet: signed ${f.archive} with ${opts.key} (${result.fingerprint}) -> ${f.signature}, ${f.link}\n`);
      }
    });
}

// ---- gate and publish ----------------------------------------------------------------------------

/** --keys K1,K2: each the name of a key on the server, or an armored public key file when it is
 *  unmistakably a path (contains "/", or has a "file:" prefix). Never guessed from what happens
 *  to exist: run from inside a staging tree, a file called like the release key must not become
 *  the key the gate trusts. */
async function allowedKeys(g: GlobalOptions, spec: string): Promise<PublicKeyInfo[]> {
  const items = spec.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (items.length === 0) throw new SignetError('USAGE', '--keys needs at least one key');
  const { publicKeysFromArmor } = await import('../openpgp/index.js');
  const { readFileLimited } = await import('../repo/files.js');
  const keys: PublicKeyInfo[] = [];
  const names: string[] = [];
  for (const item of items) {
    const path = item.startsWith('file:') ? item.slice('file:'.length) : item.includes('/') ? item : null;
    if (path !== null) keys.push(...publicKeysFromArmor(readFileLimited(path, 16 * 1024 * 1024).toString('utf8')));
    else names.push(item);
  }
  if (names.length > 0) {
    const armored = await withClient(g, (c) => Promise.all(names.map((n) => c.exportKey(n))));
    for (const a of armored) keys.push(...publicKeysFromArmor(a));
  }
  return keys;
}

function printReport(g: GlobalOptions, dir: string, report: GateReport): void {
  if (g.json) printJson({ dir, ...report });
  else for (const f of report.findings) printLine(`${f.path}: ${f.problem} (${f.kind}): ${f.detail}`);
  if (g.json && report.ok) return;
  process.stderr.write(
    report.ok
      ? `signet: gate passed: ${report.checked.length} signatures checked in ${dir}\n`
      : `signet: gate refused ${dir}: ${report.findings.length} problem(s), ${report.checked.length} signatures good (GATE_REFUSED)\n`,
  );
}

export function registerGateCommands(program: Command): void {
  program
    .command('gate')
    .description('check every RPM, repository signature and detached signature in DIR against the allowed keys; exit 1 on any problem')
    .argument('<dir>', 'directory tree to check')
    .requiredOption('--keys <k1,k2>', 'allowed keys, comma-separated: server key names, or armored public key files given as paths (containing "/", or file:NAME)')
    .option('--require-signed', 'every file needs a signature or an entry in signed metadata or a signed checksum list')
    .action(async (dir: string, opts: { keys: string; requireSigned?: boolean }, cmd: Command) => {
      const g = globals(cmd);
      const { gateDirectory } = await import('../repo/gate.js');
      const report = await gateDirectory(dir, await allowedKeys(g, opts.keys), { requireSigned: opts.requireSigned === true });
      printReport(g, dir, report);
      if (!report.ok) process.exitCode = 1;
    });

  program
    .command('publish')
    .description('sign STAGING where needed, gate a copy of it, and switch the LIVE symlink to it atomically')
    .argument('<staging>', 'the tree to publish')
    .argument('[live]', 'the published path: a symbolic link that publish switches (created if absent)')
    .option('--key <name>', 'sign unsigned, wrongly signed or stale repository metadata in STAGING with this key')
    .option('--keys <k1,k2>', 'keys the gate accepts: server key names, or public key files given as paths (containing "/", or file:NAME) (default: --key)')
    .option('--no-require-signed', 'let files that no signature covers through (by default every file needs one)')
    .option('--valid-for <duration>', 'apt: rewrite Date/Valid-Until and re-sign every Release (needs --key)')
    .option('--keep <n>', 'releases to keep, the live one included (default 3)')
    .option('--rollback', 'switch LIVE back to the previous release (`signet publish --rollback LIVE`; gated again when --keys is given)')
    .action(async (staging: string, liveArg: string | undefined, opts: { key?: string; keys?: string; validFor?: string; keep?: string; rollback?: boolean; requireSigned: boolean }, cmd: Command) => {
      const g = globals(cmd);
      const [{ publish, rollback }, { parseValidFor }] = await Promise.all([import('../repo/publish.js'), import('../repo/apt.js')]);
      // `signet publish --rollback LIVE` or `signet publish STAGING LIVE --rollback`.
      const live = liveArg ?? (opts.rollback ? staging : undefined);
      if (live === undefined) throw new SignetError('USAGE', 'publish needs STAGING and LIVE');
      if (opts.rollback) {
        const keys = opts.keys !== undefined ? await allowedKeys(g, opts.keys) : undefined;
        const result = await rollback(live, keys ? { keys } : {});
        if (g.json) printJson(result);
        else process.stderr.write(`signet: ${live} rolled back to ${result.release} (was ${result.from})\n`);
        return;
      }
      const keySpec = opts.keys ?? opts.key;
      if (keySpec === undefined) throw new SignetError('USAGE', 'publish needs --keys (or --key) for the gate');
      if (opts.validFor !== undefined && opts.key === undefined) throw new SignetError('USAGE', '--valid-for needs --key');
      const validForSeconds = opts.validFor !== undefined ? parseValidFor(opts.validFor) : undefined;
      const keep = opts.keep !== undefined ? Number(opts.keep) : undefined;
      const keys = await allowedKeys(g, keySpec);
      const run = (client?: SignetClient) =>
        publish(staging, live, {
          keys,
          requireSigned: opts.requireSigned,
          ...(client && opts.key ? { client, key: opts.key } : {}),
          ...(validForSeconds !== undefined ? { validForSeconds } : {}),
          ...(keep !== undefined ? { keep } : {}),
        });
      let result;
      try {
        result = opts.key !== undefined ? await withClient(g, (c) => run(c)) : await run();
      } catch (err) {
        const report = (err as { report?: GateReport }).report;
        if (report) printReport(g, staging, report);
        throw err;
      }
      if (g.json) printJson(result);
      else {
        for (const s of result.signed) process.stderr.write(`signet: signed ${s.kind} metadata in ${s.path}\n`);
        process.stderr.write(`signet: published ${result.release} at ${live} (${result.gate.checked.length} signatures checked)\n`);
      }
    });
}
