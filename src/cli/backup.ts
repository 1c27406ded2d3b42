// `signet backup` and `signet restore`: an online copy of the SQLite store, and its restore into
// a data dir, refused when the copy's log is behind a checkpoint already published (a fork that
// monitors would see). Registration only; backup-run.ts does the work when a command runs.
import type { Command } from 'commander';
import { lazyAction } from './lazy.js';

export function registerBackupCommands(program: Command): void {
  program
    .command('backup')
    .description('copy the SQLite store while the server runs (not master.key: keep that apart; PostgreSQL: pg_dump)')
    .requiredOption('--out <file>', 'the backup file to write (must not exist)')
    .option('--store <url>', 'sqlite:PATH (default DATA/signet.db)')
    .action(lazyAction(async () => (await import('./backup-run.js')).backupAction));
  program
    .command('restore')
    .description('restore a backup into a data dir without signet.db; refuses one whose log is behind the last published checkpoint')
    .argument('<file>', 'a file written by signet backup')
    .option('--store <url>', 'sqlite:PATH to restore to (default DATA/signet.db)')
    .option('--checkpoint <file>', 'the last published checkpoint (default DATA/published-checkpoint; or a log monitor\'s checkpoint file)')
    .option('--force', 'restore even if the backup is behind that checkpoint, or none is known (the log forks)')
    .action(lazyAction(async () => (await import('./backup-run.js')).restoreAction));
}
