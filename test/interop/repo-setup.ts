// Shared setup for the repository interop tests: tiny real repositories (apt, yum, pacman) and
// client sandboxes that touch nothing outside a temp dir.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { signet } from '../helpers/cli.js';
import { mustRun, run, type Run } from './rpm-setup.js';

// ---- keys --------------------------------------------------------------------------------------

/** The keys every repository test uses: `rel` (RSA-4096, the release key) and `other` (Ed25519,
 *  a foreign key), created on the server; armored public keys written to DIR/NAME.asc. */
export function createRepoKeys(env: Record<string, string>, dir: string): { keyFiles: Record<string, string>; fingerprints: Record<string, string> } {
  const keyFiles: Record<string, string> = {};
  const fingerprints: Record<string, string> = {};
  for (const [name, algo] of [['rel', 'rsa4096'], ['other', 'ed25519']] as const) {
    const r = signet(['key', 'create', name, '--algo', algo, '--json'], { env });
    expect(r.status, r.stderr).toBe(0);
    fingerprints[name] = JSON.parse(r.stdout).fingerprint;
    keyFiles[name] = join(dir, `${name}.asc`);
    writeFileSync(keyFiles[name] as string, signet(['key', 'export', name], { env }).stdout);
  }
  return { keyFiles, fingerprints };
}

// ---- apt ---------------------------------------------------------------------------------------

/** DIR/pool/NAME_1.0_all.deb and DIR/dists/stable/{Release, main/binary-all/Packages(.gz)}. */
export function makeAptRepo(dir: string, pkg = 'signet-hello', release: { validUntil?: string; date?: string } = {}): string {
  const build = join(dir, `build-${pkg}`);
  mkdirSync(join(build, 'DEBIAN'), { recursive: true });
  mkdirSync(join(build, 'usr/share', pkg), { recursive: true });
  writeFileSync(join(build, 'usr/share', pkg, 'hello.txt'), `hello from ${pkg}\n`);
  writeFileSync(join(build, 'DEBIAN/control'), `Package: ${pkg}\nVersion: 1.0\nArchitecture: all\nMaintainer: signet tests <tests@signet.test>\nDescription: signet test package\n`);
  const repo = join(dir, 'repo');
  const dist = join(repo, 'dists/stable');
  mkdirSync(join(repo, 'pool'), { recursive: true });
  mkdirSync(join(dist, 'main/binary-all'), { recursive: true });
  mustRun('dpkg-deb', ['--build', '-Zgzip', build, join(repo, 'pool', `${pkg}_1.0_all.deb`)]);
  const packages = mustRun('sh', ['-c', 'cd "$1" && apt-ftparchive packages pool', 'sh', repo]).stdout;
  writeFileSync(join(dist, 'main/binary-all/Packages'), packages);
  mustRun('gzip', ['-kf', join(dist, 'main/binary-all/Packages')]);
  let text = mustRun('sh', [
    '-c',
    'cd "$1" && apt-ftparchive -o APT::FTPArchive::Release::Suite=stable -o APT::FTPArchive::Release::Codename=stable -o APT::FTPArchive::Release::Architectures=all -o APT::FTPArchive::Release::Components=main release .',
    'sh',
    dist,
  ]).stdout;
  if (release.date) text = text.replace(/^Date:.*$/m, `Date: ${release.date}`);
  if (release.validUntil) text = text.replace(/^(Date:.*)$/m, `$1\nValid-Until: ${release.validUntil}`);
  writeFileSync(join(dist, 'Release'), text);
  return repo;
}

export interface AptSandbox {
  root: string;
  /** Run apt-get inside the sandbox (APT_CONFIG points at its own configuration). */
  aptGet(args: string[]): Run;
  /** Forget every downloaded index, as a fresh client. */
  clearLists(): void;
}

/** A root-less apt + dpkg sandbox under DIR trusting only `keyFile` (signed-by=) for `repo`. */
export function aptSandbox(dir: string, repo: string, keyFile: string): AptSandbox {
  const root = dir;
  for (const d of ['etc/apt/apt.conf.d', 'etc/apt/preferences.d', 'etc/apt/trusted.gpg.d', 'var/lib/apt/lists/partial', 'var/cache/apt/archives/partial', 'var/lib/dpkg/info', 'var/lib/dpkg/updates', 'var/log/apt']) {
    mkdirSync(join(root, d), { recursive: true });
  }
  writeFileSync(join(root, 'var/lib/dpkg/status'), '');
  writeFileSync(join(root, 'etc/apt/sources.list'), `deb [signed-by=${keyFile}] file:${repo} stable main\n`);
  writeFileSync(
    join(root, 'apt.conf'),
    [
      `Dir "${root}/";`,
      `Dir::State "${root}/var/lib/apt";`,
      `Dir::State::status "${root}/var/lib/dpkg/status";`,
      `Dir::Cache "${root}/var/cache/apt";`,
      `Dir::Etc "${root}/etc/apt";`,
      `Dir::Etc::Parts "${root}/etc/apt/apt.conf.d";`,
      `Dir::Etc::TrustedParts "${root}/etc/apt/trusted.gpg.d";`,
      `Dir::Log "${root}/var/log/apt";`,
      'APT::Sandbox::User "root";',
      'Debug::NoLocking "true";',
      `DPkg::Options { "--root=${root}"; "--admindir=${root}/var/lib/dpkg"; "--force-not-root"; "--log=${root}/var/log/dpkg.log"; };`,
      '',
    ].join('\n'),
  );
  const env = { APT_CONFIG: join(root, 'apt.conf'), DEBIAN_FRONTEND: 'noninteractive' };
  return {
    root,
    aptGet: (args) => run('apt-get', args, { env }),
    clearLists: () => {
      mustRun('rm', ['-rf', join(root, 'var/lib/apt/lists')]);
      mkdirSync(join(root, 'var/lib/apt/lists/partial'), { recursive: true });
    },
  };
}

