// commander, loaded with require(). It is CommonJS: an ESM `import … from 'commander'` makes Node
// run its CommonJS export lexer over commander's sources on every start of the CLI (about 20 ms
// of CPU on a 2-core machine, a tenth of `signet rpm sign`'s startup); require() does not.
import { createRequire } from 'node:module';
import type * as Commander from 'commander';

const commander = createRequire(import.meta.url)('commander') as typeof Commander;

export const { Command, CommanderError, Option } = commander;
export type Command = Commander.Command;
export type CommanderError = Commander.CommanderError;
export type Option = Commander.Option;
