// `signet rpm sign` and `signet rpm verify` (README "CLI"): registration
// only. The implementations are in rpm-sign.ts and rpm-verify.ts, imported when a command runs.
import type { Command } from 'commander';
import { lazyAction } from './lazy.js';

export function registerRpmCommands(program: Command): void {
  const rpm = program.command('rpm').description('sign and verify RPM packages (header signatures, in place)');

  rpm
    .command('sign')
    .description('add a header signature to each package, in place; only the headers are sent')
    .argument('<files...>', 'RPM packages')
    .requiredOption('--key <name>', 'signing key; repeat it to sign with several keys in one pass (rpm 6 layout, docs/formats.md)', (v: string, acc: string[] = []) => [...acc, v])
    .option('--rpmv6', 'write the rpm 6 layout (tag 278) also for a single v4 key, as `rpmsign --rpmv6` does')
    .option('--replace', 'replace an existing signature (default: refuse packages already signed)')
    .option('--no-wait', 'when the rule needs approvals, print the request id and return instead of waiting')
    .option('--approval <id>', 'sign under this approved request (the same packages, after --no-wait)')
    .action(lazyAction(async () => (await import('./rpm-sign.js')).rpmSignAction));

  rpm
    .command('verify')
    .description('check header digests, payload digest and header signature, like `rpmkeys -Kv`')
    .argument('<files...>', 'RPM packages')
    .option('--key <name>', "accept only this signet key (default: any of the server's keys)")
    .option('--keyring <file.asc>', 'verify offline against armored public keys (repeatable)', (v: string, acc: string[] = []) => [...acc, v])
    .action(lazyAction(async () => (await import('./rpm-verify.js')).rpmVerifyAction));
}
