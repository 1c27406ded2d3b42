// `signet repo sign apt` against real apt: apt-get update + install from file:// with signed-by=
// succeeds through InRelease and through Release + Release.gpg; a foreign key, an expired
// Valid-Until and a tampered InRelease are refused.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTools } from '../helpers/tools.js';
import { requireBuild, serveProcess, signet, type ServeProcess } from '../helpers/cli.js';
import { createRepoKeys, aptSandbox, makeAptRepo } from './repo-setup.js';

describe('signet repo sign apt', () => {
  let dir: string;
  let srv: ServeProcess;
  let env: Record<string, string>;
  const keyFiles: Record<string, string> = {};

  beforeAll(async () => {
    requireTools('apt-get', 'apt-ftparchive', 'dpkg-deb', 'gpgv');
    requireBuild();
    dir = mkdtempSync(join(tmpdir(), 'signet-apt-'));
    srv = await serveProcess();
    env = { SIGNET_ADDR: srv.addr, SIGNET_TOKEN: srv.token };
    Object.assign(keyFiles, createRepoKeys(env, dir).keyFiles);
  }, 180_000);

  afterAll(async () => {
    await srv?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function fresh(name: string, release: { validUntil?: string; date?: string } = {}): string {
    const d = join(dir, name);
    mkdirSync(d);
    return makeAptRepo(d, 'signet-hello', release);
  }

  it('apt-get update + install through InRelease, and through Release.gpg alone', () => {
    const repo = fresh('ok');
    const dist = join(repo, 'dists/stable');
    const r = signet(['repo', 'sign', 'apt', dist, '--key', 'rel', '--valid-for', '7d', '--json'], { env });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.validUntil).toMatch(/UTC$/);
    const release = readFileSync(join(dist, 'Release'), 'utf8');
    expect(release).toMatch(/^Valid-Until: /m);
    const inRelease = readFileSync(join(dist, 'InRelease'), 'utf8');
    expect(inRelease).toMatch(/^-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n/);
    expect(readFileSync(join(dist, 'Release.gpg'), 'utf8')).toMatch(/^-----BEGIN PGP SIGNATURE-----/);

    const box = aptSandbox(join(dir, 'ok-root'), repo, keyFiles.rel as string);
    let u = box.aptGet(['update']);
    expect(u.status, u.stdout + u.stderr).toBe(0);
    expect(u.stdout + u.stderr).not.toMatch(/^[WE]:/m);
    const i = box.aptGet(['install', '-y', 'signet-hello']);
    expect(i.status, i.stdout + i.stderr).toBe(0);
    expect(readFileSync(join(box.root, 'usr/share/signet-hello/hello.txt'), 'utf8')).toBe('hello from signet-hello\n');

    // Without InRelease apt falls back to Release + Release.gpg (which must be armored).
    rmSync(join(dist, 'InRelease'));
    box.clearLists();
    u = box.aptGet(['update']);
    expect(u.status, u.stdout + u.stderr).toBe(0);
    expect(u.stdout + u.stderr).toMatch(/Release\.gpg/);
    expect(u.stdout + u.stderr).not.toMatch(/^[WE]:/m);
  });

  it('an Ed25519 key works too (SHA-512 signatures), InRelease and Release.gpg', () => {
    const repo = fresh('ed25519');
    const dist = join(repo, 'dists/stable');
    expect(signet(['repo', 'sign', 'apt', dist, '--key', 'other', '--valid-for', '1d'], { env }).status).toBe(0);
    const box = aptSandbox(join(dir, 'ed25519-root'), repo, keyFiles.other as string);
    let u = box.aptGet(['update']);
    expect(u.status, u.stdout + u.stderr).toBe(0);
    expect(u.stdout + u.stderr).not.toMatch(/^[WE]:/m);
    rmSync(join(dist, 'InRelease'));
    box.clearLists();
    u = box.aptGet(['update']);
    expect(u.status, u.stdout + u.stderr).toBe(0);
    expect(u.stdout + u.stderr).not.toMatch(/^[WE]:/m);
  });

  it('a client trusting another key refuses the repository', () => {
    const repo = fresh('foreign');
    expect(signet(['repo', 'sign', 'apt', join(repo, 'dists/stable'), '--key', 'other'], { env }).status).toBe(0);
    const box = aptSandbox(join(dir, 'foreign-root'), repo, keyFiles.rel as string);
    const u = box.aptGet(['update']);
    expect(u.status).not.toBe(0);
    expect(u.stdout + u.stderr).toMatch(/NO_PUBKEY|not signed/);
    expect(box.aptGet(['install', '-y', 'signet-hello']).status).not.toBe(0);
    expect(existsSync(join(box.root, 'usr/share/signet-hello/hello.txt'))).toBe(false);
  });

  it('an expired Valid-Until is refused by apt; --valid-for renews it', () => {
    const repo = fresh('expired', { date: 'Mon, 02 Nov 2026 10:00:00 UTC', validUntil: 'Mon, 09 Nov 2020 10:00:00 UTC' });
    const dist = join(repo, 'dists/stable');
    // Signed as is: the signature is good but the metadata is stale.
    expect(signet(['repo', 'sign', 'apt', dist, '--key', 'rel'], { env }).status).toBe(0);
    expect(readFileSync(join(dist, 'InRelease'), 'utf8')).toMatch(/^Valid-Until: Mon, 09 Nov 2020 10:00:00 UTC$/m);
    const box = aptSandbox(join(dir, 'expired-root'), repo, keyFiles.rel as string);
    let u = box.aptGet(['update']);
    expect(u.status).not.toBe(0);
    expect(u.stdout + u.stderr).toMatch(/expired/);
    // The scheduled re-sign rewrites Date and Valid-Until, and apt takes it again.
    expect(signet(['repo', 'sign', 'apt', dist, '--key', 'rel', '--valid-for', '1d'], { env }).status).toBe(0);
    box.clearLists();
    u = box.aptGet(['update']);
    expect(u.status, u.stdout + u.stderr).toBe(0);
  });

  it('a tampered InRelease is refused', () => {
    const repo = fresh('tampered');
    const dist = join(repo, 'dists/stable');
    expect(signet(['repo', 'sign', 'apt', dist, '--key', 'rel'], { env }).status).toBe(0);
    const text = readFileSync(join(dist, 'InRelease'), 'utf8');
    writeFileSync(join(dist, 'InRelease'), text.replace('Suite: stable', 'Suite: stablf'));
    const box = aptSandbox(join(dir, 'tampered-root'), repo, keyFiles.rel as string);
    const u = box.aptGet(['update']);
    expect(u.status).not.toBe(0);
    expect(u.stdout + u.stderr).toMatch(/BADSIG|not signed|invalid/i);
  });

  it('refuses input that is not a single-paragraph Release, and an unknown key, with codes', () => {
    const repo = fresh('bad');
    const dist = join(repo, 'dists/stable');
    copyFileSync(join(dist, 'Release'), join(dir, 'Release.orig'));
    writeFileSync(join(dist, 'Release'), 'Suite: stable\n\nSuite: other\n');
    let r = signet(['repo', 'sign', 'apt', dist, '--key', 'rel'], { env });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/\(BODY_INVALID\)/);
    expect(existsSync(join(dist, 'InRelease'))).toBe(false);
    copyFileSync(join(dir, 'Release.orig'), join(dist, 'Release'));
    r = signet(['repo', 'sign', 'apt', dist, '--key', 'nope'], { env });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/\(KEY_NOT_FOUND\)/);
    r = signet(['repo', 'sign', 'apt', dist, '--key', 'rel', '--valid-for', 'soon'], { env });
    expect(r.status).toBe(2);
    expect(existsSync(join(dist, 'InRelease'))).toBe(false);
  });

  it('a token whose policy grants apt for Release signs it, and is refused for yum with nothing written', async () => {
    const policy = join(dir, 'apt-only.yaml');
    writeFileSync(policy, "rules:\n  - keys: [rel]\n    kinds: [apt]\n    names: ['Release']\n");
    expect(signet(['policy', 'write', 'apt-only', policy], { env }).status).toBe(0);
    const res = await fetch(`${srv.addr}/v1/auth/token/create`, {
      method: 'POST',
      headers: { authorization: `Bearer ${srv.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ policies: ['apt-only'], ttl: '1h' }),
    });
    expect(res.status).toBe(201);
    const ci = { SIGNET_ADDR: srv.addr, SIGNET_TOKEN: ((await res.json()) as { token: string }).token };
    const repo = fresh('policy');
    const dist = join(repo, 'dists/stable');
    const r = signet(['repo', 'sign', 'apt', dist, '--key', 'rel', '--valid-for', '7d'], { env: ci });
    expect(r.status, r.stderr).toBe(0);
    expect(existsSync(join(dist, 'InRelease'))).toBe(true);
    mkdirSync(join(repo, 'repodata'));
    writeFileSync(join(repo, 'repodata/repomd.xml'), '<repomd><revision>1</revision></repomd>\n');
    const y = signet(['repo', 'sign', 'yum', repo, '--key', 'rel'], { env: ci });
    expect(y.status).toBe(1);
    expect(y.stderr).toMatch(/\(POLICY_DENIED\)/);
    expect(existsSync(join(repo, 'repodata/repomd.xml.asc'))).toBe(false);
  });
});
