// Stock git signing through signet-gpg (gpg.program): commit -S, tag -s and push --signed with
// RSA-4096 and Ed25519 keys; git verify-commit / verify-tag with plain gpg holding only the
// exported public keys accept them, and reject a forged tag and a key they do not hold. Every
// signature is in the transparency log as a git entry.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTools } from '../helpers/tools.js';
import { run } from './rpm-setup.js';
import { SHIM, armoredSignatureSha256, entriesFor, newSignatureEntries, settledSignatureCount, startShimServer, type ShimKey, type ShimSetup } from './gpg-shim-setup.js';

describe('git through signet-gpg', () => {
  let s: ShimSetup;
  let repo: string;
  let env: NodeJS.ProcessEnv;

  const git = (args: string[], extraEnv: NodeJS.ProcessEnv = {}) => run('git', ['-C', repo, ...args], { env: { ...env, ...extraEnv } });
  const shimGit = (key: string | undefined, args: string[]) =>
    git(['-c', `gpg.program=${SHIM}`, ...(key !== undefined ? ['-c', `user.signingkey=${key}`] : []), ...args]);

  beforeAll(async () => {
    requireTools('git', 'gpg');
    s = await startShimServer('shim-git');
    // Plain gpg for verification: a keyring with the two release keys only.
    const home = join(s.dir, 'gnupg');
    mkdirSync(home, { mode: 0o700 });
    env = {
      ...s.env,
      GNUPGHOME: home,
      GIT_CONFIG_NOSYSTEM: '1',
      HOME: s.dir,
      GIT_AUTHOR_DATE: '2026-01-01T00:00:00Z',
    };
    for (const k of [s.keys.rsa, s.keys.ed]) expect(run('gpg', ['--batch', '--import', k.publicKeyFile], { env }).status).toBe(0);
    repo = join(s.dir, 'repo');
    expect(run('git', ['init', '-q', repo], { env }).status).toBe(0);
    git(['config', 'user.name', 'Release rel-ed']);
    git(['config', 'user.email', 'rel-ed@signet.test']);
  }, 180_000);

  afterAll(async () => {
    run('gpgconf', ['--kill', 'all'], { env });
    await s?.close();
  });

  let n = 0;
  function commit(key: string | undefined): string {
    writeFileSync(join(repo, 'file.txt'), `change ${++n}\n`);
    git(['add', 'file.txt']);
    const r = shimGit(key, ['commit', '-q', '-S', '-m', `change ${n}`]);
    expect(r.status, r.stderr).toBe(0);
    return git(['rev-parse', 'HEAD']).stdout.trim();
  }

  function expectGood(r: { status: number; stderr: string }, key: ShimKey): void {
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain(`Good signature from "${key.userId}"`);
    expect(r.stderr.replace(/\s/g, '')).toContain(key.fingerprint);
  }

  const cases: [string, () => ShimKey, (k: ShimKey) => string | undefined][] = [
    ['RSA-4096 (user.signingkey = email)', () => s.keys.rsa, (k) => k.email],
    ['Ed25519 (user.signingkey = long key ID)', () => s.keys.ed, (k) => k.fingerprint.slice(-16)],
    ['Ed25519 (no user.signingkey: the committer identity)', () => s.keys.ed, () => undefined],
  ];
  for (const [label, keyOf, specOf] of cases) {
    it(`${label}: commit -S and tag -s verify with plain gpg and through the shim`, async () => {
      const key = keyOf();
      const head = commit(specOf(key));
      const tag = `v${n}`;
      const t = shimGit(undefined, ['tag', '-s', tag, '-m', `release ${tag}`, ...(specOf(key) ? ['-u', specOf(key)!] : [])]);
      expect(t.status, t.stderr).toBe(0);
      expectGood(git(['verify-commit', head]), key);
      expectGood(git(['verify-tag', tag]), key);
      // The shim hands --verify to the real gpg.
      expectGood(git(['-c', `gpg.program=${SHIM}`, 'verify-tag', tag]), key);
      const shas = [armoredSignatureSha256(git(['cat-file', 'commit', head]).stdout), armoredSignatureSha256(git(['cat-file', 'tag', tag]).stdout)];
      const entries = await entriesFor(s.srv.addr, shas);
      expect(entries.map((e) => [e.sig_kind, e.artifact.name, e.key_fingerprint])).toEqual([
        ['git', 'commit', key.fingerprint],
        ['git', 'tag', key.fingerprint],
      ]);
    });
  }

  it('a forged tag (message changed, signature kept) and a key gpg does not hold fail verification', () => {
    commit(s.keys.rsa.email);
    expect(shimGit(undefined, ['tag', '-s', 'good', '-m', 'genuine release', '-u', s.keys.rsa.name]).status).toBe(0);
    const raw = git(['cat-file', 'tag', 'good']).stdout;
    expect(raw).toContain('-----BEGIN PGP SIGNATURE-----');
    const forged = raw.replace('genuine release', 'forged release!');
    const id = run('git', ['-C', repo, 'mktag'], { env, input: Buffer.from(forged) }).stdout.trim();
    expect(id).toMatch(/^[0-9a-f]{40}$/);
    git(['update-ref', 'refs/tags/forged', id]);
    const bad = git(['verify-tag', 'forged']);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain('BAD signature');
    expect(git(['-c', `gpg.program=${SHIM}`, 'verify-tag', 'forged']).status).not.toBe(0);
    // Signed by a signet key the verifier's keyring does not have.
    expect(shimGit(undefined, ['tag', '-s', 'foreign', '-m', 'x', '-u', s.keys.other.name]).status).toBe(0);
    const foreign = git(['verify-tag', 'foreign']);
    expect(foreign.status).not.toBe(0);
    expect(foreign.stderr).not.toContain('Good signature');
  });

  it('push --signed: the push certificate is signed through the shim and logged', async () => {
    const before = await settledSignatureCount(s.srv.addr);
    const bare = join(s.dir, 'remote.git');
    expect(run('git', ['init', '-q', '--bare', bare], { env }).status).toBe(0);
    run('git', ['-C', bare, 'config', 'receive.certNonceSeed', 'signet-test-seed'], { env });
    const r = shimGit(s.keys.ed.name, ['push', '-q', '--signed', bare, 'HEAD:refs/heads/main']);
    expect(r.status, r.stderr).toBe(0);
    const entries = await newSignatureEntries(s.srv.addr, before, 1);
    expect(entries.map((e) => [e.sig_kind, e.artifact.name, e.key_fingerprint])).toEqual([['git', 'push-certificate', s.keys.ed.fingerprint]]);
  });

  it('an unknown key or an unsupported option fails the commit and signs nothing', async () => {
    const before = await settledSignatureCount(s.srv.addr);
    writeFileSync(join(repo, 'file.txt'), 'refused\n');
    git(['add', 'file.txt']);
    expect(shimGit('nobody@signet.test', ['commit', '-q', '-S', '-m', 'refused']).status).not.toBe(0);
    // git passes the key after -bsau; a key spec starting with "-" is not an option smuggled in.
    const r = run(SHIM, ['--status-fd=2', '-bsau', s.keys.ed.name, '--encrypt'], { env, input: Buffer.from('tree x\n') });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('--encrypt is not supported');
    // One signature that goes through; it is the only new entry.
    commit(s.keys.ed.name);
    const entries = await newSignatureEntries(s.srv.addr, before, 1);
    expect(entries).toHaveLength(1);
  });
});
