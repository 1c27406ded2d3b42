// commander, loaded with require(). It is CommonJS: an ESM `import … from 'commander'` makes Node
// run its CommonJS export lexer over commander's sources on every start of the CLI (about 20 ms
// of CPU on a 2-core machine, a tenth of `signet rpm sign`'s startup); require() does not.
import { createRequire } from 'node:module';
import type * as Commander from 'commander';

const commander = createRequire(import.meta.url)('commander') as typeof Commander;

export const { Argument, Command, CommanderError, Option } = commander;
export type Command = Commander.Command;
export type CommanderError = Commander.CommanderError;
export type Option = Commander.Option;
export type Argument = Commander.Argument;

// A mistyped option is reported as what it is. commander checks required options before unknown
// ones, so `signet sign --kye rel f` said "required option '--key' not specified", pointing away
// from the typo. The last parse's unknown words are remembered (parseOptions is public API), and
// a missing required option first reports the unknown option when there is one.
type Internal = Commander.Command & {
  missingMandatoryOptionValue(option: Commander.Option): never;
  unknownOption(flag: string): never;
};
interface Parsed {
  readonly cmd: Internal;
  readonly unknown: readonly string[];
}
let lastParse: Parsed | undefined;
const proto = Command.prototype as Internal;
const parseOptions = proto.parseOptions;
proto.parseOptions = function (this: Commander.Command, argv: string[]) {
  const parsed = parseOptions.call(this, argv);
  lastParse = { cmd: this as Internal, unknown: parsed.unknown };
  return parsed;
};
const missingMandatoryOptionValue = proto.missingMandatoryOptionValue;
proto.missingMandatoryOptionValue = function (this: Internal, option: Commander.Option): never {
  const first = lastParse?.unknown[0];
  if (lastParse && first !== undefined && first.length > 1 && first.startsWith('-')) lastParse.cmd.unknownOption(first);
  return missingMandatoryOptionValue.call(this, option);
};
