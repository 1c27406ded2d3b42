// The README's tour, run as written: the ```sh block under "## A short tour", in a fresh
// directory beside a `signet serve` whose data directory is ./.signet (where the tour says the
// CLI finds the admin token), with a throwaway GNUPGHOME for its gpg commands.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTools } from '../helpers/tools.js';
import { ROOT, requireBuild, serveProcess, type ServeProcess } from '../helpers/cli.js';

export function tourBlock(readme: string): string {
  const section = readme.split(/^## A short tour$/m)[1]?.split(/^## /m)[0] ?? '';
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
  if (block === undefined) throw new Error('README has no ```sh block under "## A short tour"');
  return block;
}

describe('README tour', () => {
  let dir: string;
  let srv: ServeProcess;

  beforeAll(async () => {
    requireTools('gpg');
    requireBuild();
    dir = mkdtempSync(join(tmpdir(), 'signet-tour-'));
    srv = await serveProcess({ dataDir: join(dir, '.signet') });
    symlinkSync(join(ROOT, 'bin'), join(dir, 'bin'));
    mkdirSync(join(dir, 'gnupg'), { mode: 0o700 });
  }, 60_000);

  afterAll(async () => {
    await srv?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('runs as written', () => {
    const block = tourBlock(readFileSync(join(ROOT, 'README.md'), 'utf8'));
    const r = spawnSync('bash', ['-euo', 'pipefail', '-c', block], {
      cwd: dir,
      encoding: 'utf8',
      // No token given: the CLI reads ./.signet/admin-token, as the tour says.
      env: { PATH: process.env.PATH ?? '', HOME: dir, GNUPGHOME: join(dir, 'gnupg'), SIGNET_ADDR: srv.addr },
    });
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stderr).toMatch(/Good signature from "Example Release <release@example\.org>"[\s\S]*Good signature[\s\S]*Good signature/);
    expect(r.stdout).toMatch(/hello\.txt: OK/);
    expect(r.stdout).toMatch(/notes\.txt: OK/);
  });
});
