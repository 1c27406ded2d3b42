// Keys in a PKCS#11 token (SoftHSM2) are interchangeable with sealed keys on every signing path:
// `signet key create --backend pkcs11` for RSA-4096, Ed25519 and ECDSA P-256, then detached and
// cleartext signatures verified by gpg and sq, RPM headers by rpmkeys (RSA, EdDSA), yum metadata
// by gpg, the signet-gpg shim by gpg, and the log's checkpoints signed by a log key in the token.
// Tampered data and a foreign key are refused by every verifier.
import { spawnSync } from 'node:child_process';
import { appendFileSync, copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTools } from '../helpers/tools.js';
import { Gpg } from '../helpers/gpg.js';
import { ROOT, requireBuild, serveProcess, signet, type ServeProcess } from '../helpers/cli.js';
import { createSoftHsm, type SoftHsm } from '../helpers/softhsm.js';
import { makeWorkspace, mustRun, run, type Workspace } from './rpm-setup.js';

const SHIM = join(ROOT, 'bin', 'signet-gpg');
const ALGORITHMS = ['rsa4096', 'ed25519', 'ecdsa-p256'] as const;
type Algo = (typeof ALGORITHMS)[number];

describe('PKCS#11 keys on every signing path', () => {
  let hsm: SoftHsm;
  let ws: Workspace;
  let srv: ServeProcess;
  let env: Record<string, string>;
  let gpg: Gpg;
  let pinFile: string;
  const keys = {} as Record<Algo | 'foreign', { name: string; fingerprint: string; file: string }>;

  beforeAll(async () => {
    requireTools('gpg', 'sq', 'rpm', 'rpmkeys', 'rpmbuild', 'createrepo_c', 'softhsm2-util');
    requireBuild();
    hsm = createSoftHsm();
    const token = hsm.addToken('signet-e2e');
    pinFile = token.pinFile;
    ws = makeWorkspace();
    const settings = join(ws.dir, 'signet.yaml');
    // The log key is made in the token too; keys default to sealed, so --backend matters.
    writeFileSync(settings, [
      'keys:',
      '  pkcs11:',
      `    module: ${hsm.module}`,
      `    token_label: ${token.label}`,
      `    pin_file: ${token.pinFile}`,
      'tlog:',
      '  key_backend: pkcs11',
      '',
    ].join('\n'));
    srv = await serveProcess({ args: ['--config', settings], env: hsm.env });
    env = { SIGNET_ADDR: srv.addr, SIGNET_TOKEN: srv.token };
    gpg = new Gpg();
    for (const algo of [...ALGORITHMS, 'foreign'] as const) {
      const name = `hsm-${algo}`;
      const args = ['key', 'create', name, '--algo', algo === 'foreign' ? 'ed25519' : algo, '--uid', `HSM ${algo} <${algo}@signet.test>`, '--backend', 'pkcs11', '--json'];
      const r = signet(args, { env });
      expect(r.status, r.stderr).toBe(0);
      const created = JSON.parse(r.stdout) as { fingerprint: string; backend: string };
      expect(created.backend).toBe('pkcs11');
      const file = join(ws.dir, `${name}.asc`);
      writeFileSync(file, signet(['key', 'export', name], { env }).stdout);
      keys[algo] = { name, fingerprint: created.fingerprint, file };
      if (algo !== 'foreign') gpg.importKey(readFileSync(file));
    }
  }, 300_000);

  afterAll(async () => {
    await srv?.stop();
    gpg?.close();
    ws?.cleanup();
    hsm?.remove();
  });

  function sqVerify(cert: string, data: string, sig: string): number {
    return spawnSync('sq', ['verify', '--signer-cert', cert, '--detached', sig, data], { encoding: 'utf8' }).status ?? -1;
  }

  it('key list names the backend; the token keys are certified so gpg and sq accept them', () => {
    const listed = JSON.parse(signet(['key', 'list', '--json'], { env }).stdout) as Array<{ name: string; backend: string; algorithm: string }>;
    for (const algo of ALGORITHMS) expect(listed.find((k) => k.name === `hsm-${algo}`)).toMatchObject({ backend: 'pkcs11', algorithm: algo });
    const colons = gpg.run(['--with-colons', '--list-keys']).stdout;
    for (const algo of ALGORITHMS) expect(colons).toContain(`fpr:::::::::${keys[algo].fingerprint}:`);
    // ECDSA P-256 is public-key algorithm 19 on the nistp256 curve.
    expect(colons).toMatch(/^pub:[^:]*:256:19:/m);
    for (const algo of ALGORITHMS) {
      const inspect = spawnSync('sq', ['inspect', keys[algo].file], { encoding: 'utf8' });
      expect(inspect.status, inspect.stderr).toBe(0);
      expect(inspect.stdout).toContain(keys[algo].fingerprint);
    }
  });

  for (const algo of ALGORITHMS) {
    it(`${algo}: detached and cleartext signatures verify with gpg and sq; tampered data and a foreign key are refused`, () => {
      const dir = join(ws.dir, `detached-${algo}`);
      mkdirSync(dir);
      const file = join(dir, 'release.tar');
      writeFileSync(file, `a release signed in the token (${algo})\n`.repeat(100));
      const r = signet(['sign', '--key', keys[algo].name, file], { env });
      expect(r.status, r.stderr).toBe(0);
      expect(gpg.verifyDetached(readFileSync(`${file}.sig`), readFileSync(file)).ok).toBe(true);
      expect(sqVerify(keys[algo].file, file, `${file}.sig`)).toBe(0);
      // The wrong certificate: sq refuses (the signature is not by the foreign key).
      expect(sqVerify(keys.foreign.file, file, `${file}.sig`)).not.toBe(0);
      appendFileSync(file, 'x');
      expect(gpg.verifyDetached(readFileSync(`${file}.sig`), readFileSync(file)).ok).toBe(false);
      expect(sqVerify(keys[algo].file, file, `${file}.sig`)).not.toBe(0);

      // Midstate: the client hashes, the server finishes the hash and the token signs.
      const mid = signet(['sign', '--key', keys[algo].name, '--midstate-threshold', '0', '-o', `${file}.mid.sig`, file], { env });
      expect(mid.status, mid.stderr).toBe(0);
      expect(gpg.verifyDetached(readFileSync(`${file}.mid.sig`), readFileSync(file)).ok).toBe(true);

      const text = join(dir, 'Release');
      writeFileSync(text, 'Origin: signet\nSuite: stable\n');
      const c = signet(['sign', '--clearsign', '--key', keys[algo].name, text], { env });
      expect(c.status, c.stderr).toBe(0);
      const clear = readFileSync(`${text}.asc`, 'utf8');
      expect(gpg.verifyClearsigned(clear).ok).toBe(true);
      expect(gpg.verifyClearsigned(clear.replace('Suite: stable', 'Suite: unstable')).ok).toBe(false);
      const sq = spawnSync('sq', ['verify', '--signer-cert', keys[algo].file, `${text}.asc`], { encoding: 'utf8' });
      expect(sq.status, sq.stderr).toBe(0);
    });
  }

  for (const [algo, label] of [['rsa4096', 'RSA/SHA512'], ['ed25519', 'EdDSA/SHA256']] as const) {
    it(`${algo}: signet rpm sign with the token key; rpmkeys -Kv says OK, and refuses a tampered header or a foreign key`, () => {
      const files = ws.copyCorpus(join(ws.dir, `rpm-${algo}`));
      const r = signet(['rpm', 'sign', '--key', keys[algo].name, '--json', ...files], { env });
      expect(r.status, r.stderr).toBe(0);
      const db = join(ws.dir, `db-${algo}`);
      mkdirSync(db);
      mustRun('rpmkeys', ['--dbpath', db, '--import', keys[algo].file]);
      for (const f of files) {
        const check = run('rpmkeys', ['--dbpath', db, '-Kv', f]);
        expect(check.status, check.stdout + check.stderr).toBe(0);
        expect(check.stdout).toMatch(new RegExp(`Header V4 ${label} Signature, key ID [0-9a-f]+: OK`));
      }
      // A foreign key only: rpmkeys cannot find the signer.
      const other = join(ws.dir, `db-${algo}-foreign`);
      mkdirSync(other);
      mustRun('rpmkeys', ['--dbpath', other, '--import', keys.foreign.file]);
      expect(run('rpmkeys', ['--dbpath', other, '-Kv', files[0] as string]).stdout).toMatch(/NOKEY/);
      // One flipped byte in the signed main header (its summary text): BAD.
      const victim = files[0] as string;
      const bytes = readFileSync(victim);
      const at = bytes.indexOf(Buffer.from('pkg-'), 0x200);
      expect(at).toBeGreaterThan(0);
      bytes[at] = (bytes[at] as number) ^ 0x20;
      writeFileSync(victim, bytes);
      const bad = run('rpmkeys', ['--dbpath', db, '-Kv', victim]);
      expect(bad.status).not.toBe(0);
    });
  }

  it('yum metadata: repomd.xml.asc from a token key verifies with gpg', () => {
    const repo = join(ws.dir, 'repo');
    mkdirSync(repo);
    for (const f of ws.corpus) copyFileSync(f, join(repo, basename(f)));
    mustRun('createrepo_c', ['-q', repo]);
    const s = signet(['repo', 'sign', 'yum', repo, '--key', keys.rsa4096.name, '--json'], { env });
    expect(s.status, s.stderr).toBe(0);
    const repomd = readFileSync(join(repo, 'repodata/repomd.xml'));
    const sig = readFileSync(join(repo, 'repodata/repomd.xml.asc'));
    expect(gpg.verifyDetached(sig, repomd).ok).toBe(true);
    expect(gpg.verifyDetached(sig, Buffer.concat([repomd, Buffer.from(' ')])).ok).toBe(false);
  });

  it('signet-gpg (the gpg shim) signs with a token key as gpg would', () => {
    for (const algo of ['ed25519', 'ecdsa-p256'] as const) {
      const file = join(ws.dir, `shim-${algo}.txt`);
      writeFileSync(file, `through the shim (${algo})\n`);
      const r = run(SHIM, ['--status-fd=2', '--detach-sign', '--armor', '-u', keys[algo].name, file], { env });
      expect(r.status, r.stderr).toBe(0);
      // SIG_CREATED carries the public-key algorithm id: 22 EdDSA, 19 ECDSA.
      expect(r.stderr).toMatch(new RegExp(`SIG_CREATED D ${algo === 'ed25519' ? 22 : 19} 8 00 \\d+ ${keys[algo].fingerprint}`));
      expect(gpg.verifyDetached(readFileSync(`${file}.asc`), readFileSync(file)).ok).toBe(true);
    }
  });

  it('the checkpoint key lives in the token: the log verifies from its pinned key', async () => {
    const key = await (await fetch(`${srv.addr}/v1/log/key`)).text();
    expect(key).toMatch(/\+[0-9a-f]{8}\+/);
    const r = signet(['log', 'verify', '--json'], { env });
    expect(r.status, r.stderr).toBe(0);
  });
  // Last: stops the server, so its asynchronous stdout is flushed before it is searched.
  it('the PIN appears in no log line and no file of the data dir', async () => {
    await srv.stop();
    const pin = readFileSync(pinFile, 'utf8').trim();
    expect(pin.length).toBeGreaterThan(8);
    expect(srv.stdout().length).toBeGreaterThan(1000);
    expect(srv.stdout()).not.toContain(pin);
    expect(srv.stderr()).not.toContain(pin);
    const walk = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
    const files = walk(srv.dataDir);
    expect(files.length).toBeGreaterThan(2);
    for (const f of files) expect(readFileSync(f).includes(Buffer.from(pin)), f).toBe(false);
  });
});
