// The CLI's entry point (bin/signet). A plain `signet rpm sign` line, the command a pipeline that
// signs one package per job starts once per package, goes straight to the signer: no commander,
// no command definitions (src/cli/rpm-sign-argv.ts reads the line). Every other line, and any
// `rpm sign` line that reader leaves alone (help, usage errors), goes to the full program.
import { parseRpmSignArgv } from './rpm-sign-argv.js';

export async function main(argv: string[]): Promise<void> {
  const line = parseRpmSignArgv(argv.slice(2));
  if (line === undefined) return (await import('./signet.js')).main(argv);
  const [{ endQuietlyOnClosedPipe }, { reportFailure }, { runRpmSign }] = await Promise.all([import('./pipe.js'), import('./failure.js'), import('./rpm-sign.js')]);
  endQuietlyOnClosedPipe('signet');
  try {
    await runRpmSign(line.globals, line.files, line.opts);
  } catch (err) {
    process.exitCode = reportFailure(err);
  }
}
