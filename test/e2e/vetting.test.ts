// Vetting end to end (docs/vetting.md): `signet vet` against a repository made here with a tag
// signed by gpg, the vetting record in the log, `requires: [vetted]` granting a signature only for
// the exact vetted digest (content and midstate), server-side vetting on a mirror, and the grant
// to vet being a separate one (`kinds: [vet]`).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeEntry, type LogEntry } from '../../src/tlog/entry.js';
import { requireBuild } from '../helpers/cli.js';
import { signetAsync } from '../helpers/cli-async.js';
import { makeReleaseRepo, type ReleaseRepo } from '../helpers/git-release.js';
import { api, startTestServer, type TestServer } from '../helpers/server.js';
import { requireTools } from '../helpers/tools.js';

let t: TestServer;
let repo: ReleaseRepo;
let dir: string;
let mirrors: string;
const tokens: Record<string, string> = {};

async function token(policies: string[], name: string): Promise<string> {
  const r = await api(t, 'POST', '/v1/auth/token/create', { token: t.adminToken, json: { policies, ttl: '1h', display_name: name } });
  expect(r.status, r.text).toBe(201);
  return r.json.token as string;
}

async function entry(index: number): Promise<LogEntry> {
  const r = await api(t, 'GET', `/v1/log/entries?start=${index}&end=${index + 1}`);
  if (r.json.entries.length === 0) {
    // Entries are served once a checkpoint covers them (about half a second).
    await new Promise((resolve) => setTimeout(resolve, 600));
    return entry(index);
  }
  return decodeEntry(Buffer.from(r.json.entries[0], 'base64'));
}

const cli = (args: string[], tok: string) => signetAsync(args, { env: { SIGNET_ADDR: t.url, SIGNET_TOKEN: tok } });

beforeAll(async () => {
  requireBuild();
  requireTools('git', 'gpg', 'tar');
  repo = makeReleaseRepo();
  dir = mkdtempSync(join(tmpdir(), 'signet-vetting-'));
  mirrors = join(dir, 'mirrors');
  mkdirSync(mirrors);
  expect(spawnSync('git', ['clone', '--quiet', '--mirror', repo.dir, join(mirrors, 'nova.git')]).status).toBe(0);
  writeFileSync(join(mirrors, 'nova.keyring.asc'), repo.keyring);
  writeFileSync(join(dir, 'keyring.asc'), repo.keyring);
  t = await startTestServer({ vetMirrors: mirrors });
  const k = await api(t, 'POST', '/v1/keys', { token: t.adminToken, json: { name: 'tarballs', algorithm: 'ed25519', user_id: 'Tarballs <rel@example.org>', purposes: ['detached'] } });
  expect(k.status, k.text).toBe(201);
  const policies: Record<string, string> = {
    vetter: "rules:\n  - {kinds: [vet], names: ['nova-*']}\n",
    release: "rules:\n  - {keys: [tarballs], kinds: [detached], names: ['nova-*'], mode: [content, midstate], requires: [vetted]}\n",
    // Signs tarballs, but may not vet them: vetting is a grant of its own.
    signer: "rules:\n  - {keys: [tarballs], kinds: [detached]}\n",
  };
  for (const [name, policy] of Object.entries(policies)) {
    const r = await api(t, 'PUT', `/v1/sys/policies/${name}`, { token: t.adminToken, json: { policy } });
    expect(r.status, r.text).toBe(200);
    tokens[name] = await token([name], `${name}-bot`);
  }
}, 120_000);

