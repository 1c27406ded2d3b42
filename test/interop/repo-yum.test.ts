// `signet repo sign yum` against real dnf: packages signed with `signet rpm sign`, metadata by
// createrepo_c, repomd.xml.asc by signet; dnf --installroot with gpgcheck=1 and repo_gpgcheck=1
// installs, and refuses a repomd.xml.asc from another key, a tampered repomd.xml and a missing
// signature.
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTools } from '../helpers/tools.js';
import { requireBuild, serveProcess, signet, type ServeProcess } from '../helpers/cli.js';
import { makeWorkspace, mustRun, type Workspace } from './rpm-setup.js';
import { createRepoKeys, dnfSandbox } from './repo-setup.js';

describe('signet repo sign yum', () => {
  let ws: Workspace;
  let srv: ServeProcess;
  let env: Record<string, string>;
  const keyFiles: Record<string, string> = {};

  beforeAll(async () => {
    requireTools('rpm', 'rpmbuild', 'createrepo_c', 'dnf');
    requireBuild();
    ws = makeWorkspace();
    srv = await serveProcess();
    env = { SIGNET_ADDR: srv.addr, SIGNET_TOKEN: srv.token };
    Object.assign(keyFiles, createRepoKeys(env, ws.dir).keyFiles);
  }, 180_000);

  afterAll(async () => {
    await srv?.stop();
    ws?.cleanup();
  });

  /** A repository of the corpus, packages signed by `rel`, metadata by createrepo_c. */
  function repository(name: string, metadataKey: string | null): string {
    const repo = join(ws.dir, name);
    mkdirSync(repo);
    for (const f of ws.corpus) copyFileSync(f, join(repo, basename(f)));
    const r = signet(['rpm', 'sign', '--key', 'rel', ...ws.corpus.map((f) => join(repo, basename(f)))], { env });
    expect(r.status, r.stderr).toBe(0);
    mustRun('createrepo_c', ['-q', repo]);
    if (metadataKey !== null) {
      const s = signet(['repo', 'sign', 'yum', repo, '--key', metadataKey, '--json'], { env });
      expect(s.status, s.stderr).toBe(0);
      expect(JSON.parse(s.stdout).signature).toBe(join(repo, 'repodata/repomd.xml.asc'));
    }
    return repo;
  }

  it('dnf installs from the signed repository (gpgcheck=1, repo_gpgcheck=1)', () => {
    const repo = repository('ok', 'rel');
    expect(readFileSync(join(repo, 'repodata/repomd.xml.asc'), 'utf8')).toMatch(/^-----BEGIN PGP SIGNATURE-----/);
    const box = dnfSandbox(join(ws.dir, 'dnf-ok'), repo, keyFiles.rel as string);
    const r = box.install('ok', 'pkg-small1', 'pkg-many');
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Complete!/);
    expect(existsSync(join(box.root, 'root-ok/usr/share/pkg-small1/f1.bin'))).toBe(true);
    expect(existsSync(join(box.root, 'root-ok/usr/share/pkg-many/f400.bin'))).toBe(true);
  });

  it('dnf accepts repomd.xml.asc by an Ed25519 key listed in gpgkey', () => {
    const repo = repository('ed25519', 'other');
    const both = join(ws.dir, 'both.asc');
    writeFileSync(both, readFileSync(keyFiles.rel as string, 'utf8') + readFileSync(keyFiles.other as string, 'utf8'));
    const r = dnfSandbox(join(ws.dir, 'dnf-ed25519'), repo, both).install('ed25519', 'pkg-small2');
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });

  it('dnf refuses repomd.xml.asc made by another key', () => {
    const repo = repository('foreign', 'other');
    const box = dnfSandbox(join(ws.dir, 'dnf-foreign'), repo, keyFiles.rel as string);
    const r = box.install('foreign', 'pkg-small1');
    expect(r.status).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/repomd\.xml GPG signature verification error/);
    expect(existsSync(join(box.root, 'root-foreign/usr/share/pkg-small1'))).toBe(false);
  });

  it('dnf refuses a tampered repomd.xml and a missing repomd.xml.asc', () => {
    const repo = repository('tampered', 'rel');
    const repomd = join(repo, 'repodata/repomd.xml');
    writeFileSync(repomd, readFileSync(repomd, 'utf8').replace('<revision>', '<revision>1'));
    let r = dnfSandbox(join(ws.dir, 'dnf-tampered'), repo, keyFiles.rel as string).install('tampered', 'pkg-small1');
    expect(r.status).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/GPG signature verification error/);

    rmSync(join(repo, 'repodata/repomd.xml.asc'));
    r = dnfSandbox(join(ws.dir, 'dnf-unsigned'), repo, keyFiles.rel as string).install('unsigned', 'pkg-small1');
    expect(r.status).not.toBe(0);
  });

  it('refuses a directory without repodata, with a stable code', () => {
    const r = signet(['repo', 'sign', 'yum', ws.dir, '--key', 'rel'], { env });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/\(FILE_UNREADABLE\)/);
  });
});
