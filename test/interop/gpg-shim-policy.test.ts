// signet-gpg under a CI token whose policy grants one key for git only (deny by default): git
// signs, while rpmsign's header (kind rpm), a plain detached signature and another key are
// refused by the server, with nothing written and nothing logged. The token's key listing shows
// only the granted key, which is what repo-add/makepkg probe with.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTools } from '../helpers/tools.js';
import { signet } from '../helpers/cli.js';
import { makeWorkspace, run, type Workspace } from './rpm-setup.js';
import { SHIM, newSignatureEntries, settledSignatureCount, startShimServer, type ShimSetup } from './gpg-shim-setup.js';

describe('signet-gpg with a policy-bound token', () => {
  let s: ShimSetup;
  let ws: Workspace;
  let ci: Record<string, string>;

  beforeAll(async () => {
    requireTools('git', 'rpm', 'rpmsign', 'rpmbuild');
    s = await startShimServer('shim-policy');
    ws = makeWorkspace();
    const policy = join(s.dir, 'git-only.yaml');
    writeFileSync(policy, 'rules:\n  - keys: [rel-ed]\n    kinds: [git]\n');
    const w = signet(['policy', 'write', 'git-only', policy], { env: s.env });
    expect(w.status, w.stderr).toBe(0);
    const res = await fetch(`${s.srv.addr}/v1/auth/token/create`, {
      method: 'POST',
      headers: { authorization: `Bearer ${s.env.SIGNET_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ policies: ['git-only'], ttl: '1h' }),
    });
    expect(res.status).toBe(201);
    ci = { SIGNET_ADDR: s.env.SIGNET_ADDR!, SIGNET_TOKEN: ((await res.json()) as { token: string }).token };
  }, 180_000);

  afterAll(async () => {
    await s?.close();
    ws?.cleanup();
  });

  it('lists only the granted key, signs git payloads, refuses every other kind and key', async () => {
    const listing = run(SHIM, ['--list-secret-keys', '--with-colons'], { env: ci });
    expect(listing.status, listing.stderr).toBe(0);
    expect(listing.stdout.split('\n').filter((l) => l.startsWith('fpr:'))).toEqual([`fpr:::::::::${s.keys.ed.fingerprint}:`]);
    expect(run(SHIM, ['--list-secret-key', s.keys.rsa.email], { env: ci }).status).not.toBe(0);

    const before = await settledSignatureCount(s.srv.addr);
    // rpmsign: the header goes to the rpm route, kind rpm, not granted.
    const rpmDir = join(s.dir, 'rpms');
    mkdirSync(rpmDir);
    const pkg = join(rpmDir, basename(ws.corpus[0]!));
    copyFileSync(ws.corpus[0]!, pkg);
    const original = readFileSync(pkg);
    const r = run('rpmsign', ['--define', `__gpg ${SHIM}`, '--define', `_gpg_name ${s.keys.ed.name}`, '--addsign', pkg], { env: ci });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('POLICY_DENIED');
    expect(readFileSync(pkg).equals(original)).toBe(true);
    // A plain file: kind detached, not granted; no signature file appears.
    const file = join(s.dir, 'notes.txt');
    writeFileSync(file, 'release notes\n');
    const d = run(SHIM, ['--detach-sign', '-u', s.keys.ed.name, file], { env: ci });
    expect(d.status).toBe(1);
    expect(d.stderr).toContain('POLICY_DENIED');
    expect(existsSync(`${file}.sig`)).toBe(false);
    // The other key, even for git: the token cannot see it, so it cannot name it.
    const other = run(SHIM, ['--status-fd=2', '-bsau', s.keys.rsa.email], { env: ci, input: Buffer.from('tree 0000\n') });
    expect(other.status).not.toBe(0);
    expect(other.stdout).toBe('');

    // git with the granted key works.
    const repo = join(s.dir, 'repo');
    const genv = { ...ci, HOME: s.dir, GIT_CONFIG_NOSYSTEM: '1' };
    run('git', ['init', '-q', repo], { env: genv });
    run('git', ['-C', repo, 'config', 'user.name', 'ci'], { env: genv });
    run('git', ['-C', repo, 'config', 'user.email', 'ci@signet.test'], { env: genv });
    const c = run('git', ['-C', repo, '-c', `gpg.program=${SHIM}`, '-c', `user.signingkey=${s.keys.ed.fingerprint}`, 'commit', '-q', '--allow-empty', '-S', '-m', 'ci'], { env: genv });
    expect(c.status, c.stderr).toBe(0);
    const entries = await newSignatureEntries(s.srv.addr, before, 1);
    expect(entries.map((e) => [e.sig_kind, e.key_fingerprint])).toEqual([['git', s.keys.ed.fingerprint]]);
  });
});
