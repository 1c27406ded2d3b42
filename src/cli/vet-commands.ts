// `signet vet`, `signet approve`, `signet reject`, `signet requests` (docs/vetting.md,
// docs/approvals.md): registration only; the implementations are imported when a command runs.
import type { Command } from 'commander';
import { lazyAction } from './lazy.js';

const collect = (v: string, acc: string[] = []): string[] => [...acc, v];

export function registerVetCommands(program: Command): void {
  program
    .command('vet')
    .description('check TARBALL against the signed git tag it claims to be, and log the verdict as a vetting record')
    .argument('<tarball>', 'release tarball (tar or tar.gz)')
    .option('--git <repo>', 'git checkout or bare repository holding the tag (client-side vetting)')
    .requiredOption('--tag <tag>', 'the release tag: annotated and signed by a key in --keyring')
    .option('--keyring <keys.asc>', "the project's armored public keys of release managers")
    .option('--allow-generated <pattern>', 'a file the sdist step may add, e.g. PKG-INFO, AUTHORS, ChangeLog, *.egg-info/** (repeatable)', collect)
    .option('--repository <name>', 'repository name recorded in the log (default: the git remote origin URL, else the directory name)')
    .option('--name <artifact>', 'artifact name recorded in the log (default: the file name)')
    .option('--mirror <repo>', "vet on the server against its mirror of REPO (server-side vetting) instead of --git/--keyring")
    .option('--no-record', 'check only; log nothing (no server needed)')
    .action(lazyAction(async () => (await import('./vet-run.js')).vetAction));

  program
    .command('approve')
    .description('approve a signing request held for approvals (a listed approver, not its requester)')
    .argument('<id>', 'request id')
    .option('--comment <text>', 'recorded with the approval in the log')
    .action(lazyAction(async () => (await import('./approvals.js')).decideAction('approve')));

  program
    .command('reject')
    .description('reject a signing request held for approvals: it will not be signed')
    .argument('<id>', 'request id')
    .option('--comment <text>', 'recorded with the rejection in the log')
    .action(lazyAction(async () => (await import('./approvals.js')).decideAction('reject')));

  program
    .command('requests')
    .description('list signing requests held for approvals, newest first')
    .option('--pending', 'only those still waiting')
    .action(lazyAction(async () => (await import('./approvals.js')).requestsAction));
}
