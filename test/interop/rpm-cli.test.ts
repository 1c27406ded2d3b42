// `signet rpm sign` / `signet rpm verify` against a real server, checked with rpmkeys: header
// signatures OK for RSA-4096 and Ed25519, sizes unchanged, tampering caught, signed packages
// refused without --replace, every signature in the log, and kill -9 mid-batch leaves every
// package either original or fully signed.
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTools } from '../helpers/tools.js';
import { SIGNET, requireBuild, serveProcess, signet, type ServeProcess } from '../helpers/cli.js';
import { makeWorkspace, run, type Workspace } from './rpm-setup.js';

describe('signet rpm', () => {
  let ws: Workspace;
  let srv: ServeProcess;
  let env: Record<string, string>;
  const keyFiles: Record<string, string> = {};

  beforeAll(async () => {
    requireTools('rpm', 'rpmkeys', 'rpmbuild');
    requireBuild();
    ws = makeWorkspace();
    srv = await serveProcess();
    env = { SIGNET_ADDR: srv.addr, SIGNET_TOKEN: srv.token };
    for (const [name, algo] of [['rel-rsa', 'rsa4096'], ['rel-ed', 'ed25519'], ['other', 'ed25519']] as const) {
      expect(signet(['key', 'create', name, '--algo', algo, '--uid', `${name} <${name}@example.org>`], { env }).status).toBe(0);
      const pub = signet(['key', 'export', name], { env }).stdout;
      keyFiles[name] = join(ws.dir, `${name}.asc`);
      writeFileSync(keyFiles[name] as string, pub);
    }
  }, 180_000);

  afterAll(async () => {
    await srv?.stop();
    ws?.cleanup();
  });

  function rpmdb(name: string, keyFile: string): string {
    const db = join(ws.dir, `db-${name}`);
    mkdirSync(db, { recursive: true });
    const r = run('rpmkeys', ['--dbpath', db, '--import', keyFile]);
    expect(r.status, r.stderr).toBe(0);
    return db;
  }

  for (const [key, label] of [['rel-rsa', 'RSA/SHA512'], ['rel-ed', 'EdDSA/SHA256']] as const) {
    it(`${key}: rpmkeys -Kv reports a good header signature, sizes unchanged, logged`, () => {
      const files = ws.copyCorpus(join(ws.dir, key));
      const sizes = files.map((f) => statSync(f).size);
      const r = signet(['rpm', 'sign', '--key', key, '--json', ...files], { env });
      expect(r.status, r.stderr).toBe(0);
      const summary = JSON.parse(r.stdout);
      expect(JSON.stringify(summary)).toContain('"signed"');
      expect(files.map((f) => statSync(f).size)).toEqual(sizes);
      const db = rpmdb(key, keyFiles[key] as string);
      for (const f of files) {
        const check = run('rpmkeys', ['--dbpath', db, '-Kv', f]);
        expect(check.status, check.stdout + check.stderr).toBe(0);
        expect(check.stdout).toMatch(new RegExp(`Header V4 ${label} Signature, key ID [0-9a-f]+: OK`));
      }
      const verify = signet(['rpm', 'verify', '--key', key, ...files], { env });
      expect(verify.status, verify.stdout + verify.stderr).toBe(0);
      // A package signed by another key is refused unless --replace.
      const again = signet(['rpm', 'sign', '--key', 'other', files[0] as string], { env });
      expect(again.status).toBe(1);
      expect(again.stdout + again.stderr).toMatch(/RPM_ALREADY_SIGNED/);
      // The one line says what to do about it.
      expect(again.stderr.split('\n')[0]).toMatch(/already has a signature.*; pass --replace to sign it again \(RPM_ALREADY_SIGNED\)$/);
    });
  }

  it('every RPM signature is in the transparency log', async () => {
    const nevras = ws.corpus.map((f) => run('rpm', ['-qp', '--qf', '%{nevra}', f]).stdout.trim());
    // Entries are served once integrated into a checkpoint (every 500 ms): read until the last
    // signatures of the previous tests are in, for at most 15 s.
    const deadline = Date.now() + 15_000;
    let rpmEntries: { sig_kind?: string; artifact?: { nevra?: string } }[] = [];
    const count = (nevra: string) => rpmEntries.filter((e) => e.artifact?.nevra === nevra).length;
    for (;;) {
      const res = await fetch(`${srv.addr}/v1/log/entries?start=0&end=100`);
      expect(res.status).toBe(200);
      const { entries } = (await res.json()) as { entries: string[] };
      rpmEntries = entries
        .map((e) => JSON.parse(Buffer.from(e, 'base64').toString('utf8')) as { sig_kind?: string; artifact?: { nevra?: string } })
        .filter((e) => e.sig_kind === 'rpm');
      if (nevras.every((n) => count(n) >= 2) || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    for (const nevra of nevras) {
      // Signed once with each of the two release keys in the first tests.
      expect(count(nevra), nevra).toBeGreaterThanOrEqual(2);
    }
  });

  it('a flipped payload byte fails rpmkeys and signet rpm verify', () => {
    const [file] = ws.copyCorpus(join(ws.dir, 'tamper'));
    expect(signet(['rpm', 'sign', '--key', 'rel-ed', file as string], { env }).status).toBe(0);
    const bytes = readFileSync(file as string);
    bytes[bytes.length - 100] = (bytes[bytes.length - 100] as number) ^ 0xff;
    writeFileSync(file as string, bytes);
    const db = rpmdb('tamper', keyFiles['rel-ed'] as string);
    expect(run('rpmkeys', ['--dbpath', db, '-K', file as string]).status).not.toBe(0);
    expect(signet(['rpm', 'verify', '--key', 'rel-ed', file as string], { env }).status).toBe(1);
  });

  it('--replace re-signs with another key', () => {
    const [file] = ws.copyCorpus(join(ws.dir, 'replace'));
    expect(signet(['rpm', 'sign', '--key', 'rel-rsa', file as string], { env }).status).toBe(0);
    expect(signet(['rpm', 'sign', '--key', 'other', '--replace', file as string], { env }).status).toBe(0);
    const db = rpmdb('replace', keyFiles.other as string);
    const check = run('rpmkeys', ['--dbpath', db, '-Kv', file as string]);
    expect(check.status, check.stdout).toBe(0);
    expect(check.stdout).toMatch(/EdDSA\/SHA256 Signature, key ID [0-9a-f]+: OK/);
  });

  it('a package whose RESERVEDSPACE cannot hold the signature is rewritten through a temp file', () => {
    // rpmbuild with no reserved space for gpg keeps a 32-byte RESERVEDSPACE: an RSA-4096
    // signature (about 540 bytes) grows the signature header, so the file is rewritten.
    const dir = join(ws.dir, 'no-reserve');
    mkdirSync(dir, { recursive: true });
    const spec = join(dir, 'pkg-noreserve.spec');
    writeFileSync(
      spec,
      ['Name: pkg-noreserve', 'Version: 1.0', 'Release: 1', 'Summary: no reserved space', 'License: MIT', 'BuildArch: noarch', '%description', 'x', '%files', ''].join('\n'),
    );
    const built = run('rpmbuild', ['--define', `_topdir ${join(dir, 'top')}`, '--define', '__gpg_reserved_space 0', '-bb', spec]);
    expect(built.status, built.stderr).toBe(0);
    const file = join(dir, 'top', 'RPMS', 'noarch', 'pkg-noreserve-1.0-1.noarch.rpm');
    const before = statSync(file).size;
    // Its permission bits are kept exactly (group write included, whatever the umask); a
    // set-user-ID bit is not (the rewritten file belongs to the signer, root here).
    chmodSync(file, 0o4664);
    const r = signet(['rpm', 'sign', '--key', 'rel-rsa', '--json', file], { env });
    expect(r.status, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout) as { files: { status: string; in_place?: boolean }[] };
    expect(summary.files[0]).toMatchObject({ status: 'signed', in_place: false });
    expect(statSync(file).size).toBeGreaterThan(before);
    expect(statSync(file).mode & 0o7777).toBe(0o664);
    expect(readdirSync(join(dir, 'top', 'RPMS', 'noarch'))).toEqual(['pkg-noreserve-1.0-1.noarch.rpm']);
    const check = run('rpmkeys', ['--dbpath', rpmdb('no-reserve', keyFiles['rel-rsa'] as string), '-Kv', file]);
    expect(check.status, check.stdout + check.stderr).toBe(0);
    expect(check.stdout).toMatch(/Header V4 RSA\/SHA512 Signature, key ID [0-9a-f]+: OK/);
  });

  it('kill -9 in the middle of a batch leaves every package original or fully signed', async () => {
    const db = rpmdb('kill', keyFiles['rel-rsa'] as string);
    for (const delay of [200, 700]) {
      const dir = join(ws.dir, `kill-${delay}`);
      const files: string[] = [];
      for (let round = 0; round < 3; round++) files.push(...ws.copyCorpus(join(dir, String(round))));
      const child = spawn(process.execPath, [SIGNET, 'rpm', 'sign', '--key', 'rel-rsa', ...files], {
        env: { PATH: process.env.PATH ?? '', ...env },
        stdio: 'ignore',
      });
      const exited = new Promise((r) => child.once('exit', r));
      await new Promise((r) => setTimeout(r, delay));
      child.kill('SIGKILL');
      await exited;
      for (const f of files) {
        // Exit 0 from rpmkeys -K: digests OK (unsigned original) or digests and signature OK.
        const check = run('rpmkeys', ['--dbpath', db, '-K', f]);
        expect(check.status, `${f}: ${check.stdout}${check.stderr}`).toBe(0);
      }
    }
  }, 240_000);
});
