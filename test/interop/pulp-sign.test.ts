// Pulp signing services through signet, invoked exactly as Pulp does (pulpcore
// SigningService.sign: subprocess.run([script, FILE]) with an environment of only
// PULP_SIGNING_KEY_FINGERPRINT and CORRELATION_ID, plus PULP_TEMP_WORKING_DIR for apt; stdout
// parsed as JSON). Scripts from `signet pulp-sign install DIR --config FILE`. The JSON each
// service class reads is checked, the signatures are verified with gpg and rpmkeys, and each
// log entry carries the CORRELATION_ID.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTools } from '../helpers/tools.js';
import { signet } from '../helpers/cli.js';
import { makeWorkspace, run, type Workspace } from './rpm-setup.js';
import { armoredSignatureSha256, entriesFor, packetSha256, startShimServer, type ShimSetup } from './gpg-shim-setup.js';

describe('signet pulp-sign, run as Pulp runs its signing scripts', () => {
  let s: ShimSetup;
  let ws: Workspace;
  let scripts: Record<'detached' | 'rpm' | 'apt', string>;
  let gpgEnv: NodeJS.ProcessEnv;

  beforeAll(async () => {
    requireTools('gpg', 'rpm', 'rpmkeys', 'rpmbuild');
    s = await startShimServer('pulp');
    ws = makeWorkspace();
    // Pulp passes no SIGNET_* variables: the scripts name a client configuration file.
    const tokenFile = join(s.dir, 'pulp-token');
    writeFileSync(tokenFile, `${s.env.SIGNET_TOKEN}\n`, { mode: 0o600 });
    const config = join(s.dir, 'pulp-client.yaml');
    writeFileSync(config, `addr: ${s.env.SIGNET_ADDR}\ntoken_file: ${tokenFile}\n`);
    const r = signet(['pulp-sign', 'install', join(s.dir, 'scripts'), '--config', config]);
    expect(r.status, r.stderr).toBe(0);
    const [detached, rpm, apt] = (JSON.parse(r.stdout) as { scripts: string[] }).scripts;
    scripts = { detached: detached!, rpm: rpm!, apt: apt! };
    const home = join(s.dir, 'gnupg');
    mkdirSync(home, { mode: 0o700 });
    gpgEnv = { GNUPGHOME: home };
    for (const k of [s.keys.rsa, s.keys.ed]) expect(run('gpg', ['--batch', '--import', k.publicKeyFile], { env: gpgEnv }).status).toBe(0);
  }, 180_000);

  afterAll(async () => {
    run('gpgconf', ['--kill', 'all'], { env: gpgEnv });
    await s?.close();
    ws?.cleanup();
  });

  /** subprocess.run([script, filename], env=…, stdout=PIPE, stderr=PIPE) in Pulp's working directory. */
  function pulp(script: string, file: string, cwd: string, env: Record<string, string>) {
    const r = spawnSync(script, [file], { cwd, env, encoding: 'utf8' });
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  }

  const gpgVerify = (...args: string[]) => run('gpg', ['--batch', '--status-fd', '2', '--verify', ...args], { env: gpgEnv });

  it('detached (AsciiArmoredDetachedSigningService): {"file","signature"}, FILE.asc verifies, correlation ID logged', async () => {
    const cwd = join(s.dir, 'work-detached');
    mkdirSync(cwd);
    writeFileSync(join(cwd, 'repomd.xml'), '<repomd>arbitrary data</repomd>\n');
    const r = pulp(scripts.detached, 'repomd.xml', cwd, { PULP_SIGNING_KEY_FINGERPRINT: s.keys.rsa.fingerprint, CORRELATION_ID: 'pulp-task-0001' });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ file: 'repomd.xml', signature: 'repomd.xml.asc' });
    const asc = readFileSync(join(cwd, 'repomd.xml.asc'), 'utf8');
    expect(asc.startsWith('-----BEGIN PGP SIGNATURE-----')).toBe(true);
    const v = gpgVerify(join(cwd, 'repomd.xml.asc'), join(cwd, 'repomd.xml'));
    expect(v.status, v.stderr).toBe(0);
    expect(v.stderr).toContain(`VALIDSIG ${s.keys.rsa.fingerprint}`);
    const [entry] = await entriesFor(s.srv.addr, [armoredSignatureSha256(asc)]);
    expect(entry).toMatchObject({ sig_kind: 'detached', key_fingerprint: s.keys.rsa.fingerprint, correlation_id: 'pulp-task-0001', artifact: { name: 'repomd.xml' } });
    writeFileSync(join(cwd, 'repomd.xml'), '<repomd>changed</repomd>\n');
    expect(gpgVerify(join(cwd, 'repomd.xml.asc'), join(cwd, 'repomd.xml')).status).not.toBe(0);
  });

  it('rpm (RpmPackageSigningService): signed in place, {"file","rpm_package"}, rpmkeys OK, re-signing replaces', async () => {
    const cwd = join(s.dir, 'work-rpm');
    mkdirSync(cwd);
    const name = 'pkg-small3-1.0-1.noarch.rpm';
    copyFileSync(ws.corpus.find((f) => f.endsWith(name))!, join(cwd, name));
    const r = pulp(scripts.rpm, name, cwd, { PULP_SIGNING_KEY_FINGERPRINT: s.keys.rsa.fingerprint, CORRELATION_ID: 'pulp-task-0002' });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ file: name, rpm_package: name });
    const check = (key: typeof s.keys.rsa, label: string) => {
      const db = join(cwd, `db-${key.name}`);
      mkdirSync(db, { recursive: true });
      run('rpmkeys', ['--dbpath', db, '--import', key.publicKeyFile]);
      const k = run('rpmkeys', ['--dbpath', db, '-Kv', join(cwd, name)]);
      expect(k.status, k.stdout + k.stderr).toBe(0);
      expect(k.stdout).toMatch(new RegExp(`Header V4 ${label} Signature, key ID [0-9a-f]+: OK`));
    };
    check(s.keys.rsa, 'RSA/SHA512');
    const packet = Buffer.from(run('rpm', ['-qp', '--qf', '%{RSAHEADER}', join(cwd, name)]).stdout.trim(), 'hex');
    const [entry] = await entriesFor(s.srv.addr, [packetSha256(packet)]);
    expect(entry).toMatchObject({ sig_kind: 'rpm', correlation_id: 'pulp-task-0002', artifact: { nevra: 'pkg-small3-1.0-1.noarch' } });
    // Pulp re-signs on upload with the repository's key, as `rpm --addsign` would.
    const again = pulp(scripts.rpm, name, cwd, { PULP_SIGNING_KEY_FINGERPRINT: s.keys.ed.fingerprint.slice(-16), CORRELATION_ID: '' });
    expect(again.status, again.stderr).toBe(0);
    check(s.keys.ed, 'EdDSA/SHA256');
  });

  it("apt (AptReleaseSigningService): Pulp's validation input, InRelease + armored Release.gpg in PULP_TEMP_WORKING_DIR", async () => {
    const cwd = join(s.dir, 'work-apt');
    const tmp = join(s.dir, 'work-apt-tmp');
    mkdirSync(cwd);
    mkdirSync(tmp);
    // pulp_deb AptReleaseSigningService.validate() signs exactly this (no final newline).
    writeFileSync(join(cwd, 'Release'), 'arbitrary data');
    const r = pulp(scripts.apt, join(cwd, 'Release'), cwd, {
      PULP_SIGNING_KEY_FINGERPRINT: s.keys.ed.fingerprint,
      CORRELATION_ID: 'pulp-task-0003',
      PULP_TEMP_WORKING_DIR: tmp,
    });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { signatures: { inline: string; detached: string } };
    expect(out).toEqual({ signatures: { inline: join(tmp, 'InRelease'), detached: join(tmp, 'Release.gpg') } });
    const inline = readFileSync(out.signatures.inline, 'utf8');
    expect(inline).toContain('-----BEGIN PGP SIGNED MESSAGE-----\n');
    expect(inline).toContain('-----BEGIN PGP SIGNATURE-----\n');
    expect(inline).toContain('arbitrary data');
    const detached = readFileSync(out.signatures.detached, 'utf8');
    expect(detached.startsWith('-----BEGIN PGP SIGNATURE-----')).toBe(true);
    for (const v of [gpgVerify(out.signatures.inline), gpgVerify(out.signatures.detached, join(cwd, 'Release'))]) {
      expect(v.status, v.stderr).toBe(0);
      expect(v.stderr).toContain(`VALIDSIG ${s.keys.ed.fingerprint}`);
    }
    const entries = await entriesFor(s.srv.addr, [armoredSignatureSha256(inline), armoredSignatureSha256(detached)]);
    for (const e of entries) expect(e).toMatchObject({ sig_kind: 'apt', correlation_id: 'pulp-task-0003', key_fingerprint: s.keys.ed.fingerprint });
    // Without PULP_TEMP_WORKING_DIR the signatures go next to Release; a real Release verifies too.
    const dist = join(s.dir, 'dists', 'stable');
    mkdirSync(dist, { recursive: true });
    // (The server signs kind apt only for a Release file: fields, a Date and a SHA256 list.)
    writeFileSync(join(dist, 'Release'), `Origin: signet\nSuite: stable\nCodename: stable\nDate: Mon, 30 Nov 2026 12:00:00 UTC\nSHA256:\n ${'0'.repeat(64)} 0 main/binary-amd64/Packages\n`);
    const r2 = pulp(scripts.apt, 'dists/stable/Release', s.dir, { PULP_SIGNING_KEY_FINGERPRINT: s.keys.rsa.fingerprint, CORRELATION_ID: 'pulp-task-0004' });
    expect(r2.status, r2.stderr).toBe(0);
    expect(JSON.parse(r2.stdout)).toEqual({ signatures: { inline: join(dist, 'InRelease'), detached: join(dist, 'Release.gpg') } });
    expect(gpgVerify(join(dist, 'Release.gpg'), join(dist, 'Release')).status).toBe(0);
    writeFileSync(join(dist, 'Release'), `Origin: evil\nSuite: stable\nCodename: stable\nDate: Mon, 30 Nov 2026 12:00:00 UTC\nSHA256:\n ${'0'.repeat(64)} 0 main/binary-amd64/Packages\n`);
    expect(gpgVerify(join(dist, 'Release.gpg'), join(dist, 'Release')).status).not.toBe(0);
  });

  it('fails without output on a missing or unknown key (Pulp reads the exit code, then stdout)', () => {
    const cwd = join(s.dir, 'work-fail');
    mkdirSync(cwd);
    writeFileSync(join(cwd, 'file.txt'), 'x\n');
    const missing = pulp(scripts.detached, 'file.txt', cwd, { CORRELATION_ID: 'x' });
    expect(missing.status).toBe(2);
    expect(missing.stdout).toBe('');
    const unknown = pulp(scripts.detached, 'file.txt', cwd, { PULP_SIGNING_KEY_FINGERPRINT: '0'.repeat(40), CORRELATION_ID: 'x' });
    expect(unknown.status).toBe(1);
    expect(unknown.stdout).toBe('');
    expect(existsSync(join(cwd, 'file.txt.asc'))).toBe(false);
  });
});
