// `signet gpg-shim install DIR`: a `gpg` link to signet-gpg in DIR, for tools that run `gpg` by
// name from PATH (repo-add, makepkg). Put DIR first on PATH for those tools only; the shim hands
// verification to the next `gpg` on PATH, skipping itself.
import { lstatSync, mkdirSync, readlinkSync, symlinkSync, unlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { SignetError } from '../errors.js';
import { printJson, type GlobalOptions } from './common.js';

/** bin/signet-gpg of this installation (dist/cli/gpg-shim.js → ../../bin). */
export const SHIM_PATH = fileURLToPath(new URL('../../bin/signet-gpg', import.meta.url));

export function installGpgLink(dir: string, force: boolean): string {
  const target = resolve(dir);
  try {
    mkdirSync(target, { recursive: true, mode: 0o755 });
  } catch (err) {
    throw new SignetError('FILE_WRITE_FAILED', `cannot create ${target}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  const link = join(target, 'gpg');
  let existing: string | undefined;
  try {
    const st = lstatSync(link);
    existing = st.isSymbolicLink() ? readlinkSync(link) : '(a file)';
  } catch {
    existing = undefined;
  }
  if (existing === SHIM_PATH) return link;
  if (existing !== undefined) {
    if (!force) throw new SignetError('USAGE', `${link} exists and is not a link to signet-gpg; pass --force to replace it`);
    unlinkSync(link);
  }
  try {
    symlinkSync(SHIM_PATH, link);
  } catch (err) {
    throw new SignetError('FILE_WRITE_FAILED', `cannot create ${link}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  return link;
}

export function registerGpgShimCommands(program: Command): void {
  const shim = program.command('gpg-shim').description('set up signet-gpg for tools that call gpg by name');
  shim
    .command('install')
    .description('put a `gpg` link to signet-gpg in DIR; run repo-add/makepkg with DIR first on PATH')
    .argument('<dir>', 'directory for the link (created if missing)')
    .option('--force', 'replace an existing DIR/gpg')
    .action((dir: string, opts: { force?: boolean }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const link = installGpgLink(dir, Boolean(opts.force));
      if (g.json) printJson({ link, target: SHIM_PATH });
      else process.stderr.write(`signet: ${link} -> ${SHIM_PATH}; use PATH=${resolve(dir)}:$PATH for the tools that run gpg\n`);
    });
}
