// `signet policy write NAME FILE | read NAME | list | delete NAME` (admin token). A write sends
// the YAML text as it is; the server validates all of it before storing anything (docs/policy.md).
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { SignetError } from '../errors.js';
import { printJson, printLine, readInputFile, withClient, type GlobalOptions } from './common.js';

function readPolicyText(file: string): string {
  const bytes = file === '-' ? readStdin() : readInputFile(file);
  const text = bytes.toString('utf8');
  if (!Buffer.from(text, 'utf8').equals(bytes)) throw new SignetError('POLICY_INVALID', `${file} is not UTF-8 text`);
  return text;
}

function readStdin(): Buffer {
  try {
    return readFileSync(0);
  } catch {
    throw new SignetError('FILE_UNREADABLE', 'cannot read the policy from standard input');
  }
}

export function registerPolicyCommands(program: Command): void {
  const globals = (cmd: Command): GlobalOptions => cmd.optsWithGlobals<GlobalOptions>();
  const policy = program.command('policy').description('manage policies (what tokens may sign; admin token required)');

  policy
    .command('write')
    .description('create or replace policy NAME from a YAML file (- for standard input); all or nothing')
    .argument('<name>', 'policy name (lower-case letters, digits, . _ -)')
    .argument('<file>', 'YAML policy, e.g. rules: [{keys: [rel], kinds: [rpm], names: [\'pkg-*\']}]')
    .action(async (name: string, file: string, _opts: unknown, cmd: Command) => {
      const g = globals(cmd);
      const text = readPolicyText(file);
      const written = await withClient(g, (c) => c.writePolicy(name, text));
      if (g.json) printJson({ name: written.name, rules: written.rules, updated: written.updated });
      else process.stderr.write(`signet: policy ${written.name} written (${written.rules} rule${written.rules === 1 ? '' : 's'})\n`);
    });

  policy
    .command('read')
    .description('print policy NAME as stored (YAML)')
    .argument('<name>', 'policy name')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const g = globals(cmd);
      const p = await withClient(g, (c) => c.readPolicy(name));
      if (g.json) printJson(p);
      else process.stdout.write(p.policy ?? '');
    });

  policy
    .command('list')
    .description('list policies (name and number of rules)')
    .action(async (_opts: unknown, cmd: Command) => {
      const g = globals(cmd);
      const { policies } = await withClient(g, (c) => c.listPolicies());
      if (g.json) printJson(policies);
      else for (const p of policies) printLine(`${p.name}\t${p.builtin ? 'built-in' : `${p.rules} rule${p.rules === 1 ? '' : 's'}`}`);
    });

  policy
    .command('delete')
    .description('delete policy NAME (tokens bound to it lose what it granted)')
    .argument('<name>', 'policy name')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const g = globals(cmd);
      const r = await withClient(g, (c) => c.deletePolicy(name));
      if (g.json) printJson(r);
      else process.stderr.write(`signet: policy ${r.deleted} deleted\n`);
    });
}
