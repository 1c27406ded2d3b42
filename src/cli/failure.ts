// A failure in the CLI's terms: one `signet: MESSAGE (CODE)` line on stderr, and the exit code the
// code stands for (1 refused or failed, 2 usage). Light on purpose (no commander): the plain
// `signet rpm sign` path (src/cli/entry.ts) reports through it too.
import { SignetError } from '../errors.js';

export function reportFailure(err: unknown): number {
  const e = asSignetError(err);
  process.stderr.write(`signet: ${e.message} (${e.code})\n`);
  return e.exitCode;
}

/** An error from below the CLI (Node's own, a library's) in the CLI's terms. */
export function asSignetError(err: unknown): SignetError {
  if (err instanceof SignetError) return err;
  const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
  if (e?.syscall === 'listen') {
    const where = e.address !== undefined ? `${e.address}${e.port !== undefined ? `:${e.port}` : ''}` : 'the listen address';
    const why = e.code === 'EADDRINUSE' ? 'the address is already in use (another signet serve?)' : e.code === 'EACCES' ? 'permission denied' : e.code === 'EADDRNOTAVAIL' ? 'no such local address' : (e.code ?? 'error');
    return new SignetError('LISTEN_FAILED', `cannot listen on ${where}: ${why}`, { cause: err });
  }
  const message = (e?.message ?? String(err)).split('\n')[0] ?? '';
  return new SignetError('INTERNAL', message, { cause: err });
}
