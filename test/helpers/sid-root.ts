// The newest verifiers (sq 1.x, sqv, rpm 6 with rpm-sequoia) run inside the Debian sid root
// scripts/sid-root.sh builds once. A test bind-mounts its temp dir into the root and runs the
// tool with chroot; paths inside are /mnt/<name>/…
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('../../scripts/sid-root.sh', import.meta.url));

export interface SidRoot {
  /** The test directory as seen inside the root. */
  readonly inside: string;
  /** The root itself (for bind mounts in a private mount namespace only). */
  readonly root: string;
  run(cmd: string, args: string[]): { status: number; stdout: string; stderr: string };
  release(): void;
}

/** Builds (once, cached) or finds the sid root and bind-mounts `dir` into it. */
export function sidRoot(dir: string): SidRoot {
  const built = spawnSync('bash', [SCRIPT], { encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`scripts/sid-root.sh failed: ${built.stderr.slice(-500)}`);
  const root = built.stdout.trim();
  const name = `signet-${randomBytes(6).toString('hex')}`;
  const mountpoint = join(root, 'mnt', name);
  mkdirSync(mountpoint, { recursive: true });
  const mounted = spawnSync('mount', ['--bind', dir, mountpoint], { encoding: 'utf8' });
  if (mounted.status !== 0) throw new Error(`mount --bind into the sid root failed: ${mounted.stderr}`);
  return {
    inside: `/mnt/${name}`,
    root,
    run(cmd, args) {
      const r = spawnSync('chroot', [root, cmd, ...args], { encoding: 'utf8', env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/tmp', LC_ALL: 'C.UTF-8' } });
      return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
    },
    release() {
      spawnSync('umount', [mountpoint]);
      try {
        rmdirSync(mountpoint);
      } catch {
        // still busy: left for the next run's cleanup
      }
    },
  };
}
