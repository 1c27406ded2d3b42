// `signet audit …`: check the audit log of authorisation decisions (DATA/audit.log).
//   verify [--file F]... [--from-head H] [--save-head H]
//       check the HMAC chain of every line (key derived from the master key, so this runs on the
//       server host); name the first deleted, edited, reordered or inserted line (exit 1); with
//       --from-head, the log must still hold the head saved by an earlier run (cut-off tail).
// Registration only; the implementation is in audit-run.ts, imported when the command runs.
import type { Command } from 'commander';
import { lazyAction } from './lazy.js';

export function registerAuditCommands(program: Command): void {
  const audit = program.command('audit').description('check the audit log of authorisation decisions');
  audit
    .command('verify')
    .description('check the HMAC chain of DATA/audit.log; name the first deleted, edited, reordered or inserted line')
    .option('--file <file>', 'the audit log (default DATA/audit.log); repeat for rotated files, oldest first, the chain runs across them', (v: string, p: string[] = []) => [...p, v])
    .option('--from-head <file>', 'a head saved by an earlier run: the log must still hold it (catches a cut-off tail)')
    .option('--save-head <file>', 'after success, write the last record (number and MAC) here')
    .action(lazyAction(async () => (await import('./audit-run.js')).auditVerifyAction));
}
