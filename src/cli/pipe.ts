// A closed standard output ends the command quietly, as it ends coreutils: `signet log tail |
// head -1` must not print a stack trace when head exits. Node ignores SIGPIPE, so the write
// fails with EPIPE instead; the command then exits with 141 (128 + SIGPIPE), the status a shell
// reports for `seq 1000000 | head -1` under `set -o pipefail`, so a pipeline can tell that the
// reader stopped early and a script that does not use pipefail sees nothing at all.
export const CLOSED_PIPE_EXIT = 141;

/** Install once, first thing in main(). `name` prefixes the one-line error for other failures. */
export function endQuietlyOnClosedPipe(name: string): void {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(CLOSED_PIPE_EXIT);
    process.stderr.write(`${name}: cannot write to standard output: ${err.code ?? err.message} (FILE_WRITE_FAILED)\n`);
    process.exit(1);
  });
}
