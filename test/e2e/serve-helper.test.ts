// The helper that starts `signet serve` children for the end-to-end tests must never mistake
// another process's server for its child: a port found free can be bound by a test file running
// beside this one before the child binds it (seen as a node "going away" mid-test, far from the
// cause). These tests play that other process.
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, ownsListener, PortTakenError, requireBuild, startServeChild } from '../helpers/cli.js';

describe('serve helper: the answering server is the child', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('ownsListener tells this process its own listening socket from another process', async () => {
    const server = http.createServer((_q, r) => r.end('ok'));
    const port = await freePort();
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    try {
      expect(ownsListener(process.pid, port)).toBe(true);
      expect(ownsListener(process.ppid, port)).toBe(false);
      expect(ownsListener(process.pid, port === 65535 ? 65534 : port + 1)).toBe(false);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('a stranger answering /healthz on the port is not taken for the child', async () => {
    requireBuild();
    const stranger = http.createServer((_q, r) => r.end('{"status":"ok"}'));
    const port = await freePort();
    await new Promise<void>((resolve) => stranger.listen(port, '127.0.0.1', resolve));
    const dir = mkdtempSync(join(tmpdir(), 'signet-helper-'));
    dirs.push(dir);
    try {
      await expect(startServeChild(join(dir, 'data'), port, { args: ['--log-level', 'warn'] })).rejects.toBeInstanceOf(PortTakenError);
    } finally {
      await new Promise((r) => stranger.close(r));
    }
  }, 60_000);
});
