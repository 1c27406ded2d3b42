// `signet store …`: operator commands that work on a store directly, not through the server.
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { SignetError } from '../errors.js';
import { printJson, printLine } from './common.js';

export function registerStoreCommands(program: Command): void {
  const store = program.command('store').description('operate on the storage engine directly (stop the servers first)');

  store
    .command('migrate')
    .description('copy everything from an SQLite store into an empty PostgreSQL database, then prove the copy')
    .requiredOption('--from <url>', 'source store, sqlite:PATH')
    .requiredOption('--to <url>', 'target store, postgres://…')
    .action(async (opts: { from: string; to: string }, cmd: Command) => {
      if (!opts.from.startsWith('sqlite:') || opts.from.length === 'sqlite:'.length) {
        throw new SignetError('USAGE', '--from must be sqlite:PATH');
      }
      if (!/^postgres(ql)?:\/\//.test(opts.to)) throw new SignetError('USAGE', '--to must be a postgres:// URL');
      const path = resolve(opts.from.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, ''));
      const { importSqliteIntoPostgres } = await import('../store/migrate/import-sqlite.js');
      const report = await importSqliteIntoPostgres(path, opts.to);
      if (cmd.optsWithGlobals<{ json?: boolean }>().json) {
        printJson(report);
        return;
      }
      for (const [table, rows] of Object.entries(report.tables)) printLine(`${table}\t${rows}`);
      process.stderr.write(`signet: migrated and verified: ${report.verified.join(', ')}\n`);
    });
}
