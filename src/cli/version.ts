// The CLI's version, alone in a module: bin/signet prints it for `signet --version` without
// loading the command definitions (scripts probe it often; test/e2e/cli-startup.test.ts checks it
// equals package.json's version).
export const VERSION = '0.1.0';
