// `signet gate DIR --keys …`: a release tree with a yum repository (RPMs signed by signet rpm
// sign, createrepo_c), an apt distribution, a pacman repository and a SHA256SUMS passes; each
// kind of bad artifact is listed with its problem and exit 1. What the gate accepts and refuses
// is cross-checked with gpgv where a stock verifier applies directly.
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTools } from '../helpers/tools.js';
import { requireBuild, serveProcess, signet, type ServeProcess } from '../helpers/cli.js';
import { makeWorkspace, mustRun, run, type Workspace } from './rpm-setup.js';
import { createRepoKeys, makeAptRepo, makePacmanPackage } from './repo-setup.js';

describe('signet gate', () => {
  let ws: Workspace;
  let srv: ServeProcess;
  let env: Record<string, string>;
  let template: string;
  let keyring: string;
  const keyFiles: Record<string, string> = {};

  beforeAll(async () => {
    requireTools('rpm', 'rpmbuild', 'createrepo_c', 'apt-ftparchive', 'dpkg-deb', 'repo-add', 'bsdtar', 'gpg', 'gpgv');
    requireBuild();
    ws = makeWorkspace();
    srv = await serveProcess();
    env = { SIGNET_ADDR: srv.addr, SIGNET_TOKEN: srv.token };
    Object.assign(keyFiles, createRepoKeys(env, ws.dir).keyFiles);
    keyring = join(ws.dir, 'rel.gpg');
    const dearmored = run('sh', ['-c', 'gpg --dearmor < "$1" > "$2"', 'sh', keyFiles.rel as string, keyring]);
    expect(dearmored.status, dearmored.stderr).toBe(0);

    // The template release tree, all signed by rel.
    template = join(ws.dir, 'template');
    const yum = join(template, 'el9');
    mkdirSync(yum, { recursive: true });
    for (const f of ws.corpus.slice(0, 3)) copyFileSync(f, join(yum, basename(f)));
    expect(signet(['rpm', 'sign', '--key', 'rel', ...ws.corpus.slice(0, 3).map((f) => join(yum, basename(f)))], { env }).status).toBe(0);
    mustRun('createrepo_c', ['-q', yum]);
    expect(signet(['repo', 'sign', 'yum', yum, '--key', 'rel'], { env }).status).toBe(0);

    const aptBuild = join(ws.dir, 'apt-build');
    mkdirSync(aptBuild);
    cpSync(makeAptRepo(aptBuild), join(template, 'debian'), { recursive: true });
    expect(signet(['repo', 'sign', 'apt', join(template, 'debian/dists/stable'), '--key', 'rel', '--valid-for', '7d'], { env }).status).toBe(0);

    const arch = join(template, 'arch');
    const pkg = makePacmanPackage(join(ws.dir, 'pacman-build'), arch);
    expect(signet(['sign', '--key', 'rel', pkg], { env }).status).toBe(0);
    mustRun('repo-add', ['-q', join(arch, 'signet.db.tar.gz'), pkg]);
    expect(signet(['repo', 'sign', 'pacman', join(arch, 'signet.db.tar.gz'), '--key', 'rel'], { env }).status).toBe(0);

    writeFileSync(join(template, 'image.iso'), 'not really an image\n');
    expect(signet(['sums', template, '--key', 'rel'], { env }).status).toBe(0);
    expect(signet(['sign', '--key', 'rel', join(template, 'image.iso')], { env }).status).toBe(0);
    copyFileSync(keyFiles.rel as string, join(template, 'RPM-GPG-KEY-release.asc'));
  }, 240_000);

  afterAll(async () => {
    await srv?.stop();
    ws?.cleanup();
  });

  let n = 0;
  function copy(): string {
    const dir = join(ws.dir, `case-${n++}`);
    cpSync(template, dir, { recursive: true, verbatimSymlinks: true });
    return dir;
  }

  function gate(dir: string, keys = keyFiles.rel as string): { status: number; report: any; stderr: string } {
    const r = signet(['gate', dir, '--keys', keys, '--json'], { env });
    return { status: r.status, report: r.stdout ? JSON.parse(r.stdout) : null, stderr: r.stderr };
  }

  function gpgv(...args: string[]) {
    return run('gpgv', ['--keyring', keyring, ...args]);
  }

  it('passes a fully signed tree (and gpgv agrees on the repository signatures)', () => {
    const dir = copy();
    const g = gate(dir);
    expect(g.status, JSON.stringify(g.report?.findings)).toBe(0);
    expect(g.report.findings).toEqual([]);
    const kinds = new Set(g.report.checked.map((c: any) => c.kind));
    expect([...kinds].sort()).toEqual(['apt', 'detached', 'pacman', 'rpm', 'yum']);
    expect(g.report.checked.filter((c: any) => c.kind === 'rpm')).toHaveLength(3);
    expect(gpgv(join(dir, 'el9/repodata/repomd.xml.asc'), join(dir, 'el9/repodata/repomd.xml')).status).toBe(0);
    expect(gpgv(join(dir, 'debian/dists/stable/InRelease')).status).toBe(0);
    expect(gpgv(join(dir, 'arch/signet.db.sig'), join(dir, 'arch/signet.db')).status).toBe(0);
    // Server key names work as --keys too.
    expect(signet(['gate', dir, '--keys', 'rel'], { env }).status).toBe(0);
  });

  it('refuses an unsigned RPM', () => {
    const dir = copy();
    copyFileSync(ws.corpus[4] as string, join(dir, 'el9', basename(ws.corpus[4] as string)));
    const g = gate(dir);
    expect(g.status).toBe(1);
    expect(g.stderr).toMatch(/GATE_REFUSED/);
    expect(g.report.findings).toContainEqual(expect.objectContaining({ path: `el9/${basename(ws.corpus[4] as string)}`, kind: 'rpm', problem: 'UNSIGNED' }));
  });

  it('refuses a tampered repomd.xml (gpgv too) and metadata that no longer matches repomd.xml', () => {
    const dir = copy();
    const repomd = join(dir, 'el9/repodata/repomd.xml');
    writeFileSync(repomd, readFileSync(repomd, 'utf8').replace('<revision>', '<revision>9'));
    const g = gate(dir);
    expect(g.status).toBe(1);
    expect(g.report.findings).toContainEqual(expect.objectContaining({ path: 'el9/repodata/repomd.xml', kind: 'yum', problem: 'BAD_SIGNATURE' }));
    expect(gpgv(`${repomd}.asc`, repomd).status).not.toBe(0);

    const dir2 = copy();
    const primary = readFileSync(join(dir2, 'el9/repodata/repomd.xml'), 'utf8').match(/href="(repodata\/[^"]*primary\.xml\.gz)"/)![1]!;
    writeFileSync(join(dir2, 'el9', primary), 'swapped');
    const g2 = gate(dir2);
    expect(g2.status).toBe(1);
    expect(g2.report.findings).toContainEqual(expect.objectContaining({ path: `el9/${primary}`, problem: 'MISMATCH' }));
  });

  it('refuses an expired InRelease, a Release that is not what InRelease signs, and changed indexes', () => {
    const dir = copy();
    expect(gate(dir).status).toBe(0);
    // Signed with a Valid-Until in the past.
    const dist = join(dir, 'debian/dists/stable');
    const release = readFileSync(join(dist, 'Release'), 'utf8').replace(/^Valid-Until:.*$/m, 'Valid-Until: Mon, 09 Nov 2020 10:00:00 UTC');
    writeFileSync(join(dist, 'Release'), release);
    expect(signet(['repo', 'sign', 'apt', dist, '--key', 'rel'], { env }).status).toBe(0);
    let r = gate(dir);
    expect(r.status).toBe(1);
    expect(r.report.findings).toContainEqual(expect.objectContaining({ path: 'debian/dists/stable/InRelease', kind: 'apt', problem: 'EXPIRED' }));

    const dir2 = copy();
    const dist2 = join(dir2, 'debian/dists/stable');
    writeFileSync(join(dist2, 'Release'), readFileSync(join(dist2, 'Release'), 'utf8').replace('Suite: stable', 'Suite: unstable'));
    writeFileSync(join(dist2, 'main/binary-all/Packages'), 'Package: evil\n');
    r = gate(dir2);
    expect(r.status).toBe(1);
    expect(r.report.findings).toContainEqual(expect.objectContaining({ path: 'debian/dists/stable/Release', problem: 'MISMATCH' }));
    expect(r.report.findings).toContainEqual(expect.objectContaining({ path: 'debian/dists/stable/Release.gpg', problem: 'BAD_SIGNATURE' }));
    expect(r.report.findings).toContainEqual(expect.objectContaining({ path: 'debian/dists/stable/main/binary-all/Packages', problem: 'MISMATCH' }));
  });

  it('checks the files a signed SHA256SUMS lists', () => {
    const dir = copy();
    writeFileSync(join(dir, 'image.iso'), 'another image\n');
    const g = gate(dir);
    expect(g.status).toBe(1);
    const problems = g.report.findings.map((f: any) => `${f.path} ${f.problem}`);
    expect(problems).toEqual(expect.arrayContaining(['image.iso MISMATCH', 'image.iso BAD_SIGNATURE']));
    rmSync(join(dir, 'image.iso'));
    expect(gate(dir).report.findings.map((f: any) => `${f.path} ${f.problem}`).sort()).toEqual(['image.iso MISMATCH', 'image.iso.sig ORPHAN_SIGNATURE']);
  });

  it('refuses signatures by a key that is not allowed, missing signatures and orphans', () => {
    const dir = copy();
    expect(signet(['repo', 'sign', 'pacman', join(dir, 'arch/signet.db.tar.gz'), '--key', 'other'], { env }).status).toBe(0);
    rmSync(join(dir, 'SHA256SUMS.asc'));
    writeFileSync(join(dir, 'gone.tar.gz.sig'), readFileSync(join(dir, 'image.iso.sig')));
    const g = gate(dir);
    expect(g.status).toBe(1);
    const problems = g.report.findings.map((f: any) => `${f.path} ${f.problem}`);
    expect(problems).toEqual(
      expect.arrayContaining(['arch/signet.db.tar.gz UNKNOWN_KEY', 'SHA256SUMS UNSIGNED', 'gone.tar.gz.sig ORPHAN_SIGNATURE']),
    );
    // Allowing the other key as well accepts the pacman database again.
    const both = gate(dir, `${keyFiles.rel},${keyFiles.other}`);
    expect(both.report.findings.map((f: any) => f.path)).not.toContain('arch/signet.db.tar.gz');
    // A bad --keys file is a refused operation with a code, not a crash.
    const bad = signet(['gate', dir, '--keys', join(dir, 'image.iso')], { env });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/^signet: .*\(ARMOR_MALFORMED\)\n$/);
  });

  it('--keys NAME is a key on the server, never a file of that name in the current directory', () => {
    // Mallory's staging tree: her package signature, and her public key in a file named like the
    // release key, gated and published from inside the tree.
    const dir = join(ws.dir, 'keys-by-name');
    mkdirSync(dir);
    writeFileSync(join(dir, 'app.tar.gz'), 'mallory was here\n');
    expect(signet(['sign', '--key', 'other', join(dir, 'app.tar.gz')], { env }).status).toBe(0);
    copyFileSync(keyFiles.other as string, join(dir, 'rel'));
    const r = signet(['gate', '.', '--keys', 'rel', '--json'], { env, cwd: dir });
    expect(r.status, r.stderr).toBe(1);
    expect(JSON.parse(r.stdout).findings).toContainEqual(expect.objectContaining({ path: 'app.tar.gz', problem: 'UNKNOWN_KEY' }));
    const live = join(ws.dir, 'keys-by-name-live');
    const p = signet(['publish', '.', live, '--keys', 'rel', '--no-require-signed'], { env, cwd: dir });
    expect(p.status).toBe(1);
    expect(p.stderr).toMatch(/GATE_REFUSED/);
    expect(existsSync(live)).toBe(false);
    // A path is a file when it says so: ./rel or file:rel.
    expect(signet(['gate', '.', '--keys', './rel'], { env, cwd: dir }).status).toBe(0);
    expect(signet(['gate', '.', '--keys', 'file:rel'], { env, cwd: dir }).status).toBe(0);
  });

  it('--require-signed: every file needs a signature or a signed checksum entry', () => {
    const dir = copy();
    // The template's published key was added after SHA256SUMS was made: nothing covers it.
    const strict = signet(['gate', dir, '--keys', keyFiles.rel as string, '--require-signed', '--json'], { env });
    expect(strict.status).toBe(1);
    expect(JSON.parse(strict.stdout).findings.map((f: any) => `${f.path} ${f.problem}`)).toEqual(['RPM-GPG-KEY-release.asc UNSIGNED']);
    expect(signet(['sums', dir, '--key', 'rel'], { env }).status).toBe(0);
    const again = signet(['gate', dir, '--keys', keyFiles.rel as string, '--require-signed', '--json'], { env });
    expect(again.status, again.stdout).toBe(0);
  });
});
