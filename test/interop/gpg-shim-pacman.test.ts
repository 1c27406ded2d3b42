// Stock makepkg --sign (as an unprivileged user) and repo-add -s with signet-gpg first on PATH
// (`signet gpg-shim install DIR`): pacman-key --verify accepts the package and database
// signatures, pacman (SigLevel = Required) installs from the repository, a tampered database
// fails, and every signature is in the transparency log as a pacman entry.
import { chmodSync, chownSync, copyFileSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTools } from '../helpers/tools.js';
import { ROOT } from '../helpers/cli.js';
import { run } from './rpm-setup.js';
import { pacmanSandbox } from './repo-setup.js';
import { entriesFor, packetSha256, startShimServer, type ShimKey, type ShimSetup } from './gpg-shim-setup.js';

const PKGBUILD = `pkgname=signet-mk
pkgver=1.0
pkgrel=1
pkgdesc='signet makepkg test'
arch=(any)
license=(MIT)
package() {
  mkdir -p "$pkgdir/usr/share/signet-mk"
  echo 'hello from makepkg' > "$pkgdir/usr/share/signet-mk/hello.txt"
}
`;

describe('makepkg and repo-add through signet-gpg', () => {
  let s: ShimSetup;
  let shimDir: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    requireTools('makepkg', 'repo-add', 'pacman', 'pacman-key', 'gpg', 'bsdtar');
    s = await startShimServer('shim-pacman');
    // makepkg refuses to run as root: the build runs as nobody, who must reach the directory.
    chmodSync(s.dir, 0o755);
    shimDir = join(s.dir, 'shim-bin');
    const r = spawnSync(process.execPath, [join(installationForNobody(s.dir), 'bin', 'signet'), 'gpg-shim', 'install', shimDir], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    env = { ...s.env, PATH: `${shimDir}:${process.env.PATH ?? ''}` };
  }, 180_000);

  afterAll(async () => {
    await s?.close();
  });

  /** makepkg --sign --key KEY in a fresh directory; returns the package path. */
  function makepkg(name: string, key: string): string {
    const build = join(s.dir, name);
    mkdirSync(build);
    writeFileSync(join(build, 'PKGBUILD'), PKGBUILD);
    const asRoot = process.getuid?.() === 0;
    if (asRoot) chownSync(build, 65534, 65534);
    const envArgs = ['env', `HOME=${build}`, `PATH=${env.PATH}`, `SIGNET_ADDR=${s.env.SIGNET_ADDR}`, `SIGNET_TOKEN=${s.env.SIGNET_TOKEN}`];
    const r = asRoot
      ? run('runuser', ['-u', 'nobody', '--', ...envArgs, 'sh', '-c', `cd '${build}' && makepkg --sign --key '${key}'`])
      : run('sh', ['-c', `cd '${build}' && makepkg --sign --key '${key}'`], { env });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    const pkg = readdirSync(build).find((f) => f.endsWith('.pkg.tar.gz') || f.endsWith('.pkg.tar.zst'));
    expect(pkg).toBeDefined();
    return join(build, pkg!);
  }

  function keyring(name: string, key: ShimKey): string {
    const gnupg = join(s.dir, `keyring-${name}`);
    mkdirSync(gnupg);
    for (const args of [['--init'], ['--add', key.publicKeyFile], ['--lsign-key', key.fingerprint]]) {
      const r = run('pacman-key', ['--gpgdir', gnupg, ...args]);
      expect(r.status, r.stderr).toBe(0);
    }
    return gnupg;
  }

  const verify = (gnupg: string, sig: string) => run('pacman-key', ['--gpgdir', gnupg, '--verify', sig]);

  for (const [label, keyOf, specOf] of [
    ['RSA-4096 (makepkg --key fingerprint, GPGKEY email)', () => s.keys.rsa, (k: ShimKey) => [k.fingerprint, k.email]],
    ['Ed25519 (makepkg --key long key ID, GPGKEY key name)', () => s.keys.ed, (k: ShimKey) => [k.fingerprint.slice(-16), k.name]],
  ] as const) {
    it(`${label}: pacman-key --verify accepts package and database, pacman installs, all logged`, async () => {
      const key = keyOf();
      const [pkgSpec, dbSpec] = specOf(key);
      const pkg = makepkg(`build-${key.name}`, pkgSpec!);
      const repo = join(s.dir, `repo-${key.name}`);
      mkdirSync(repo);
      copyFileSync(pkg, join(repo, 'signet-mk-1.0-1-any.pkg.tar.gz'));
      copyFileSync(`${pkg}.sig`, join(repo, 'signet-mk-1.0-1-any.pkg.tar.gz.sig'));
      const add = run('repo-add', ['-s', join(repo, 'signet.db.tar.gz'), join(repo, 'signet-mk-1.0-1-any.pkg.tar.gz')], { env: { ...env, GPGKEY: dbSpec } });
      expect(add.status, add.stdout + add.stderr).toBe(0);
      expect(add.stdout + add.stderr).not.toMatch(/Failed to sign/);
      const gnupg = keyring(key.name, key);
      const sigs = ['signet-mk-1.0-1-any.pkg.tar.gz.sig', 'signet.db.sig', 'signet.files.sig'].map((f) => join(repo, f));
      for (const sig of sigs) {
        const v = verify(gnupg, sig);
        expect(v.status, `${sig}: ${v.stderr}`).toBe(0);
        expect(readFileSync(sig)[0]! & 0x80).toBe(0x80); // binary, as pacman requires
      }
      // pacman itself, SigLevel = Required, keyring holding only this key.
      const box = pacmanSandbox(join(s.dir, `client-${key.name}`), 'signet', repo, key.publicKeyFile, key.fingerprint);
      const inst = box.install('signet-mk');
      expect(inst.status, inst.stdout + inst.stderr).toBe(0);
      expect(readFileSync(join(box.root, 'usr/share/signet-mk/hello.txt'), 'utf8')).toBe('hello from makepkg\n');

      const entries = await entriesFor(s.srv.addr, sigs.map((f) => packetSha256(readFileSync(f))));
      expect(entries.map((e) => [e.sig_kind, e.artifact.name, e.key_fingerprint])).toEqual([
        ['pacman', 'signet-mk-1.0-1-any.pkg.tar.gz', key.fingerprint],
        ['pacman', 'signet.db.tar.gz', key.fingerprint],
        ['pacman', 'signet.files.tar.gz', key.fingerprint],
      ]);

      // Tampered database, and a keyring that does not hold the signing key.
      const db = join(repo, 'signet.db.tar.gz');
      const bytes = readFileSync(db);
      bytes[bytes.length - 5] = bytes[bytes.length - 5]! ^ 0x01;
      writeFileSync(db, bytes);
      expect(verify(gnupg, join(repo, 'signet.db.sig')).status).not.toBe(0);
      const stranger = keyring(`${key.name}-other`, s.keys.other);
      expect(verify(stranger, join(repo, 'signet.files.sig')).status).not.toBe(0);
      // makepkg, repo-add, two keyrings and a pacman install: ~20 s alone, much more on a busy machine.
    }, 240_000);
  }

  it('repo-add with an unknown GPGKEY stops at the key probe and signs nothing', () => {
    const repo = join(s.dir, 'repo-unknown');
    mkdirSync(repo);
    const pkg = join(s.dir, 'repo-rel-ed', 'signet-mk-1.0-1-any.pkg.tar.gz');
    copyFileSync(pkg, join(repo, 'signet-mk-1.0-1-any.pkg.tar.gz'));
    const add = run('repo-add', ['-s', join(repo, 'signet.db.tar.gz'), join(repo, 'signet-mk-1.0-1-any.pkg.tar.gz')], { env: { ...env, GPGKEY: 'nobody@signet.test' } });
    expect(add.status).not.toBe(0);
    expect(readdirSync(repo).filter((f) => f.endsWith('.sig'))).toEqual([]);
  });
});

/**
 * The checkout when nobody can run it; otherwise (a checkout below a 0700 directory, e.g. a
 * mktemp -d clone) an installation nobody can reach in DIR: bin, package.json, and dist and
 * node_modules hard-linked (copied across file systems).
 */
function installationForNobody(dir: string): string {
  if (process.getuid?.() !== 0) return ROOT;
  if (spawnSync('runuser', ['-u', 'nobody', '--', 'test', '-r', join(ROOT, 'package.json')]).status === 0) return ROOT;
  const copy = join(dir, 'installation');
  mkdirSync(copy);
  for (const part of ['bin', 'package.json', 'dist', 'node_modules']) {
    const linked = spawnSync('cp', ['-al', join(ROOT, part), copy]);
    if (linked.status !== 0) execFileSync('cp', ['-a', join(ROOT, part), copy]);
  }
  return copy;
}
