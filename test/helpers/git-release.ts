// A release repository made for a test: a git repository whose tag is signed by a key made with
// gpg in a throwaway GNUPGHOME, the project keyring exported beside it, and a second key outside
// that keyring. Vetting tests build tarballs from it with `git archive`, the reference.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireTools } from './tools.js';

export interface ReleaseRepo {
  readonly dir: string;
  readonly gnupg: string;
  /** Armored public key of the release manager (the project keyring). */
  readonly keyring: string;
  /** Armored public key of someone outside the keyring. */
  readonly strangerKey: string;
  readonly managerFpr: string;
  readonly strangerFpr: string;
  git(args: string[], input?: string): string;
  /** `git archive --format=tar.gz --prefix=P/ TAG`. */
  archive(tag: string, prefix?: string): Buffer;
  cleanup(): void;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, cwd?: string, input?: string): Buffer {
  const r = spawnSync(cmd, args, { env, cwd, input, maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${Buffer.from(r.stderr ?? '').toString()}`);
  return Buffer.from(r.stdout);
}

export function makeReleaseRepo(): ReleaseRepo {
  requireTools('gpg', 'git');
  const root = mkdtempSync(join(tmpdir(), 'signet-release-'));
  const gnupg = join(root, 'gnupg');
  mkdirSync(gnupg, { mode: 0o700 });
  const dir = join(root, 'repo');
  mkdirSync(dir);
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: root,
    GNUPGHOME: gnupg,
    LC_ALL: 'C',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_AUTHOR_NAME: 'Rel Manager',
    GIT_AUTHOR_EMAIL: 'rm@example.org',
    GIT_COMMITTER_NAME: 'Rel Manager',
    GIT_COMMITTER_EMAIL: 'rm@example.org',
    GIT_AUTHOR_DATE: '2026-12-01T10:00:00Z',
    GIT_COMMITTER_DATE: '2026-12-01T10:00:00Z',
  };
  const gpg = (args: string[], input?: string): Buffer => run('gpg', ['--batch', '--no-tty', '--pinentry-mode', 'loopback', '--passphrase', '', ...args], env, undefined, input);
  gpg(['--quick-gen-key', 'Release Manager <rm@example.org>', 'ed25519', 'sign', 'never']);
  gpg(['--quick-gen-key', 'Stranger <x@example.org>', 'ed25519', 'sign', 'never']);
  const fpr = (uid: string): string =>
    gpg(['--with-colons', '--list-keys', uid]).toString().split('\n').find((l) => l.startsWith('fpr:'))!.split(':')[9]!;
  const managerFpr = fpr('rm@example.org');
  const strangerFpr = fpr('x@example.org');
  const keyring = gpg(['--armor', '--export', managerFpr]).toString();
  const strangerKey = gpg(['--armor', '--export', strangerFpr]).toString();
  const git = (args: string[], input?: string): string => run('git', args, env, dir, input).toString();
  git(['init', '--quiet', '-b', 'main']);
  git(['config', 'user.signingkey', managerFpr]);
  const write = (path: string, text: string): void => {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  };
  write('setup.py', 'from setuptools import setup\nsetup()\n');
  write('nova/__init__.py', '"""nova"""\n');
  write('nova/api.py', 'def handler():\n    return 42\n');
  write('.gitignore', '*.pyc\n*.egg-info/\nbuild/\n');
  write('.gitattributes', 'internal export-ignore\nnova/version.py export-subst\n');
  write('internal/notes.txt', 'not shipped\n');
  write('nova/version.py', 'COMMIT = "$Format:%H$"\nDATE = "$Format:%cs$"\n');
  write('README.rst', 'nova\n====\n');
  git(['add', '-A']);
  git(['commit', '--quiet', '-m', 'nova 1.0']);
  git(['tag', '-s', '-m', 'nova 1.0', '1.0.0']);
  git(['tag', '-a', '-m', 'unsigned', '1.0.0-unsigned']);
  git(['-c', `user.signingkey=${strangerFpr}`, 'tag', '-s', '-m', 'stranger', '1.0.0-stranger']);
  return {
    dir,
    gnupg,
    keyring,
    strangerKey,
    managerFpr,
    strangerFpr,
    git,
    archive: (tag, prefix = 'nova-1.0.0') => run('git', ['archive', '--format=tar.gz', `--prefix=${prefix}/`, tag], env, dir),
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}
