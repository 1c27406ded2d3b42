import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Every fetch in tests uses a connection of its own (why: test/helpers/setup.ts).
    setupFiles: ['test/helpers/setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Interop tests spawn real tools; two cores here, keep parallelism modest.
    maxWorkers: 3,
  },
});
