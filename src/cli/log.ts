// `signet log …`: read and audit the transparency log.
//   checkpoint                     print the latest signed checkpoint
//   key                            print the log's verifier key
//   verify [--from-checkpoint F]   recompute the tree from every entry; check signature, root and
//                                  consistency with F; name the first bad entry (exit 1)
//   verify --offline | --store URL read the store in DATA (or URL) directly instead of the server
//   proof INDEX                    C2SP tlog-proof receipt for an entry
//   tail [-n N] [--follow]         recent entries, one line each
//   monitor --checkpoint-file F    poll; check each new checkpoint is consistent with F; update F
//   search --since 24h [filters]   who signed what, when (admin; log-search.ts)
//   verify-receipt RECEIPT         check a receipt offline against a pinned log key (log-search.ts)
// Registration only; the implementations are in log-run.ts, imported when a command runs.
import type { Command } from 'commander';
import { lazyAction } from './lazy.js';

export function registerLogCommands(program: Command): void {
  const log = program.command('log').description('read and audit the transparency log');

  log
    .command('checkpoint')
    .description('print the latest signed checkpoint (origin, size, root, signature lines)')
    .action(lazyAction(async () => (await import('./log-run.js')).logCheckpointAction));

  log
    .command('key')
    .description("print the log's verifier key (pin it with --log-key)")
    .action(lazyAction(async () => (await import('./log-run.js')).logKeyAction));

  log
    .command('verify')
    .description('recompute the tree from every entry and check the signed checkpoint; name the first bad entry')
    .option('--from-checkpoint <file>', 'a checkpoint saved earlier: the log must still contain it')
    .option('--log-key <vkey|file>', "the log's verifier key (default: the key the server or store states)")
    .option('--offline', 'read the store in DATA directly instead of asking the server')
    .option('--store <url>', 'read this store directly (sqlite:PATH or postgres://…); implies --offline')
    .option('--save-checkpoint <file>', 'after success, write the verified checkpoint here')
    .action(lazyAction(async () => (await import('./log-run.js')).logVerifyAction));

  log
    .command('proof')
    .description('print a C2SP tlog-proof receipt for an entry (verifiable offline with the log key)')
    .argument('<index>', 'the entry index (the `log.index` of a sign response)')
    .option('--log-key <vkey|file>', "check the receipt against this key before printing")
    .action(lazyAction(async () => (await import('./log-run.js')).logProofAction));

  log
    .command('tail')
    .description('print recent log entries, one per line')
    .option('-n, --lines <n>', 'how many', '20')
    .option('-f, --follow', 'keep printing new entries')
    .action(lazyAction(async () => (await import('./log-run.js')).logTailAction));

  log
    .command('search')
    .description('who signed what, when: log entries in a time window, by key, role, name or kind (admin)')
    .requiredOption('--since <when>', 'a duration ago (24h, 7d) or an ISO 8601 time')
    .option('--until <when>', 'end of the window (default: now)')
    .option('--key <name>', 'a key name or fingerprint')
    .option('--role <role>', 'the role that asked (a token without a role: its display name)')
    .option('--name <glob>', 'artifact (or key) name glob, as in policies: * within a path segment, ** across')
    .option('--kind <kind>', 'detached, clearsign, rpm, yum, apt, pacman, sums, git; key (key events), vet (vetting records), approval_request or approval')
    .option('--limit <n>', 'most entries (default 1000, at most 10000)')
    .action(lazyAction(async () => (await import('./log-search.js')).logSearchAction));

  log
    .command('verify-receipt')
    .description('check a receipt (signet log proof, or a sign response with receipt=1) offline against a pinned log key')
    .argument('<receipt>', 'the receipt file (c2sp.org/tlog-proof@v1)')
    .option('--log-key <vkey|file>', "the log's verifier key you trust (or SIGNET_LOG_KEY)")
    .option('--signature <file>', 'also check this detached signature (.sig or .asc) is the logged one')
    .option('--artifact <file>', 'also check this file has the logged digest')
    .action(lazyAction(async () => (await import('./log-search.js')).logVerifyReceiptAction));

  log
    .command('monitor')
    .description('poll the log; check each checkpoint is consistent with the saved one, then save it (exit 1 on a fork)')
    .requiredOption('--checkpoint-file <file>', 'the last checkpoint seen (created on first run)')
    .option('--interval <duration>', 'poll interval', '30s')
    .option('--once', 'check once and exit')
    .option('--log-key <vkey|file>', "the log's verifier key (default: the server's, on first run)")
    .action(lazyAction(async () => (await import('./log-run.js')).logMonitorAction));
}
