// A v6 (rfc9580) key is refused, with KEY_PROFILE_UNSUPPORTED and before anything is signed or
// written, for the outputs whose verifiers read v4 only (pacman, git, apt through gpgv, and the
// tools that call signet-gpg in gpg's place: git, makepkg, debsign); an RPM header through
// signet-gpg, the way rpm 6 calls gpg (`--version` first, then `-sbo OUT -- -`), is signed.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dearmor, parseSignaturePacket, parseTransferablePublicKey, verifyDetached } from '../../src/openpgp/index.js';
import { parseRpmPrefix } from '../../src/rpm/index.js';
import { buildPackage } from '../fixtures/rpm/build-package.js';
import { ROOT, requireBuild, serveProcess, signet, type ServeProcess } from '../helpers/cli.js';

const SHIM = join(ROOT, 'bin', 'signet-gpg');

describe('v6 keys and the verifiers that read v4 only', () => {
  let dir: string;
  let srv: ServeProcess;
  let env: Record<string, string>;

  beforeAll(async () => {
    requireBuild();
    dir = mkdtempSync(join(tmpdir(), 'signet-v6-refusal-'));
    srv = await serveProcess({ dataDir: join(dir, 'data') });
    env = { SIGNET_ADDR: srv.addr, SIGNET_TOKEN: srv.token };
    expect(signet(['key', 'create', 'v6', '--profile', 'rfc9580', '--uid', 'v6 <v6@example.org>'], { env }).status).toBe(0);
    expect(signet(['key', 'create', 'v4', '--uid', 'v4 <v4@example.org>'], { env }).status).toBe(0);
    writeFileSync(join(dir, 'data.txt'), 'Origin: test\n');
  }, 120_000);

  afterAll(async () => {
    await srv?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const shim = (args: string[], input?: Buffer) =>
    spawnSync(SHIM, args, { env: { ...process.env, ...env }, input, encoding: 'buffer' });

  for (const kind of ['pacman', 'git', 'apt'] as const) {
    it(`signet sign --kind ${kind} with a v6 key: KEY_PROFILE_UNSUPPORTED, nothing written`, () => {
      const out = join(dir, `out-${kind}.sig`);
      const r = signet(['sign', '--key', 'v6', '--kind', kind, ...(kind === 'apt' ? ['--clearsign'] : []), '-o', out, join(dir, 'data.txt')], { env });
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/^signet: .*v6 \(rfc9580\).*\(KEY_PROFILE_UNSUPPORTED\)$/m);
      expect(existsSync(out)).toBe(false);
    });
  }

  it('the same v6 key signs a plain detached signature', () => {
    expect(signet(['sign', '--key', 'v6', '-o', join(dir, 'ok.sig'), join(dir, 'data.txt')], { env }).status).toBe(0);
  });

  it('signet-gpg (debsign --clearsign, git -bsau) with a v6 key: refused, no output', () => {
    const clear = shim(['-u', 'v6', '--clearsign', '-o', join(dir, 'c.asc'), join(dir, 'data.txt')]);
    expect(clear.status).not.toBe(0);
    expect(clear.stderr.toString()).toContain('KEY_PROFILE_UNSUPPORTED');
    expect(existsSync(join(dir, 'c.asc'))).toBe(false);
    const git = shim(['--status-fd=2', '-bsau', 'v6'], Buffer.from('tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor a <a@b> 1 +0000\ncommitter a <a@b> 1 +0000\n\nmsg\n'));
    expect(git.status).not.toBe(0);
    expect(git.stderr.toString()).toContain('KEY_PROFILE_UNSUPPORTED');
    expect(git.stdout.length).toBe(0);
  });

  it('signet-gpg as rpm 6 calls it: --version, then -sbo OUT -- - with the header on stdin (v6 key)', () => {
    const version = shim(['--version']);
    expect(version.status).toBe(0);
    expect(version.stdout.toString()).toMatch(/^gpg \(GnuPG/m);
    const pkg = buildPackage();
    const header = parseRpmPrefix(pkg.file).header.bytes;
    const out = join(dir, 'header.sig');
    const r = shim(['--no-verbose', '--no-armor', '--no-secmem-warning', '-u', 'v6', '-sbo', out, '--', '-'], header);
    expect(r.status, r.stderr.toString()).toBe(0);
    const sig = readFileSync(out);
    expect(parseSignaturePacket(sig).version).toBe(6);
    const cert = parseTransferablePublicKey(dearmor(signet(['key', 'export', 'v6'], { env }).stdout).bytes).info;
    expect(verifyDetached(header, sig, [cert]).ok).toBe(true);
  });

  it('signet verify-policy: signet\'s signatures and a two-key RPM pass; a SHA-1 signature is refused in one line', () => {
    const sig = join(dir, 'policy.sig');
    expect(signet(['sign', '--key', 'v6', '-o', sig, join(dir, 'data.txt')], { env }).status).toBe(0);
    const rpm = join(dir, 'policy.rpm');
    writeFileSync(rpm, buildPackage().file);
    const signed = signet(['rpm', 'sign', '--key', 'v4', '--key', 'v6', rpm], { env });
    expect(signed.status, signed.stderr).toBe(0);
    const ok = signet(['verify-policy', sig, rpm]);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toBe(`${sig}: OK (1 OpenPGP part)\n${rpm}: OK (3 OpenPGP parts)\n`);
    const sha1 = join(ROOT, 'test/fixtures/openpgp/rsa-plain.data.sha1.sig');
    const bad = signet(['verify-policy', sha1]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/^signet: .*rsa-plain\.data\.sha1\.sig: SHA-1 signature \(refused by apt's Sequoia policy, rpm-sequoia DEFAULT and Sequoia StandardPolicy\) \(POLICY_REJECTED\)\n$/);
  });
});
