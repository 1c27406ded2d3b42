// Shell completion (bash, zsh) and the man page, generated from the command definitions the CLI
// parses with: a command or option added to the program shows up in both without another list
// to keep in step. `signet completion bash|zsh` and `signet man` print them.
import type { Command, Option } from 'commander';

interface Node {
  /** Words after `signet`, e.g. ['key', 'create']. */
  readonly path: readonly string[];
  readonly cmd: Command;
}

function walk(cmd: Command, path: readonly string[] = []): Node[] {
  const out: Node[] = [{ path, cmd }];
  for (const sub of cmd.commands) out.push(...walk(sub, [...path, sub.name()]));
  return out;
}

function optionWords(options: readonly Option[]): string[] {
  return options.flatMap((o) => [o.short, o.long].filter((f): f is string => f !== undefined));
}

function takesValue(o: Option): boolean {
  return o.required || o.optional;
}

/** Every command path with its subcommands and options (its own and the inherited globals). */
export function commandTable(program: Command): Array<{ path: string; subcommands: string[]; options: string[] }> {
  const globals = program.options as readonly Option[];
  return walk(program).map(({ path, cmd }) => ({
    path: path.join(' '),
    subcommands: cmd.commands.map((c) => c.name()),
    options: [...new Set([...optionWords(cmd.options as readonly Option[]), ...optionWords(globals), '--help'])],
  }));
}

/** The options whose next word is their value, anywhere on the line (so it is not a command). */
function valueOptions(program: Command): string[] {
  const words = new Set<string>();
  for (const { cmd } of walk(program)) for (const o of cmd.options as readonly Option[]) if (takesValue(o)) optionWords([o]).forEach((w) => words.add(w));
  return [...words].sort();
}

const shellWord = (s: string): string => (/^[A-Za-z0-9_./:+-]*$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

export function bashCompletion(program: Command): string {
  const name = program.name();
  const fn = `_${name.replace(/[^A-Za-z0-9_]/g, '_')}_complete`;
  const table = commandTable(program);
  const cases = table
    .map((row) => `    ${shellWord(`/${row.path.replace(/ /g, '/')}`)}) subs=${shellWord(row.subcommands.join(' '))}; opts=${shellWord(row.options.join(' '))} ;;`)
    .join('\n');
  return `# bash completion for ${name}, generated from its command definitions (\`${name} completion bash\`).
# Load it with:  source <(${name} completion bash)   or install it as
# /usr/share/bash-completion/completions/${name}
${fn}() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" path="" i w subs opts skip=""
  local valued=" ${valueOptions(program).join(' ')} "
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    if [[ -n $skip ]]; then skip=""; continue; fi
    if [[ $w == -* ]]; then [[ $valued == *" $w "* ]] && skip=1; continue; fi
    case "$path/$w" in
${table
  .filter((r) => r.path !== '')
  .map((r) => `      ${shellWord(`/${r.path.replace(/ /g, '/')}`)}) path="$path/$w" ;;`)
  .join('\n')}
    esac
  done
  # The word after an option that takes a value: a file name.
  if [[ -n $skip ]]; then COMPREPLY=($(compgen -f -- "$cur")); return; fi
  case "\${path:-/}" in
${cases}
    *) subs=""; opts="--help" ;;
  esac
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
  elif [[ -n $subs ]]; then
    COMPREPLY=($(compgen -W "$subs" -- "$cur"))
  else
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
}
complete -o filenames -F ${fn} ${name}
`;
}

/** zsh runs the bash function through bashcompinit (shipped with zsh). */
export function zshCompletion(program: Command): string {
  const name = program.name();
  return `#compdef ${name}
# zsh completion for ${name}, generated from its command definitions (\`${name} completion zsh\`).
# Load it with:  source <(${name} completion zsh)
autoload -U +X bashcompinit && bashcompinit
${bashCompletion(program).split('\n').filter((l) => !l.startsWith('#')).join('\n')}`;
}

