// CPU time (user + system) of this test process spent in a call, in milliseconds. Bounds that
// guard against quadratic or backtracking code are checked against it rather than wall time:
// wall time grows with whatever else the machine runs (a CI host with parallel test files, a
// loaded 2-core VM), CPU time only with the work itself. Vitest runs each test file in a process
// of its own (pool: forks), so other files' work is not counted.
export function cpuMs(fn: () => unknown): number {
  const before = process.cpuUsage();
  try {
    fn();
  } catch {
    // only the time matters to the caller; results are checked separately
  }
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000;
}

export async function cpuMsAsync(fn: () => Promise<unknown>): Promise<number> {
  const before = process.cpuUsage();
  await fn().catch(() => undefined);
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000;
}
