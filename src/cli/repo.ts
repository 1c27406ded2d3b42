// `signet repo sign yum|apt|pacman` (design.md CLI contract; docs/repositories.md). Thin: the
// work is in src/repo/.
import type { Command } from 'commander';
import { signAptDist, parseValidFor } from '../repo/apt.js';
import { signYumRepo } from '../repo/yum.js';
import { signPacmanRepo } from '../repo/pacman.js';
import { printJson, withClient, type GlobalOptions } from './common.js';

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
      const result = await withClient(g, (c) => signPacmanRepo(c, opts.key, db));
      if (g.json) printJson({ key: opts.key, ...result });
      else {
        for (const f of result.files) process.stderr.write(`signet: signed ${f.archive} with ${opts.key} (${result.fingerprint}) -> ${f.signature}, ${f.link}\n`);
      }
    });
}
