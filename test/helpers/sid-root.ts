// The Debian sid root (scripts/sid-root.sh) that holds the verifiers Debian 12 lacks: rpm 6 with
// rpm-sequoia, sq 1.x and sqv. Tests run them with chroot after bind-mounting their temp dir into
// the root; the mount is removed in `close()` (call it in a finally/afterAll). Building the root
// and mounting need root: as another user the test fails naming that reason; under CI=true, as
// everywhere, these tests never skip.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireTools } from './tools.js';

const SCRIPT = fileURLToPath(new URL('../../scripts/sid-root.sh', import.meta.url));

export interface SidRun {
  status: number;
  stdout: string;
  stderr: string;
}

export interface SidRoot {
  /** Where the host directory appears inside the root (an absolute path there). */
  readonly inside: string;
  /** The root itself, on the host. */
  readonly root: string;
  /** Path inside the root for a host path under the mounted directory. */
  path(hostPath: string): string;
  /** Runs `args` in the root (cwd: the mounted directory), HOME set to a fresh dir in it. */
  run(args: string[], opts?: { input?: string | Buffer; env?: Record<string, string> }): SidRun;
  close(): void;
}

/** The root's path, building it the first time (a few minutes; cached). */
export function sidRootPath(): string {
  if (process.getuid?.() !== 0) {
    throw new Error('the sid root tests need root: scripts/sid-root.sh builds the root with debootstrap, and the tests chroot into it with a bind mount');
  }
  requireTools('debootstrap');
  const r = spawnSync('bash', [SCRIPT], { encoding: 'utf8' });
  // The command only, not its output: that names machine paths.
  if (r.status !== 0) throw new Error(`scripts/sid-root.sh exited ${r.status}: run it as root to see why (debootstrap of Debian sid)`);
  return r.stdout.trim();
}

/** Bind-mounts `hostDir` into the sid root for the commands of one test file. `binds` mounts
 *  more host paths (files or directories) read-only at the same paths inside the root, e.g. the
 *  node binary and the checkout, so a program the root's tools call (signet-gpg) runs there. */
export function openSidRoot(hostDir: string, opts: { binds?: string[] } = {}): SidRoot {
  const root = sidRootPath();
  const extra: string[] = [];
  const unmountExtra = () => {
    for (const target of extra.reverse()) {
      if (spawnSync('umount', [target]).status !== 0) spawnSync('umount', ['-l', target]);
    }
  };
  for (const host of opts.binds ?? []) {
    const target = join(root, host);
    const isDir = statSync(host).isDirectory();
    mkdirSync(isDir ? target : dirname(target), { recursive: true });
    if (!isDir && !existsSync(target)) writeFileSync(target, '');
    const r = spawnSync('mount', ['--bind', '-o', 'ro', host, target], { encoding: 'utf8' });
    if (r.status !== 0) {
      unmountExtra();
      throw new Error(`mount --bind into the sid root exited ${r.status}`);
    }
    extra.push(target);
  }
  const inside = `/tmp/signet-test-${process.pid}-${randomBytes(4).toString('hex')}`;
  const mountPoint = join(root, inside);
  mkdirSync(mountPoint, { recursive: true });
  const mounted = spawnSync('mount', ['--bind', hostDir, mountPoint], { encoding: 'utf8' });
  if (mounted.status !== 0) {
    unmountExtra();
    rmdirSync(mountPoint);
    throw new Error(`mount --bind of the test directory into the sid root exited ${mounted.status}`);
  }
  let open = true;
  return {
    inside,
    root,
    path(hostPath: string): string {
      if (!hostPath.startsWith(`${hostDir}/`) && hostPath !== hostDir) throw new Error('path outside the mounted directory');
      return inside + hostPath.slice(hostDir.length);
    },
    run(args, opts = {}) {
      if (!open) throw new Error('the sid root is closed');
      const env = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOME: `${inside}/.home`, LANG: 'C.UTF-8', ...opts.env };
      const script = `mkdir -p "$HOME" && cd ${inside} && exec "$@"`;
      const r = spawnSync('chroot', [root, '/usr/bin/env', '-i', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), '/bin/sh', '-c', script, 'sh', ...args], {
        encoding: 'utf8', input: opts.input, maxBuffer: 64 << 20,
      });
      if (r.error) throw r.error;
      return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
    },
    close() {
      if (!open) return;
      open = false;
      const r = spawnSync('umount', [mountPoint], { encoding: 'utf8' });
      if (r.status !== 0) spawnSync('umount', ['-l', mountPoint]);
      try {
        rmdirSync(mountPoint);
      } catch {
        // still busy: the lazy unmount finishes later
      }
      unmountExtra();
    },
  };
}

/** The other form, for tests that run one command at a time in the root with its own argument
 *  vector and need the root's path (bind mounts in a private mount namespace): the same mount as
 *  openSidRoot; `release()` unmounts it. */
export interface SidMount {
  /** The test directory as seen inside the root. */
  readonly inside: string;
  /** The root itself (for bind mounts in a private mount namespace only). */
  readonly root: string;
  run(cmd: string, args: string[]): SidRun;
  release(): void;
}

export function sidRoot(dir: string): SidMount {
  const opened = openSidRoot(dir);
  return {
    inside: opened.inside,
    root: opened.root,
    run(cmd, args) {
      const r = spawnSync('chroot', [opened.root, cmd, ...args], { encoding: 'utf8', env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/tmp', LC_ALL: 'C.UTF-8' } });
      return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
    },
    release: () => opened.close(),
  };
}
