// The publishing boundary, tried as an attacker with write access to the staging tree: the
// staging tree is written by an unprivileged user (nobody, through setpriv) and published by
// root, as a release job does. What goes live is exactly what the gate checked, with modes and
// an owner of publish's choosing, never the staging user's. Root is needed to publish as another
// user than the one that wrote the tree; the suite runs as root here and in CI.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { armor, generateKey, signDetached, type GeneratedKey } from '../openpgp/index.js';
import { gateDirectory } from './gate.js';
import { acquireLock, publish } from './publish.js';

const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;

/** Runs a shell script as nobody:nogroup (no supplementary groups). */
function asNobody(script: string, ...args: string[]): { status: number; stderr: string } {
  const r = spawnSync('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '--', 'sh', '-c', script, 'sh', ...args], { encoding: 'utf8' });
  return { status: r.status ?? -1, stderr: r.stderr };
}

describe.runIf(isRoot)('publishing boundary (staging written by nobody, published by root)', () => {
  let dir: string;
  let key: GeneratedKey;
  let mallory: GeneratedKey;
  let n = 0;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'signet-boundary-'));
    chmodSync(dir, 0o755);
    key = await generateKey({ algorithm: 'ed25519', userId: 'rel <rel@signet.test>' });
    mallory = await generateKey({ algorithm: 'ed25519', userId: 'mallory <mallory@signet.test>' });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** A fresh case: DIR/staging owned by nobody, LIVE beside it (not yet there). */
  function fresh(): { staging: string; live: string } {
    const base = join(dir, `case-${n++}`);
    mkdirSync(base, { mode: 0o755 });
    const staging = join(base, 'staging');
    mkdirSync(staging, { mode: 0o755 });
    chownSync(staging, NOBODY, NOBODY);
    return { staging, live: join(base, 'live') };
  }

  async function detached(data: Buffer, signer: GeneratedKey): Promise<Buffer> {
    return signDetached(data, signer.privateKey, { type: 0x00, hashAlgorithm: 'sha256', creationTime: Math.floor(Date.now() / 1000), signer: signer.info });
  }

  /** SHA256SUMS (listing `files`) and SHA256SUMS.asc signed by `signer`, owned by nobody. */
  async function sums(root: string, files: string[], signer = key): Promise<void> {
    const text = files.map((f) => `${createHash('sha256').update(readFileSync(join(root, f))).digest('hex')}  ${f}\n`).join('');
    writeFileSync(join(root, 'SHA256SUMS'), text);
    writeFileSync(join(root, 'SHA256SUMS.asc'), armor('SIGNATURE', await detached(Buffer.from(text), signer)));
    chownSync(join(root, 'SHA256SUMS'), NOBODY, NOBODY);
    chownSync(join(root, 'SHA256SUMS.asc'), NOBODY, NOBODY);
  }

  const problems = (report: { findings: { path: string; problem: string }[] }) => report.findings.map((f) => `${f.path} ${f.problem}`).sort();

  it('modes: setuid is refused (gate and publish); 0777/0666 are published 0755/0644, owned by root, not writable by the staging user', async () => {
    const { staging, live } = fresh();
    const made = asNobody(
      'cd "$1" && mkdir bin && printf "#!/bin/sh\\nid -u\\n" > bin/tool && chmod 4755 bin/tool && chmod 0777 bin && printf data > data.txt && chmod 0666 data.txt',
      staging,
    );
    expect(made.status, made.stderr).toBe(0);
    await sums(staging, ['bin/tool', 'data.txt']);
    expect(statSync(join(staging, 'bin/tool')).mode & 0o7777).toBe(0o4755);

    expect(problems(await gateDirectory(staging, [key.info]))).toEqual(['bin/tool UNSAFE_MODE']);
    await expect(publish(staging, live, { keys: [key.info] })).rejects.toMatchObject({ code: 'GATE_REFUSED' });
    expect(existsSync(live)).toBe(false);
    expect(readdirSync(`${live}.releases`)).toEqual([]);

    expect(asNobody('chmod 0755 "$1"', join(staging, 'bin/tool')).status).toBe(0);
    const result = await publish(staging, live, { keys: [key.info] });
    const mode = (p: string) => lstatSync(join(result.release, p)).mode & 0o7777;
    const owner = (p: string) => lstatSync(join(result.release, p)).uid;
    expect([mode('.'), mode('bin'), mode('bin/tool'), mode('data.txt'), mode('SHA256SUMS')]).toEqual([0o755, 0o755, 0o755, 0o644, 0o644]);
    expect(['.', 'bin', 'bin/tool', 'data.txt'].map(owner)).toEqual([0, 0, 0, 0]);
    // The staging user cannot drop a file into, or change a file of, the live release.
    expect(asNobody('printf evil > "$1"', join(live, 'bin/unsigned.rpm')).status).not.toBe(0);
    expect(asNobody('printf evil >> "$1"', join(live, 'data.txt')).status).not.toBe(0);
    expect(existsSync(join(live, 'bin/unsigned.rpm'))).toBe(false);
  });

  it('hidden entries are gated, directory links and links leaving the tree refused; a hidden signed file is published', async () => {
    const { staging, live } = fresh();
    const made = asNobody(
      'cd "$1" && mkdir .stash .well-known && printf tampered > .stash/app.tar.gz && printf "deny all" > .htaccess && ln -s .stash pkgs && ln -s /etc .etc && printf ok > .well-known/security.txt',
      staging,
    );
    expect(made.status, made.stderr).toBe(0);
    writeFileSync(join(staging, '.stash/app.tar.gz.asc'), armor('SIGNATURE', await detached(Buffer.from('tampered'), mallory)));
    await sums(staging, ['.well-known/security.txt']);
    expect(problems(await gateDirectory(staging, [key.info]))).toEqual(['.etc MALFORMED', '.stash/app.tar.gz UNKNOWN_KEY', 'pkgs MALFORMED']);
    expect(problems(await gateDirectory(staging, [key.info], { requireSigned: true }))).toEqual([
      '.etc MALFORMED',
      '.htaccess UNSIGNED',
      '.stash/app.tar.gz UNKNOWN_KEY',
      'pkgs MALFORMED',
    ]);
    await expect(publish(staging, live, { keys: [key.info] })).rejects.toMatchObject({ code: 'GATE_REFUSED' });
    await expect(publish(staging, live, { keys: [key.info], requireSigned: false })).rejects.toMatchObject({ code: 'GATE_REFUSED' });
    expect(existsSync(live)).toBe(false);
    rmSync(join(staging, '.stash'), { recursive: true });
    rmSync(join(staging, 'pkgs'));
    rmSync(join(staging, '.etc'));
    rmSync(join(staging, '.htaccess'));
    const result = await publish(staging, live, { keys: [key.info] });
    expect(readdirSync(result.release).sort()).toEqual(['.well-known', 'SHA256SUMS', 'SHA256SUMS.asc']);
    expect(result.gate.checked.map((c) => c.path)).toContain('SHA256SUMS');
  });

  it('a public key block never counts as a signature; with every file required signed, an unlisted file is refused', async () => {
    const { staging, live } = fresh();
    writeFileSync(join(staging, 'app.tar.gz'), 'tampered after signing');
    // The signature replaced by the allowed key's own public key block.
    writeFileSync(join(staging, 'app.tar.gz.asc'), armor('PUBLIC KEY BLOCK', key.transferablePublicKey));
    expect(problems(await gateDirectory(staging, [key.info]))).toEqual(['app.tar.gz.asc MALFORMED']);
    await expect(publish(staging, live, { keys: [key.info], requireSigned: false })).rejects.toMatchObject({ code: 'GATE_REFUSED' });

    // A real signature: passes. A README and a published key that nothing covers: refused by
    // default in publish, let through only when asked.
    writeFileSync(join(staging, 'app.tar.gz.asc'), armor('SIGNATURE', await detached(Buffer.from('tampered after signing'), key)));
    writeFileSync(join(staging, 'README'), 'hello\n');
    mkdirSync(join(staging, 'keys'));
    writeFileSync(join(staging, 'keys/release.asc'), armor('PUBLIC KEY BLOCK', mallory.transferablePublicKey));
    expect(problems(await gateDirectory(staging, [key.info]))).toEqual([]);
    expect(problems(await gateDirectory(staging, [key.info], { requireSigned: true }))).toEqual(['README UNSIGNED', 'keys/release.asc UNSIGNED']);
    await expect(publish(staging, live, { keys: [key.info] })).rejects.toMatchObject({ code: 'GATE_REFUSED' });
    await sums(staging, ['README', 'keys/release.asc']);
    expect(problems(await gateDirectory(staging, [key.info], { requireSigned: true }))).toEqual([]);
    expect((await publish(staging, live, { keys: [key.info] })).gate.ok).toBe(true);
  });

  it('a name that is not UTF-8 is refused, not checked as its U+FFFD twin', async () => {
    const { staging, live } = fresh();
    const twin = 'pkg\u{FFFD}-1-1-any.pkg.tar.zst';
    writeFileSync(join(staging, twin), 'signed package');
    writeFileSync(join(staging, `${twin}.sig`), await detached(Buffer.from('signed package'), key));
    expect(problems(await gateDirectory(staging, [key.info]))).toEqual([]);
    // pkg\xff… : the same name once decoded, other bytes on disk.
    const raw = Buffer.concat([Buffer.from(`${staging}/pkg`), Buffer.from([0xff]), Buffer.from('-1-1-any.pkg.tar.zst')]);
    writeFileSync(raw, 'unsigned package');
    const report = await gateDirectory(staging, [key.info]);
    expect(report.ok).toBe(false);
    expect(report.findings).toEqual([expect.objectContaining({ problem: 'MALFORMED', detail: expect.stringContaining('not UTF-8') })]);
    await expect(publish(staging, live, { keys: [key.info], requireSigned: false })).rejects.toMatchObject({ code: 'GATE_REFUSED' });
    expect(existsSync(live)).toBe(false);
  });

  it('LIVE.releases must be a real directory of the publishing user; stale .partial directories are removed', async () => {
    const { staging, live } = fresh();
    writeFileSync(join(staging, 'a.txt'), 'a');
    writeFileSync(join(staging, 'a.txt.asc'), armor('SIGNATURE', await detached(Buffer.from('a'), key)));
    const elsewhere = join(dir, `elsewhere-${n}`);
    mkdirSync(elsewhere, { mode: 0o755 });
    symlinkSync(elsewhere, `${live}.releases`);
    await expect(publish(staging, live, { keys: [key.info] })).rejects.toMatchObject({ code: 'USAGE' });
    expect(readdirSync(elsewhere)).toEqual([]);
    rmSync(`${live}.releases`);
    mkdirSync(`${live}.releases`, { mode: 0o755 });
    chownSync(`${live}.releases`, NOBODY, NOBODY);
    await expect(publish(staging, live, { keys: [key.info] })).rejects.toMatchObject({ code: 'USAGE' });
    chownSync(`${live}.releases`, 0, 0);
    chmodSync(`${live}.releases`, 0o777);
    await expect(publish(staging, live, { keys: [key.info] })).rejects.toMatchObject({ code: 'USAGE' });
    chmodSync(`${live}.releases`, 0o755);
    // What a publish killed mid-copy leaves behind.
    mkdirSync(join(`${live}.releases`, '.20260101T000000000Z-abcdef.partial'));
    const result = await publish(staging, live, { keys: [key.info] });
    expect(result.removed).toContain('.20260101T000000000Z-abcdef.partial');
    expect(readdirSync(`${live}.releases`).filter((e) => e.endsWith('.partial'))).toEqual([]);
    expect(readlinkSync(live)).toBe(`live.releases/${result.release.split('/').at(-1)}`);
  });

  it('two publishes that find the same dead lock owner: exactly one takes the lock', () => {
    const { live } = fresh();
    mkdirSync(`${live}.releases`, { mode: 0o755 });
    const lock = join(`${live}.releases`, '.lock');
    writeFileSync(lock, '4194303\n'); // no such process
    let second: (() => void) | undefined;
    // The first contender has read the dead owner; before it removes that lock, the second
    // contender takes the lock over completely. The first must then refuse, not take it too.
    expect(() =>
      acquireLock(lock, live, {
        afterDeadOwner: () => {
          second = acquireLock(lock, live);
        },
      }),
    ).toThrow(expect.objectContaining({ code: 'PUBLISH_FAILED' }));
    expect(second).toBeTypeOf('function');
    expect(readFileSync(lock, 'utf8')).toMatch(new RegExp(`^${process.pid} [0-9a-f]{16}\\n$`));
    second!();
    expect(existsSync(lock)).toBe(false);
    expect(readdirSync(`${live}.releases`)).toEqual([]);
  });
});