afterAll(async () => {
  await t?.close();
  repo?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function tarball(name: string, edit?: (top: string) => void): string {
  const path = join(dir, name);
  if (!edit) {
    writeFileSync(path, repo.archive('1.0.0'));
    return path;
  }
  const work = mkdtempSync(join(dir, 'x-'));
  writeFileSync(join(work, 'in.tgz'), repo.archive('1.0.0'));
  expect(spawnSync('tar', ['-xzf', 'in.tgz'], { cwd: work }).status).toBe(0);
  edit(join(work, 'nova-1.0.0'));
  expect(spawnSync('tar', ['-czf', path, 'nova-1.0.0'], { cwd: work }).status).toBe(0);
  return path;
}

describe('signet vet and requires: [vetted]', () => {
  let vetted: string;
  let vetIndex: number;

  it('vets the git archive tarball plus PKG-INFO, and logs a passing vetting record', async () => {
    vetted = tarball('nova-1.0.0.tar.gz', (top) => writeFileSync(join(top, 'PKG-INFO'), 'Name: nova\n'));
    const r = await cli(['vet', vetted, '--git', repo.dir, '--tag', '1.0.0', '--keyring', join(dir, 'keyring.asc'), '--allow-generated', 'PKG-INFO', '--repository', 'opendev.org/openstack/nova', '--json'], tokens.vetter!);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ verdict: 'pass', signer: repo.managerFpr, generated: ['PKG-INFO'] });
    vetIndex = out.log.index;
    const e = await entry(vetIndex);
    expect(e).toMatchObject({
      kind: 'vet',
      verdict: 'pass',
      repository: 'opendev.org/openstack/nova',
      tag: '1.0.0',
      tag_object: repo.git(['rev-parse', 'refs/tags/1.0.0']).trim(),
      tag_signer: repo.managerFpr,
      allowed: ['PKG-INFO'],
      mode: 'client',
      artifact: { name: 'nova-1.0.0.tar.gz', digest_alg: 'sha256', digest_hex: out.sha256 },
    });
  });

  it('refuses a vetting record from a token without the vet grant', async () => {
    const r = await cli(['vet', vetted, '--git', repo.dir, '--tag', '1.0.0', '--keyring', join(dir, 'keyring.asc'), '--allow-generated', 'PKG-INFO'], tokens.signer!);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/may not submit vetting records .*\(POLICY_DENIED\)/);
  });

  it('signs the vetted tarball, and its signature entry cites the vetting record', async () => {
    const r = await api(t, 'POST', '/v1/sign/tarballs?name=nova-1.0.0.tar.gz', { token: tokens.release!, body: readFileSync(vetted) });
    expect(r.status, r.text).toBe(200);
    const e = await entry(r.json.log.index);
    expect(e).toMatchObject({ kind: 'signature', vetting: { entry: vetIndex }, artifact: { digest_hex: r.json.artifact.sha256 } });
  });

  it('refuses a different tarball under the same name', async () => {
    const other = tarball('other.tar.gz', (top) => writeFileSync(join(top, 'nova', 'backdoor.py'), 'import os\n'));
    const r = await api(t, 'POST', '/v1/sign/tarballs?name=nova-1.0.0.tar.gz', { token: tokens.release!, body: readFileSync(other) });
    expect(r.status).toBe(403);
    expect(r.json.error.code).toBe('VETTING_REQUIRED');
    // A failing vet of it is logged, names the file, and still grants nothing.
    const v = await cli(['vet', other, '--git', repo.dir, '--tag', '1.0.0', '--keyring', join(dir, 'keyring.asc'), '--name', 'nova-1.0.0.tar.gz'], tokens.vetter!);
    expect(v.status).toBe(1);
    expect(v.stdout).toBe('added\tnova/backdoor.py\n');
    expect(v.stderr).toMatch(/the tarball does not match tag 1\.0\.0: 1 added .*\(VET_FAILED\)/);
    const again = await api(t, 'POST', '/v1/sign/tarballs?name=nova-1.0.0.tar.gz', { token: tokens.release!, body: readFileSync(other) });
    expect(again.json.error.code).toBe('VETTING_REQUIRED');
  });

  it('a client-side record cannot vouch for a tarball with a fail verdict, and a pass needs the signer', async () => {
    const sha = 'ab'.repeat(32);
    const base = { name: 'nova-x.tar.gz', sha256: sha, repository: 'r', tag: '1.0.0', tag_object: 'cd'.repeat(20), allowed: [] };
    expect((await api(t, 'POST', '/v1/vet', { token: tokens.vetter!, json: { ...base, verdict: 'pass' } })).json.error.code).toBe('BODY_INVALID');
    expect((await api(t, 'POST', '/v1/vet', { token: tokens.vetter!, json: { ...base, verdict: 'fail', reason: 'r' } })).status).toBe(201);
    const r = await api(t, 'POST', '/v1/sign/tarballs?name=nova-x.tar.gz', { token: tokens.release!, body: Buffer.from('x') });
    expect(r.json.error.code).toBe('VETTING_REQUIRED');
  });

  it('midstate: granted when the file digest is the vetted SHA-256, refused with SHA-512', async () => {
    const ok = await cli(['sign', vetted, '--key', 'tarballs', '--midstate-threshold', '0', '--hash', 'sha256', '-o', join(dir, 'm.sig'), '--json'], tokens.release!);
    expect(ok.stderr).toBe('');
    expect(ok.status).toBe(0);
    const e = await entry(JSON.parse(ok.stdout).log.index);
    expect(e).toMatchObject({ vetting: { entry: vetIndex }, artifact: { digest_alg: 'sha256' } });
    const no = await cli(['sign', vetted, '--key', 'tarballs', '--midstate-threshold', '0', '--hash', 'sha512', '-o', join(dir, 'm2.sig')], tokens.release!);
    expect(no.status).toBe(1);
    expect(no.stderr).toMatch(/vetting records name SHA-256 digests.*\(VETTING_REQUIRED\)/);
  });

  it('server-side vetting against the mirror logs a record the signature can rely on', async () => {
    const path = tarball('nova-1.0.0-srv.tar.gz');
    const r = await cli(['vet', path, '--mirror', 'nova', '--tag', '1.0.0', '--json'], tokens.vetter!);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(await entry(out.log.index)).toMatchObject({ kind: 'vet', mode: 'server', verdict: 'pass', tag_signer: repo.managerFpr });
    const s = await api(t, 'POST', '/v1/sign/tarballs?name=nova-1.0.0-srv.tar.gz', { token: tokens.release!, body: readFileSync(path) });
    expect(s.status, s.text).toBe(200);
    const bad = await cli(['vet', path, '--mirror', 'nova', '--tag', '1.0.0-stranger'], tokens.vetter!);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/not in the keyring \(VET_FAILED\)/);
  });

  it('the built server vets in a worker thread (the event loop stays free): same verdicts', async () => {
    const built = (await import(new URL('../../dist/vet/vet.js', import.meta.url).href)) as typeof import('../../src/vet/vet.js');
    const ok = await built.vetInWorker({ tarball: repo.archive('1.0.0'), repo: join(mirrors, 'nova.git'), tag: '1.0.0', keyring: repo.keyring, allow: [] });
    expect(ok).toMatchObject({ verdict: 'pass', signer: repo.managerFpr });
    const bad = await built.vetInWorker({ tarball: repo.archive('1.0.0-unsigned'), repo: join(mirrors, 'nova.git'), tag: '1.0.0-unsigned', keyring: repo.keyring, allow: [] });
    expect(bad).toMatchObject({ verdict: 'fail', reason: 'tag 1.0.0-unsigned is not signed' });
  });

  it('signet log verify passes over the vetting records', async () => {
    await new Promise((resolve) => setTimeout(resolve, 700));
    const r = await cli(['log', 'verify'], tokens.vetter!);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