/** roff: backslashes as \\e, non-ASCII as \\[uXXXX] (groff_char(7)), a leading dot or quote escaped, dashes of options as \\- (minus). */
function roff(text: string): string {
  return text
    .replace(/\\/g, '\\e')
    .replace(/^([.'])/gm, '\\&$1')
    .replace(/-/g, '\\-')
    .replace(/[^\x20-\x7e\n]/gu, (c) => `\\[u${(c.codePointAt(0) ?? 0x3f).toString(16).toUpperCase().padStart(4, '0')}]`);
}

function optionItem(o: Option): string {
  const flags = [o.short, o.long].filter(Boolean).map((f) => `\\fB${roff(f as string)}\\fR`).join(', ');
  const arg = o.flags.match(/[<[][^>\]]+[>\]]/)?.[0];
  const choices = o.argChoices ? ` (one of: ${o.argChoices.join(', ')})` : '';
  const dflt = o.defaultValue !== undefined && typeof o.defaultValue !== 'boolean' ? ` (default: ${String(o.defaultValue)})` : '';
  return `.TP\n${flags}${arg ? ` \\fI${roff(arg)}\\fR` : ''}\n${roff(`${o.description}${choices}${dflt}`)}\n`;
}

export function manPage(program: Command, version: string, date = new Date().toISOString().slice(0, 10)): string {
  const name = program.name();
  let out = `.\\" Generated from ${name}'s command definitions by \`${name} man\`.\n`;
  out += `.TH ${name.toUpperCase()} 1 "${date}" "${name} ${version}" "User Commands"\n`;
  out += `.SH NAME\n${name} \\- ${roff(program.description())}\n`;
  out += `.SH SYNOPSIS\n.B ${name}\n[\\fIglobal options\\fR] \\fIcommand\\fR [\\fIoptions\\fR] [\\fIarguments\\fR]\n`;
  out += `.SH DESCRIPTION\n${roff(program.description())}\n.PP\nEvery failure is one line on standard error, \\fB${name}: \\fImessage\\fB (\\fICODE\\fB)\\fR; the exit status is 0 on success, 1 when an operation is refused or fails, 2 on a usage error, and 141 when standard output is closed early (as for coreutils).\n`;
  out += `.SH GLOBAL OPTIONS\n${(program.options as readonly Option[]).map(optionItem).join('')}`;
  out += '.SH COMMANDS\n';
  for (const { path, cmd } of walk(program)) {
    if (path.length === 0 || cmd.commands.length > 0) continue;
    const args = cmd.registeredArguments.map((a) => (a.required ? `<${a.name()}${a.variadic ? '...' : ''}>` : `[${a.name()}${a.variadic ? '...' : ''}]`));
    out += `.SS "${roff([name, ...path, ...args].join(' '))}"\n${roff(cmd.description())}\n`;
    for (const a of cmd.registeredArguments) if (a.description) out += `.TP\n\\fI${roff(a.name())}\\fR\n${roff(a.description)}\n`;
    out += (cmd.options as readonly Option[]).map(optionItem).join('');
  }
  out += `.SH ENVIRONMENT\n.TP\n.B SIGNET_ADDR, SIGNET_TOKEN, SIGNET_CA_FILE, SIGNET_TIMEOUT, SIGNET_DATA\nDefaults for \\fB\\-\\-addr\\fR, \\fB\\-\\-token\\fR, \\fB\\-\\-ca\\-file\\fR, \\fB\\-\\-timeout\\fR and \\fB\\-\\-data\\fR.\n.TP\n.B SIGNET_CONFIG\nThe client configuration file (default \\fI~/.config/signet/client.yaml\\fR, then \\fI/etc/signet/client.yaml\\fR): addr, token or token_file, ca_file, default_key, timeout.\n`;
  out += `.SH SEE ALSO\n.BR signet\\-gpg (1),\n.BR gpg (1),\n.BR rpmsign (8)\n`;
  return out;
}
