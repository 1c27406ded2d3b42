// `signet repo sign pacman` against real pacman: the package signed with `signet sign`, the
// database made by repo-add, its signatures and links by signet exactly as `repo-add -s` leaves
// them; pacman with SigLevel = Required and a pacman-key keyring installs, and refuses a database
// signed by a key it does not trust and a tampered database.
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTools } from '../helpers/tools.js';
import { requireBuild, serveProcess, signet, type ServeProcess } from '../helpers/cli.js';
import { mustRun, run } from './rpm-setup.js';
import { createRepoKeys, makePacmanPackage, pacmanSandbox } from './repo-setup.js';

describe('signet repo sign pacman', () => {
  let dir: string;
  let srv: ServeProcess;
  let env: Record<string, string>;
  const keyFiles: Record<string, string> = {};
  const fingerprints: Record<string, string> = {};

  beforeAll(async () => {
    requireTools('pacman', 'pacman-key', 'repo-add', 'bsdtar', 'gpg');
    requireBuild();
    dir = mkdtempSync(join(tmpdir(), 'signet-pacman-'));
    srv = await serveProcess();
    env = { SIGNET_ADDR: srv.addr, SIGNET_TOKEN: srv.token };
    const created = createRepoKeys(env, dir);
    Object.assign(keyFiles, created.keyFiles);
    Object.assign(fingerprints, created.fingerprints);
  }, 180_000);

  afterAll(async () => {
    await srv?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** A repository with one package signed by `rel` and its database signed by `dbKey`. */
  function repository(name: string, dbKey: string): string {
    const repo = join(dir, name, 'repo');
    const pkg = makePacmanPackage(join(dir, name), repo);
    expect(signet(['sign', '--key', 'rel', '--kind', 'pacman', pkg], { env }).status).toBe(0);
    mustRun('repo-add', ['-q', join(repo, 'signet.db.tar.gz'), pkg]);
    const r = signet(['repo', 'sign', 'pacman', join(repo, 'signet.db.tar.gz'), '--key', dbKey, '--json'], { env });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).files).toHaveLength(2);
    return repo;
  }

  /** Every entry of DIR: name -> 'file' or 'link -> TARGET'. */
  function layout(repo: string): Record<string, string> {
    return Object.fromEntries(
      readdirSync(repo).map((n) => [n, lstatSync(join(repo, n)).isSymbolicLink() ? `link -> ${readlinkSync(join(repo, n))}` : 'file']),
    );
  }

  it('leaves exactly the files and links repo-add -s leaves', () => {
    const repo = repository('layout', 'rel');
    // The same package added by the real `repo-add -s` with a gpg key.
    const home = join(dir, 'layout', 'gpghome');
    mkdirSync(home, { mode: 0o700 });
    const genv = { GNUPGHOME: home };
    mustRun('gpg', ['--batch', '--passphrase', '', '--quick-gen-key', 'repo-add <r@signet.test>', 'ed25519', 'sign', 'never'], { env: genv });
    const reference = join(dir, 'layout', 'reference');
    const refPkg = makePacmanPackage(join(dir, 'layout', 'ref'), reference);
    mustRun('gpg', ['--batch', '--detach-sign', '--no-armor', refPkg], { env: genv });
    mustRun('repo-add', ['-q', '-s', join(reference, 'signet.db.tar.gz'), refPkg], { env: genv });
    expect(layout(repo)).toEqual(layout(reference));
    expect(readdirSync(repo).sort()).toEqual([
      'signet-hello-1.0-1-any.pkg.tar.gz',
      'signet-hello-1.0-1-any.pkg.tar.gz.sig',
      'signet.db',
      'signet.db.sig',
      'signet.db.tar.gz',
      'signet.db.tar.gz.sig',
      'signet.files',
      'signet.files.sig',
      'signet.files.tar.gz',
      'signet.files.tar.gz.sig',
    ]);
    for (const [link, target] of [['signet.db', 'signet.db.tar.gz'], ['signet.db.sig', 'signet.db.tar.gz.sig'], ['signet.files', 'signet.files.tar.gz'], ['signet.files.sig', 'signet.files.tar.gz.sig']]) {
      expect(lstatSync(join(repo, link as string)).isSymbolicLink()).toBe(true);
      expect(readlinkSync(join(repo, link as string))).toBe(target);
    }
    // Binary (repo-add and pacman refuse armored signatures), and gpg agrees.
    const sig = readFileSync(join(repo, 'signet.db.tar.gz.sig'));
    expect(sig[0]! & 0x80).toBe(0x80);
    mustRun('gpg', ['--batch', '--import', keyFiles.rel as string], { env: { GNUPGHOME: home } });
    const v = run('gpg', ['--batch', '--verify', join(repo, 'signet.db.sig'), join(repo, 'signet.db')], { env: { GNUPGHOME: home } });
    expect(v.status, v.stderr).toBe(0);
    expect(v.stderr).toMatch(/Good signature/);
    run('gpgconf', ['--kill', 'gpg-agent'], { env: { GNUPGHOME: home } });
    // Signing again (a re-sign) keeps the same layout, via the NAME.db link as argument.
    expect(signet(['repo', 'sign', 'pacman', join(repo, 'signet.db'), '--key', 'rel'], { env }).status).toBe(0);
    expect(readlinkSync(join(repo, 'signet.db.sig'))).toBe('signet.db.tar.gz.sig');
  });

  it('pacman (SigLevel = Required, pacman-key keyring) installs from the signed repository', () => {
    const repo = repository('ok', 'rel');
    const box = pacmanSandbox(join(dir, 'ok', 'client'), 'signet', repo, keyFiles.rel as string, fingerprints.rel as string);
    const r = box.install('signet-hello');
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(readFileSync(join(box.root, 'usr/share/signet-hello/hello.txt'), 'utf8')).toBe('hello from signet-hello\n');
  });

  it('pacman refuses a database signed by a key it does not trust', () => {
    const repo = repository('foreign', 'other');
    const box = pacmanSandbox(join(dir, 'foreign', 'client'), 'signet', repo, keyFiles.rel as string, fingerprints.rel as string);
    const r = box.install('signet-hello');
    expect(r.status).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/invalid or corrupted database \(PGP signature\)/);
    expect(() => lstatSync(join(box.root, 'usr/share/signet-hello'))).toThrow();
  });

  it('pacman refuses a database changed after signing', () => {
    const repo = repository('tampered', 'rel');
    const db = join(repo, 'signet.db.tar.gz');
    const bytes = readFileSync(db);
    bytes[bytes.length - 5] = bytes[bytes.length - 5]! ^ 0x01;
    writeFileSync(db, bytes);
    const box = pacmanSandbox(join(dir, 'tampered', 'client'), 'signet', repo, keyFiles.rel as string, fingerprints.rel as string);
    const r = box.install('signet-hello');
    expect(r.status).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/PGP signature/);
  });

  it('refuses a path that is not a pacman database (usage, exit 2)', () => {
    const r = signet(['repo', 'sign', 'pacman', keyFiles.rel as string, '--key', 'rel'], { env });
    expect(r.status).toBe(2);
  });
});
