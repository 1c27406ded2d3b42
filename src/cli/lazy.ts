// Lazy command actions: `signet` registers every command (names, options, descriptions, so
// `--help` is complete) from light modules, and imports a command's implementation only when
// that command runs. `signet --version` or `signet rpm sign` then does not load zod, yaml, the
// transparency log, the repository signers or OpenPGP parsing it does not use.

/** An action whose implementation is imported when the command runs. */
export function lazyAction<A extends unknown[]>(load: () => Promise<(...args: A) => unknown>): (...args: A) => Promise<void> {
  return async (...args: A): Promise<void> => {
    const action = await load();
    await action(...args);
  };
}
