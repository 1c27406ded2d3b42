// Every command definition, walked: each leaf command has --help and accepts --json (printed in
// its help), and each appears in the generated completion and man page. A command added without
// them fails here.
import { describe, expect, it } from 'vitest';
import { CommanderError, type Command } from './commander.js';
import { bashCompletion, commandTable, manPage } from './docgen.js';
import { baseProgram, buildProgram } from './signet.js';

async function program(out: { text: string }): Promise<Command> {
  const base = baseProgram().configureOutput({
    writeOut: (s) => (out.text += s),
    writeErr: (s) => (out.text += s),
    outputError: (s) => (out.text += s),
  });
  return buildProgram(base);
}

function leaves(cmd: Command, path: string[] = []): string[][] {
  if (cmd.commands.length === 0) return [path];
  return cmd.commands.flatMap((c) => leaves(c, [...path, c.name()]));
}

describe('every signet command', () => {
  it('has --help and --json', async () => {
    const all = leaves(await program({ text: '' }));
    expect(all.length).toBeGreaterThan(40);
    for (const path of all) {
      const out = { text: '' };
      const p = await program(out);
      let code: string | undefined;
      try {
        await p.parseAsync(['node', 'signet', ...path, '--json', '--help']);
      } catch (err) {
        if (!(err instanceof CommanderError)) throw err;
        code = err.code;
      }
      expect(code, path.join(' ')).toBe('commander.helpDisplayed');
      expect(out.text, path.join(' ')).toContain(`Usage: signet ${path.join(' ')}`);
      expect(out.text, path.join(' ')).toMatch(/^ {2}--json\b/m);
      expect(out.text, path.join(' ')).toMatch(/^ {2}-h, --help\b/m);
    }
  });

  it('is in the completion table and the man page', async () => {
    const p = await program({ text: '' });
    const table = new Map(commandTable(p).map((r) => [r.path, r]));
    const completion = bashCompletion(p);
    const man = manPage(p, '0');
    for (const path of leaves(p)) {
      const row = table.get(path.join(' '));
      expect(row?.options, path.join(' ')).toContain('--json');
      expect(completion, path.join(' ')).toContain(`/${path.join('/')})`);
      expect(man, path.join(' ')).toContain(`.SS "signet ${path.join(' ').replace(/-/g, '\\-')}`);
    }
  });
});
