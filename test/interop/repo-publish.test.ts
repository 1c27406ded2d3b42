// `signet publish STAGING LIVE`: metadata signed where needed, the copy gated, LIVE switched with
// one rename. A reader process loops over LIVE the whole time (resolving it once per pass, as a
// server pins its document root per request) and checks that every pass sees one signed,
// consistent release: never an unsigned file, never metadata of two versions. A publish the gate
// refuses leaves LIVE alone; --rollback goes back; dnf installs from the published tree.
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readlinkSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTools } from '../helpers/tools.js';
import { ROOT, requireBuild, serveProcess, signet, type ServeProcess } from '../helpers/cli.js';
import { makeWorkspace, mustRun, type Workspace } from './rpm-setup.js';
import { dnfSandbox, makeAptRepo } from './repo-setup.js';

/** The reader: JSON summary on stdout when STOP appears. */
const READER = `
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
const [live, keyFile, stop, root] = process.argv.slice(1);
const { verifyDetached, verifyClearsigned, dearmor, parseTransferablePublicKey } = await import(join(root, 'dist/openpgp/index.js'));
const keys = [parseTransferablePublicKey(dearmor(readFileSync(keyFile, 'utf8')).bytes).info];
let passes = 0, failures = [], seen = new Set();
while (!existsSync(stop)) {
  passes++;
  try {
    const dir = realpathSync(live);
    const version = readFileSync(join(dir, 'VERSION'), 'utf8').trim();
    const repomd = readFileSync(join(dir, 'el9/repodata/repomd.xml'));
    const asc = readFileSync(join(dir, 'el9/repodata/repomd.xml.asc'));
    if (!verifyDetached(repomd, asc, keys).ok) throw new Error('repomd.xml not signed');
    if (!repomd.toString().includes('<revision>' + version + '</revision>')) throw new Error('repomd.xml of another version');
    const inRelease = verifyClearsigned(readFileSync(join(dir, 'debian/dists/stable/InRelease'), 'utf8'), keys);
    if (!inRelease.result.ok) throw new Error('InRelease not signed');
    if (!inRelease.text.includes('Label: ' + version + '\\n')) throw new Error('InRelease of another version');
    seen.add(version);
  } catch (err) {
    if (failures.length < 20) failures.push(String(err && err.message || err));
    else failures.length++;
  }
}
process.stdout.write(JSON.stringify({ passes, failures, seen: [...seen].sort() }));
`;