// ---- dnf ---------------------------------------------------------------------------------------

export interface DnfSandbox {
  root: string;
  /** `dnf -y install PKG…` into a fresh --installroot, gpgcheck=1 and repo_gpgcheck=1. */
  install(name: string, ...pkgs: string[]): Run;
}

/** dnf configured with only `repo` (a file:// baseurl) and `keyFile` as its gpgkey. */
export function dnfSandbox(dir: string, repo: string, keyFile: string): DnfSandbox {
  mkdirSync(join(dir, 'repos.d'), { recursive: true });
  writeFileSync(
    join(dir, 'dnf.conf'),
    ['[main]', 'gpgcheck=1', 'repo_gpgcheck=1', `reposdir=${join(dir, 'repos.d')}`, 'keepcache=0', 'install_weak_deps=0', 'plugins=0', ''].join('\n'),
  );
  writeFileSync(
    join(dir, 'repos.d', 'signet.repo'),
    ['[signet]', 'name=signet test', `baseurl=file://${repo}`, 'enabled=1', 'gpgcheck=1', 'repo_gpgcheck=1', `gpgkey=file://${keyFile}`, ''].join('\n'),
  );
  return {
    root: dir,
    install(name, ...pkgs) {
      const root = join(dir, `root-${name}`);
      mkdirSync(root, { recursive: true });
      return run('dnf', [
        '-y',
        `--installroot=${root}`,
        `--config=${join(dir, 'dnf.conf')}`,
        `--setopt=cachedir=${join(dir, `cache-${name}`)}`,
        '--releasever=1',
        '--disablerepo=*',
        '--enablerepo=signet',
        'install',
        ...pkgs,
      ]);
    },
  };
}

// ---- pacman ------------------------------------------------------------------------------------

/** REPO/NAME-1.0-1-any.pkg.tar.gz, a minimal valid pacman package (.PKGINFO + one file). */
export function makePacmanPackage(dir: string, repo: string, pkg = 'signet-hello'): string {
  const build = join(dir, `build-${pkg}`);
  mkdirSync(join(build, 'usr/share', pkg), { recursive: true });
  writeFileSync(join(build, 'usr/share', pkg, 'hello.txt'), `hello from ${pkg}\n`);
  writeFileSync(
    join(build, '.PKGINFO'),
    [`pkgname = ${pkg}`, `pkgbase = ${pkg}`, 'pkgver = 1.0-1', 'pkgdesc = signet test package', 'url = https://example.org', 'builddate = 1700000000', 'packager = signet tests <tests@signet.test>', 'size = 64', 'arch = any', 'license = MIT', ''].join('\n'),
  );
  mkdirSync(repo, { recursive: true });
  const file = join(repo, `${pkg}-1.0-1-any.pkg.tar.gz`);
  mustRun('bsdtar', ['-C', build, '-czf', file, '.PKGINFO', 'usr']);
  return file;
}

export interface PacmanSandbox {
  root: string;
  /** `pacman -Sy --noconfirm PKG…` into the sandbox root. */
  install(...pkgs: string[]): Run;
}

/**
 * pacman with SigLevel = Required for databases and packages, and a keyring made by pacman-key
 * in DIR/gnupg holding only `keyFile`, locally signed (trusted). The keyserver points nowhere, so
 * an unknown key is refused at once instead of being looked up.
 */
export function pacmanSandbox(dir: string, repoName: string, repo: string, keyFile: string, fingerprint: string): PacmanSandbox {
  const root = join(dir, 'root');
  const gnupg = join(dir, 'gnupg');
  for (const d of ['var/lib/pacman', 'var/cache/pacman/pkg', 'var/log', 'etc/pacman.d/hooks']) mkdirSync(join(root, d), { recursive: true });
  mkdirSync(gnupg, { recursive: true });
  mustRun('pacman-key', ['--gpgdir', gnupg, '--init']);
  writeFileSync(join(gnupg, 'gpg.conf'), 'no-greeting\nno-permission-warning\nkeyserver hkp://127.0.0.1:9\n');
  mustRun('pacman-key', ['--gpgdir', gnupg, '--add', keyFile]);
  mustRun('pacman-key', ['--gpgdir', gnupg, '--lsign-key', fingerprint]);
  run('gpgconf', ['--kill', 'gpg-agent'], { env: { GNUPGHOME: gnupg } });
  const conf = join(dir, 'pacman.conf');
  writeFileSync(
    conf,
    [
      '[options]',
      `RootDir = ${root}`,
      `DBPath = ${root}/var/lib/pacman/`,
      `CacheDir = ${root}/var/cache/pacman/pkg/`,
      `LogFile = ${root}/var/log/pacman.log`,
      `GPGDir = ${gnupg}`,
      `HookDir = ${root}/etc/pacman.d/hooks/`,
      'Architecture = auto',
      'SigLevel = Required',
      'LocalFileSigLevel = Required',
      '',
      `[${repoName}]`,
      `Server = file://${repo}`,
      '',
    ].join('\n'),
  );
  return { root, install: (...pkgs) => run('pacman', ['--config', conf, '--noconfirm', '-Sy', ...pkgs], { env: { GNUPGHOME: gnupg } }) };
}
