// `signet rpm …` builds only the rpm commands (rpmProgram); everything else the whole program.
import { describe, expect, it } from 'vitest';
import type { Command } from './commander.js';
import { buildProgram, commandName, rpmProgram } from './signet.js';

const argv = (...args: string[]) => ['node', 'signet', ...args];

describe('signet command selection', () => {
  it('finds the first command word after global options and their values', async () => {
    const program = await buildProgram();
    expect(commandName(argv('rpm', 'sign', '--key', 'k', 'a.rpm'), program)).toBe('rpm');
    expect(commandName(argv('--json', 'rpm', 'sign'), program)).toBe('rpm');
    expect(commandName(argv('--addr', 'http://x', '--token', 't', 'rpm', 'sign'), program)).toBe('rpm');
    expect(commandName(argv('--addr=http://x', 'rpm'), program)).toBe('rpm');
    // `rpm` as the value of --addr is not the command.
    expect(commandName(argv('--addr', 'rpm', 'sign'), program)).toBe('sign');
    expect(commandName(argv('--ca-file', 'rpm', 'key', 'list'), program)).toBe('key');
    expect(commandName(argv('--help'), program)).toBeUndefined();
    expect(commandName(argv('-V'), program)).toBeUndefined();
    expect(commandName(argv('--', 'rpm'), program)).toBeUndefined();
    expect(commandName(argv('help', 'rpm'), program)).toBe('help');
  });

  it('the rpm-only program has the same rpm commands, options and help as the whole one', async () => {
    const whole = await buildProgram();
    const only = rpmProgram();
    const rpmOf = (p: Command) => p.commands.find((c) => c.name() === 'rpm')!;
    expect(only.commands.map((c) => c.name())).toEqual(['rpm']);
    expect(only.options.map((o) => o.flags)).toEqual(whole.options.map((o) => o.flags));
    expect(rpmOf(only).helpInformation()).toBe(rpmOf(whole).helpInformation());
    for (const sub of ['sign', 'verify']) {
      const a = rpmOf(only).commands.find((c) => c.name() === sub)!;
      const b = rpmOf(whole).commands.find((c) => c.name() === sub)!;
      expect(a.helpInformation()).toBe(b.helpInformation());
    }
    expect(whole.commands.length).toBeGreaterThan(10);
  });
});