describe('signet publish', () => {
  let ws: Workspace;
  let srv: ServeProcess;
  let env: Record<string, string>;
  let keyFile: string;
  let staging: string;
  let live: string;

  beforeAll(async () => {
    requireTools('rpm', 'rpmbuild', 'createrepo_c', 'apt-ftparchive', 'dpkg-deb', 'dnf');
    requireBuild();
    ws = makeWorkspace();
    srv = await serveProcess();
    env = { SIGNET_ADDR: srv.addr, SIGNET_TOKEN: srv.token };
    expect(signet(['key', 'create', 'rel', '--algo', 'ed25519'], { env }).status).toBe(0);
    keyFile = join(ws.dir, 'rel.asc');
    writeFileSync(keyFile, signet(['key', 'export', 'rel'], { env }).stdout);
    staging = join(ws.dir, 'staging');
    live = join(ws.dir, 'www', 'live');
    mkdirSync(join(ws.dir, 'www'));
    mkdirSync(join(staging, 'el9'), { recursive: true });
    const rpms = ws.corpus.slice(0, 2).map((f) => join(staging, 'el9', basename(f)));
    ws.corpus.slice(0, 2).forEach((f, i) => copyFileSync(f, rpms[i] as string));
    expect(signet(['rpm', 'sign', '--key', 'rel', ...rpms], { env }).status).toBe(0);
    const aptBuild = join(ws.dir, 'apt-build');
    mkdirSync(aptBuild);
    mustRun('cp', ['-a', makeAptRepo(aptBuild), join(staging, 'debian')]);
  }, 240_000);

  afterAll(async () => {
    await srv?.stop();
    ws?.cleanup();
  });

  /** New unsigned metadata in staging for `version` (what a build would produce). */
  function stage(version: string): void {
    writeFileSync(join(staging, 'VERSION'), `${version}\n`);
    // Publish requires every file signed: VERSION gets its own signature.
    const sig = signet(['sign', '--key', 'rel', join(staging, 'VERSION')], { env });
    expect(sig.status, sig.stderr).toBe(0);
    mustRun('createrepo_c', ['-q', '--revision', version, join(staging, 'el9')]);
    const dist = join(staging, 'debian/dists/stable');
    const release = readFileSync(join(dist, 'Release'), 'utf8').replace(/^Label:.*\n/m, '');
    writeFileSync(join(dist, 'Release'), `Label: ${version}\n${release}`);
  }

  function publishVersion(version: string, extra: string[] = []) {
    stage(version);
    return signet(['publish', staging, live, '--key', 'rel', '--valid-for', '7d', '--json', ...extra], { env });
  }

  it('a reader looping over LIVE never sees an unsigned or mixed repository', async () => {
    let r = publishVersion('v1');
    expect(r.status, r.stderr).toBe(0);
    const first = JSON.parse(r.stdout);
    expect(first.signed.map((s: any) => s.kind).sort()).toEqual(['apt', 'yum']);
    expect(first.previous).toBeNull();

    const stop = join(ws.dir, 'stop-reader');
    const reader = spawn(process.execPath, ['--input-type=module', '-e', READER, live, keyFile, stop, ROOT], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    reader.stdout.on('data', (d: Buffer) => (out += d.toString()));
    reader.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const done = new Promise<number | null>((resolve) => reader.once('exit', resolve));
    const pause = () => new Promise((resolve) => setTimeout(resolve, 150));

    const targets: string[] = [readlinkSync(live)];
    for (const version of ['v2', 'v3', 'v4', 'v5']) {
      await pause();
      r = publishVersion(version);
      expect(r.status, r.stderr).toBe(0);
      targets.push(readlinkSync(live));
    }
    // A release the gate refuses (an unsigned package) never goes live.
    await pause();
    copyFileSync(ws.corpus[5] as string, join(staging, 'el9', basename(ws.corpus[5] as string)));
    r = publishVersion('v6');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/GATE_REFUSED/);
    expect(readlinkSync(live)).toBe(targets.at(-1));
    rmSync(join(staging, 'el9', basename(ws.corpus[5] as string)));
    // Roll back to v4 while the reader runs.
    await pause();
    r = signet(['publish', '--rollback', live, '--keys', 'rel'], { env });
    expect(r.status, r.stderr).toBe(0);
    expect(readlinkSync(live)).toBe(targets.at(-2));
    await pause();

    writeFileSync(stop, '');
    expect(await done).toBe(0);
    expect(err).toBe('');
    const summary = JSON.parse(out);
    console.log(`publish reader: ${summary.passes} passes over LIVE, versions ${summary.seen.join(' ')}, ${summary.failures.length} failures`);
    expect(summary.failures).toEqual([]);
    expect(summary.passes).toBeGreaterThan(20);
    expect(summary.seen.length).toBeGreaterThanOrEqual(3);
    expect(readFileSync(join(live, 'VERSION'), 'utf8')).toBe('v4\n');
    // --keep 3 (default): older releases were pruned, the live one and its predecessor kept.
    const kept = readdirSync(`${live}.releases`);
    expect(kept.length).toBeLessThanOrEqual(3);
    expect(kept).toContain(basename(readlinkSync(live)));

    // Control: the same reader over a tree updated file by file (no symlink switch) does see
    // mixed and unsigned states, so its silence above means something.
    const naive = join(ws.dir, 'naive');
    mustRun('cp', ['-a', readlinkSync(live).replace(/^live\.releases/, `${live}.releases`), naive]);
    const other = join(`${live}.releases`, kept.find((id) => id !== basename(readlinkSync(live)))!);
    const stop2 = join(ws.dir, 'stop-naive');
    const control = spawn(process.execPath, ['--input-type=module', '-e', READER, naive, keyFile, stop2, ROOT], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out2 = '';
    control.stdout.on('data', (d: Buffer) => (out2 += d.toString()));
    const done2 = new Promise<number | null>((resolve) => control.once('exit', resolve));
    for (let i = 0; i < 4; i++) {
      const from = i % 2 === 0 ? other : readlinkSync(live).replace(/^live\.releases/, `${live}.releases`);
      for (const f of ['VERSION', 'el9/repodata/repomd.xml', 'el9/repodata/repomd.xml.asc', 'debian/dists/stable/InRelease']) {
        copyFileSync(join(from, f), join(naive, f));
        await pause();
      }
    }
    writeFileSync(stop2, '');
    expect(await done2).toBe(0);
    const naiveSummary = JSON.parse(out2);
    console.log(`control reader (file-by-file update): ${naiveSummary.passes} passes, ${naiveSummary.failures.length} failures`);
    expect(naiveSummary.failures.length).toBeGreaterThan(0);
  }, 180_000);

  it('dnf installs from the published tree; LIVE that is a real directory is refused', () => {
    const box = dnfSandbox(join(ws.dir, 'dnf'), join(live, 'el9'), keyFile);
    const r = box.install('live', basename(ws.corpus[0] as string).replace(/-1\.0-1\.noarch\.rpm$/, ''));
    expect(r.status, r.stdout + r.stderr).toBe(0);
    const dir = join(ws.dir, 'www', 'plain');
    mkdirSync(dir);
    const p = signet(['publish', staging, dir, '--keys', keyFile], { env });
    expect(p.status).toBe(2);
    expect(existsSync(`${dir}.releases`)).toBe(false);
  });
});
