// A key's lifecycle (docs/keys.md) through the real CLI and server, checked by the stock
// verifiers: gpg 2.2, sq 0.27 (host), and in the Debian sid root sq 1.4, sqv 1.5 (apt's
// verifier) and rpm 6.1 (rpm-sequoia); rpmkeys 4.18 on the host.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dearmor } from '../../src/openpgp/armor.js';
import { parseKeyring } from '../../src/openpgp/certificate.js';
import { ROOT, serveProcess, signet, type ServeProcess } from '../helpers/cli.js';
import { Gpg } from '../helpers/gpg.js';
import { sidRoot, type SidMount } from '../helpers/sid-root.js';
import { requireTools } from '../helpers/tools.js';
import { makeWorkspace, run, type Workspace } from './rpm-setup.js';

const WKS_CLIENT = '/usr/lib/gnupg/gpg-wks-client';

describe('key lifecycle against gpg, sq, sqv and rpm', () => {
  let srv: ServeProcess;
  let env: Record<string, string>;
  let work: string;
  let sid: SidMount;
  let rpms: Workspace;

  beforeAll(async () => {
    requireTools('gpg', 'sq', 'rpmkeys', 'rpm', 'rpmbuild', WKS_CLIENT);
    srv = await serveProcess();
    env = { SIGNET_ADDR: srv.addr, SIGNET_TOKEN: srv.token };
    work = mkdtempSync(join(tmpdir(), 'signet-keylife-'));
    sid = sidRoot(work);
    rpms = makeWorkspace();
  }, 600_000);

  afterAll(async () => {
    sid?.release();
    rpms?.cleanup();
    await srv?.stop();
    if (srv) rmSync(join(srv.dataDir, '..'), { recursive: true, force: true });
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const ok = (args: string[], input?: string): string => {
    const r = signet(args, { env, ...(input !== undefined ? { input } : {}) });
    expect(r.status, `signet ${args.join(' ')}: ${r.stderr}`).toBe(0);
    return r.stdout;
  };
  const refused = (args: string[]): string => {
    const r = signet(args, { env });
    expect(r.status, `signet ${args.join(' ')} should fail: ${r.stdout}`).toBe(1);
    return r.stderr;
  };
  const file = (name: string, content: string | Buffer): string => {
    const path = join(work, name);
    writeFileSync(path, content);
    return path;
  };
  /** `signet sign` a new file; returns [data, signature] paths. */
  const signFile = (key: string, name: string): [string, string] => {
    const data = file(name, `${name}: release artifact\n`);
    ok(['sign', '--key', key, data]);
    return [data, `${data}.sig`];
  };
  const exportBinary = (key: string, name: string): string => {
    const path = join(work, name);
    ok(['key', 'export', key, '--format', 'binary', '-o', path]);
    return path;
  };
  const inside = (path: string): string => path.replace(work, sid.inside);
  const sqv = (keyring: string, sig: string, data: string) => sid.run('sqv', ['--keyring', inside(keyring), inside(sig), inside(data)]);
  const sq14 = (keyring: string, sig: string, data: string) =>
    sid.run('sq', ['--batch', '--home=none', 'verify', '--signer-file', inside(keyring), '--signature-file', inside(sig), inside(data)]);
  const sq027 = (keyring: string, sig: string, data: string) =>
    spawnSync('sq', ['verify', '--signer-cert', keyring, '--detached', sig, data], { encoding: 'utf8' });
  const fpr = (key: string): string => JSON.parse(ok(['--json', 'key', 'versions', key])).versions.find((v: { current: boolean }) => v.current).fingerprint;

  /** The key entries of the log (once integrated). */
  async function keyEntries(): Promise<Array<Record<string, string>>> {
    for (let i = 0; i < 100; i++) {
      const r = await fetch(`${srv.addr}/v1/log/entries?start=0&end=1000`);
      if (r.status === 200) {
        const { entries } = (await r.json()) as { entries: string[] };
        const decoded = entries.map((e) => JSON.parse(Buffer.from(e, 'base64').toString('utf8')) as Record<string, string>);
        return decoded.filter((e) => e.kind === 'key');
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error('the log never answered');
  }
  async function awaitKeyEntry(match: (e: Record<string, string>) => boolean): Promise<Record<string, string>> {
    for (let i = 0; i < 50; i++) {
      const found = (await keyEntries()).find(match);
      if (found) return found;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error('key entry not in the log');
  }

  it('rotate: the new version signs, is certified by the previous, both verify during the overlap, logged', async () => {
    ok(['key', 'create', 'rot', '--algo', 'ed25519', '--uid', 'Rotation Test <rot@example.org>', '--purpose', 'detached']);
    const v1 = fpr('rot');
    const [a, aSig] = signFile('rot', 'a.txt');
    const rotated = JSON.parse(ok(['--json', 'key', 'rotate', 'rot', '--overlap', '30d']));
    const v2 = rotated.key.fingerprint as string;
    expect(v2).not.toBe(v1);
    expect(rotated.previous).toMatchObject({ fingerprint: v1, state: 'retired' });
    expect(Date.parse(rotated.previous.export_until) - Date.now()).toBeGreaterThan(29 * 86400_000);
    const [b, bSig] = signFile('rot', 'b.txt');
    expect(JSON.parse(ok(['--json', 'key', 'versions', 'rot'])).versions.map((v: { fingerprint: string; state: string }) => [v.fingerprint, v.state]))
      .toEqual([[v2, 'active'], [v1, 'retired']]);

    const keyring = exportBinary('rot', 'rot.pgp');
    const certs = parseKeyring(readFileSync(keyring));
    expect(certs.map((c) => c.primary.fingerprint.toString('hex').toUpperCase())).toEqual([v2, v1]);

    const gpg = new Gpg();
    try {
      gpg.importKey(readFileSync(keyring));
      for (const [data, sig, signer] of [[a, aSig, v1], [b, bSig, v2]] as const) {
        const r = gpg.verifyDetached(readFileSync(sig), readFileSync(data));
        expect(r.ok, r.stderr).toBe(true);
        expect(r.stderr).toContain(`VALIDSIG ${signer}`);
      }
      // The previous version certifies the new version's user ID (a valid signature, "sig!").
      const sigs = gpg.run(['--check-sigs', '--with-colons', v2]);
      const certifications = sigs.stdout.split('\n').filter((l) => l.startsWith('sig:!:'));
      expect(certifications.some((l) => l.split(':')[4] === v1.slice(24))).toBe(true);
    } finally {
      gpg.close();
    }
    for (const [data, sig] of [[a, aSig], [b, bSig]] as const) {
      const r = sqv(keyring, sig, data);
      expect(r.status, `sqv: ${r.stderr}`).toBe(0);
      const s = sq14(keyring, sig, data);
      expect(s.status, `sq 1.4: ${s.stderr}`).toBe(0);
      expect(sq027(keyring, sig, data).status).toBe(0);
    }
    // rpm --import takes both versions (rpm format: one armor block per version).
    const rpmKey = join(work, 'rot-rpm.asc');
    ok(['key', 'export', 'rot', '--format', 'rpm', '-o', rpmKey]);
    const db = join(work, 'rpmdb-rot');
    mkdirSync(db);
    expect(run('rpmkeys', ['--dbpath', db, '--import', rpmKey]).status).toBe(0);
    const imported = run('rpm', ['--dbpath', db, '-q', 'gpg-pubkey']).stdout.trim().split('\n');
    expect(imported).toHaveLength(2);
    for (const f of [v1, v2]) expect(imported.some((n) => n.startsWith(`gpg-pubkey-${f.slice(-8).toLowerCase()}-`))).toBe(true);
    const entry = await awaitKeyEntry((e) => e.event === 'rotate' && e.key_name === 'rot');
    expect(entry).toMatchObject({ key_fingerprint: v2, previous_fingerprint: v1 });
  });

  it('revoke: a revoked version is published revoked, the current one stays valid; revoking the current one stops signing', async () => {
    const versions = JSON.parse(ok(['--json', 'key', 'versions', 'rot'])).versions as Array<{ fingerprint: string; current: boolean }>;
    const old = versions.find((v) => !v.current)!.fingerprint;
    const current = versions.find((v) => v.current)!.fingerprint;
    ok(['key', 'revoke', 'rot', '--version', old, '--reason', 'superseded', '--message', 'rotated to a new key']);
    const keyring = exportBinary('rot', 'rot-revoked.pgp');
    const gpg = new Gpg();
    try {
      gpg.importKey(readFileSync(keyring));
      // Validity (field 2) of each primary, by fingerprint: r = revoked.
      const lines = gpg.run(['--list-keys', '--with-colons']).stdout.split('\n');
      const validity = new Map<string, string>();
      lines.forEach((l, i) => {
        if (l.startsWith('pub:')) validity.set(lines[i + 1]!.split(':')[9]!, l.split(':')[1]!);
      });
      expect(validity.get(old)).toBe('r');
      expect(validity.get(current)).not.toBe('r');
      const [c, cSig] = signFile('rot', 'c.txt');
      expect(gpg.verifyDetached(readFileSync(cSig), readFileSync(c)).ok).toBe(true);
      // sq sees the old certificate revoked, the current one not.
      const inspect = sid.run('sq', ['--batch', '--home=none', 'inspect', inside(keyring)]);
      expect(inspect.status, inspect.stderr).toBe(0);
      const blocks = inspect.stdout.split(/\n(?=OpenPGP Certificate\.)/);
      expect(blocks.find((x) => x.replace(/\s/g, '').includes(old))).toMatch(/Revoked|revoked/);
      expect(blocks.find((x) => x.replace(/\s/g, '').includes(current))).not.toMatch(/Revoked|revoked/);
      expect(sqv(keyring, cSig, c).status).toBe(0);
    } finally {
      gpg.close();
    }
    expect(await awaitKeyEntry((e) => e.event === 'revoke' && e.key_fingerprint === old)).toMatchObject({ reason: 'superseded' });

    // Revoking the current version: the name no longer signs; the export carries the revocation.
    ok(['key', 'revoke', 'rot', '--reason', 'compromised']);
    expect(refused(['sign', '--key', 'rot', file('d.txt', 'd')])).toMatch(/\(KEY_REVOKED\)/);
    const after = parseKeyring(readFileSync(exportBinary('rot', 'rot-all-revoked.pgp')));
    expect(after.map((x) => x.revoked)).toEqual([true, true]);
  });

  it('expire: a new self-signature carries the expiry gpg and sq show; --never removes it', async () => {
    ok(['key', 'create', 'exp', '--algo', 'ed25519', '--uid', 'Expiry Test <exp@example.org>', '--purpose', 'detached']);
    const set = JSON.parse(ok(['--json', 'key', 'expire', 'exp', '--in', '2y']));
    const expires = Math.floor(Date.parse(set.version.expires) / 1000);
    expect(expires - Date.now() / 1000).toBeGreaterThan(729 * 86400);
    const keyring = exportBinary('exp', 'exp.pgp');
    const gpg = new Gpg();
    try {
      gpg.importKey(readFileSync(keyring));
      const pub = gpg.run(['--list-keys', '--with-colons']).stdout.split('\n').find((l) => l.startsWith('pub:'))!;
      expect(Number(pub.split(':')[6])).toBe(expires);
      expect(gpg.run(['--list-keys']).stdout).toMatch(/\[expires: \d{4}-\d{2}-\d{2}\]/);
      const [e, eSig] = signFile('exp', 'e.txt');
      expect(gpg.verifyDetached(readFileSync(eSig), readFileSync(e)).ok).toBe(true);
      expect(sqv(keyring, eSig, e).status).toBe(0);
      const inspect = sid.run('sq', ['--batch', '--home=none', 'inspect', inside(keyring)]);
      expect(inspect.stdout).toContain(new Date(expires * 1000).toISOString().slice(0, 10));
      expect(parseKeyring(readFileSync(keyring))[0]!.expiresAt).toBe(expires);
    } finally {
      gpg.close();
    }
    expect(await awaitKeyEntry((e) => e.event === 'expire' && e.key_name === 'exp')).toMatchObject({ expires: new Date(expires * 1000).toISOString() });
    ok(['key', 'expire', 'exp', '--never']);
    const gpg2 = new Gpg();
    try {
      gpg2.importKey(readFileSync(exportBinary('exp', 'exp-never.pgp')));
      const pub = gpg2.run(['--list-keys', '--with-colons']).stdout.split('\n').find((l) => l.startsWith('pub:'))!;
      expect(pub.split(':')[6]).toBe('');
    } finally {
      gpg2.close();
    }
  });

  it('disable refuses signing until enable; delete needs --force, keeps the public part, logs', async () => {
    ok(['key', 'create', 'dis', '--algo', 'ed25519', '--uid', 'Disable Test <dis@example.org>', '--purpose', 'detached']);
    ok(['key', 'disable', 'dis']);
    expect(refused(['sign', '--key', 'dis', file('f.txt', 'f')])).toMatch(/\(KEY_DISABLED\)$/m);
    ok(['key', 'enable', 'dis']);
    const [f, fSig] = signFile('dis', 'f2.txt');
    expect(refused(['key', 'delete', 'dis'])).toMatch(/\(KEY_FORCE_REQUIRED\)/);
    ok(['key', 'delete', 'dis', '--force']);
    expect(refused(['sign', '--key', 'dis', file('g.txt', 'g')])).toMatch(/\(KEY_DELETED\)/);
    // The public part stays: a signature made before the delete still verifies.
    const keyring = exportBinary('dis', 'dis.pgp');
    expect(sqv(keyring, fSig, f).status).toBe(0);
    for (const event of ['disable', 'enable', 'delete']) await awaitKeyEntry((e) => e.event === event && e.key_name === 'dis');
  });

  it('lifecycle changes are admin-only', () => {
    writeFileSync(join(work, 'signer.yaml'), 'rules:\n  - {keys: [rot, exp], kinds: [detached]}\n');
    ok(['policy', 'write', 'signer', join(work, 'signer.yaml')]);
    const token = JSON.parse(ok(['--json', 'token', 'create', '--policy', 'signer', '--ttl', '1h'])).token as string;
    for (const args of [['key', 'rotate', 'exp'], ['key', 'expire', 'exp', '--never'], ['key', 'revoke', 'exp'], ['key', 'disable', 'exp'], ['key', 'subkey', 'add', 'exp'],
      ['key', 'delete', 'exp', '--force'], ['key', 'revocation-cert', 'exp'], ['key', 'lint', 'exp']]) {
      const r = signet(args, { env: { ...env, SIGNET_TOKEN: token } });
      expect(r.status, args.join(' ')).toBe(1);
      expect(r.stderr).toMatch(/\(POLICY_DENIED\)/);
    }
    expect(JSON.parse(ok(['--json', 'key', 'versions', 'exp'])).versions).toHaveLength(1);
  });

  describe.each(['ed25519', 'rsa4096'] as const)('signing subkey (%s)', (algo) => {
    it('signatures and RPM headers are made by the subkey; gpg, sq, sqv and rpm verify them', async () => {
      const name = `sub-${algo}`;
      ok(['key', 'create', name, '--algo', 'ed25519', '--uid', `Subkey Test <${name}@example.org>`]);
      const primary = fpr(name);
      const added = JSON.parse(ok(['--json', 'key', 'subkey', 'add', name, '--algo', algo]));
      const subkey = added.subkey.fingerprint as string;
      const [h, hSig] = signFile(name, `h-${algo}.txt`);
      const keyring = exportBinary(name, `${name}.pgp`);
      const gpg = new Gpg();
      try {
        gpg.importKey(readFileSync(keyring));
        const r = gpg.verifyDetached(readFileSync(hSig), readFileSync(h));
        expect(r.ok, r.stderr).toBe(true);
        // VALIDSIG <signing key> … <primary key>
        expect(r.stderr).toMatch(new RegExp(`VALIDSIG ${subkey} .* ${primary}`));
      } finally {
        gpg.close();
      }
      expect(sqv(keyring, hSig, h).status).toBe(0);
      expect(sq14(keyring, hSig, h).status).toBe(0);
      expect(sq027(keyring, hSig, h).status).toBe(0);
      expect(await awaitKeyEntry((e) => e.event === 'subkey' && e.key_name === name)).toMatchObject({ subkey_fingerprint: subkey, key_fingerprint: primary });

      // signet-gpg as git calls it: SIG_CREATED names the key that signed (the subkey, with its
      // own public-key algorithm: RSA 1, EdDSA 22), as gpg's does; gpg's VALIDSIG agrees.
      const commit = `tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor a <a@example.org> 0 +0000\ncommitter a <a@example.org> 0 +0000\n\nsubkey ${algo}\n`;
      const shim = run(join(ROOT, 'bin', 'signet-gpg'), ['--status-fd=2', '-bsau', name], { env, input: Buffer.from(commit) });
      expect(shim.status, shim.stderr).toBe(0);
      expect(shim.stderr).toMatch(new RegExp(`\\[GNUPG:\\] SIG_CREATED D ${algo === 'rsa4096' ? 1 : 22} (8|10) 00 \\d+ ${subkey}\\n`));
      const gitGpg = new Gpg();
      try {
        gitGpg.importKey(readFileSync(keyring));
        const v = gitGpg.verifyDetached(Buffer.from(shim.stdout, 'utf8'), Buffer.from(commit));
        expect(v.ok, v.stderr).toBe(true);
        expect(v.stderr).toMatch(new RegExp(`VALIDSIG ${subkey} .* ${primary}`));
      } finally {
        gitGpg.close();
      }

      // An RPM signed by the subkey: rpm 4.18 (host) and rpm 6.1 (sid) verify it.
      const pkg = rpms.copyCorpus(join(work, `rpm-${algo}`))[0]!;
      ok(['rpm', 'sign', '--key', name, pkg]);
      const rpmKey = join(work, `${name}-rpm.asc`);
      ok(['key', 'export', name, '--format', 'rpm', '-o', rpmKey]);
      const db = join(work, `rpmdb-${algo}`);
      mkdirSync(db);
      expect(run('rpmkeys', ['--dbpath', db, '--import', rpmKey]).status).toBe(0);
      const host = run('rpmkeys', ['--dbpath', db, '-Kv', pkg]);
      expect(host.status, host.stdout + host.stderr).toBe(0);
      expect(host.stdout).toContain(subkey.slice(-8).toLowerCase());
      const sidDb = `${inside(work)}/sid-rpmdb-${algo}`;
      expect(sid.run('rpmkeys', ['--dbpath', sidDb, '--import', inside(rpmKey)]).status).toBe(0);
      const newest = sid.run('rpmkeys', ['--dbpath', sidDb, '-Kv', inside(pkg)]);
      expect(newest.status, newest.stdout + newest.stderr).toBe(0);
      // rpm 6 names the certificate (the primary); rpm 4.18 above named the signing subkey's key ID.
      expect(newest.stdout.toLowerCase()).toContain(primary.toLowerCase());
    }, 180_000);
  });

  it('imports a gpg --export-secret-subkeys export: the subkey signs while the primary stays offline', async () => {
    const gpg = new Gpg();
    try {
      expect(gpg.run(['--passphrase', '', '--quick-gen-key', 'Offline Primary <offline@example.org>', 'ed25519', 'cert', 'never']).status).toBe(0);
      const primary = gpg.run(['--list-keys', '--with-colons']).stdout.split('\n').find((l) => l.startsWith('fpr:'))!.split(':')[9]!;
      expect(gpg.run(['--passphrase', '', '--quick-add-key', primary, 'ed25519', 'sign', 'never']).status).toBe(0);
      const exported = spawnSync('gpg', ['--homedir', gpg.home, '--batch', '--export-secret-subkeys', primary]);
      const stub = file('offline.gpg', exported.stdout);
      expect(gpg.run(['--list-packets', stub]).stdout).toContain('gnu-dummy S2K');
      const imported = JSON.parse(ok(['--json', 'key', 'import', stub, '--name', 'offline']));
      expect(imported).toMatchObject({ fingerprint: primary, primary_offline: true });
      expect(imported.subkeys).toHaveLength(1);
      const [i, iSig] = signFile('offline', 'i.txt');
      const r = gpg.verifyDetached(readFileSync(iSig), readFileSync(i));
      expect(r.ok, r.stderr).toBe(true);
      expect(r.stderr).toMatch(new RegExp(`VALIDSIG ${imported.subkeys[0]} .* ${primary}`));
      const keyring = exportBinary('offline', 'offline.pgp');
      expect(sqv(keyring, iSig, i).status).toBe(0);
      // What needs the primary is refused, not attempted.
      expect(refused(['key', 'rotate', 'offline'])).toMatch(/\(KEY_PRIMARY_OFFLINE\)/);
      expect(refused(['key', 'subkey', 'add', 'offline'])).toMatch(/\(KEY_PRIMARY_OFFLINE\)/);
      // An RPM signed by the imported subkey.
      const pkg = rpms.copyCorpus(join(work, 'rpm-offline'))[0]!;
      ok(['rpm', 'sign', '--key', 'offline', pkg]);
      const rpmKey = join(work, 'offline-rpm.asc');
      ok(['key', 'export', 'offline', '--format', 'rpm', '-o', rpmKey]);
      const sidDb = `${inside(work)}/sid-rpmdb-offline`;
      expect(sid.run('rpmkeys', ['--dbpath', sidDb, '--import', inside(rpmKey)]).status).toBe(0);
      const newest = sid.run('rpmkeys', ['--dbpath', sidDb, '-Kv', inside(pkg)]);
      expect(newest.status, newest.stdout + newest.stderr).toBe(0);
    } finally {
      gpg.close();
    }
  }, 120_000);

  it('lint: refuses what verifiers refuse (DSA, SHA-1 bindings, small RSA); signet keys are clean', () => {
    const gpg = new Gpg();
    try {
      expect(gpg.run(['--passphrase', '', '--quick-gen-key', 'Old DSA <dsa@example.org>', 'dsa2048', 'sign', 'never']).status).toBe(0);
      expect(gpg.run(['--passphrase', '', '--cert-digest-algo', 'SHA1', '--digest-algo', 'SHA1', '--quick-gen-key', 'Old RSA <rsa@example.org>', 'rsa2048', 'sign', 'never']).status).toBe(0);
      const dsa = file('dsa.asc', gpg.run(['--armor', '--export', 'dsa@example.org']).stdout);
      const rsa = file('rsa.asc', gpg.run(['--armor', '--export', 'rsa@example.org']).stdout);
      const d = signet(['key', 'lint', '--file', dsa], { env });
      expect(d.status).toBe(1);
      expect(d.stdout).toMatch(/^error\tdsa\t/m);
      const r = JSON.parse(signet(['--json', 'key', 'lint', '--file', rsa], { env }).stdout);
      expect(r.findings.map((f: { code: string; severity: string }) => `${f.severity}:${f.code}`)).toEqual(expect.arrayContaining(['error:weak-hash', 'warning:rsa-size']));
      expect(ok(['key', 'lint', 'exp'])).toBe('no problems found\n');
      expect(JSON.parse(ok(['--json', 'key', 'lint', 'sub-ed25519'])).findings).toEqual([]);
    } finally {
      gpg.close();
    }
  });

  it('revocation certificate: made at creation, exported by admin, revokes the key in gpg', () => {
    const cert = ok(['key', 'revocation-cert', 'exp']);
    expect(cert).toContain('-----BEGIN PGP PUBLIC KEY BLOCK-----');
    const gpg = new Gpg();
    try {
      gpg.importKey(readFileSync(exportBinary('exp', 'exp-for-rev.pgp')));
      const bytes = dearmor(cert).bytes;
      expect(bytes[0]).toBeGreaterThan(0x80);
      gpg.importKey(cert);
      const pub = gpg.run(['--list-keys', '--with-colons']).stdout.split('\n').find((l) => l.startsWith('pub:'))!;
      expect(pub.split(':')[1]).toBe('r');
    } finally {
      gpg.close();
    }
  });

  it('WKD: both layouts, the hashed local part as gpg-wks-client computes it, the key file is the keyring', () => {
    const dir = join(work, 'wkd');
    const listed = ok(['key', 'export', 'exp', '--format', 'wkd-dir', dir]).trim().split('\n');
    const hash = spawnSync(WKS_CLIENT, ['--print-wkd-hash', 'exp@example.org'], { encoding: 'utf8' }).stdout.trim().split(/\s+/)[0]!;
    expect(hash).toMatch(/^[a-z0-9]{32}$/);
    expect(listed.sort()).toEqual([
      `.well-known/openpgpkey/example.org/hu/${hash}`,
      '.well-known/openpgpkey/example.org/policy',
      `.well-known/openpgpkey/hu/${hash}`,
      '.well-known/openpgpkey/policy',
    ]);
    const url = spawnSync(WKS_CLIENT, ['--print-wkd-url', 'exp@example.org'], { encoding: 'utf8' }).stdout.trim();
    expect(url).toBe(`https://openpgpkey.example.org/.well-known/openpgpkey/example.org/hu/${hash}?l=exp`);
    const served = readFileSync(join(dir, '.well-known/openpgpkey/example.org/hu', hash));
    expect(served.equals(readFileSync(exportBinary('exp', 'exp-wkd.pgp')))).toBe(true);
    expect(existsSync(join(dir, '.well-known/openpgpkey/policy'))).toBe(true);
  });

  // A real lookup: an HTTPS server for example.org and openpgpkey.example.org on loopback, in a
  // network and mount namespace of its own (its /etc/hosts and CA bundle are bind-mounted there
  // only, in the sid root too), with a test CA. gpg's dirmngr and sq 1.4 resolve the key; with
  // openpgpkey.example.org unknown, sq falls back to the direct layout.
  it.each(['advanced', 'direct'] as const)('WKD: gpg --locate-keys (advanced) and sq network wkd search resolve the key over HTTPS (%s layout)', (layout) => {
    requireTools('openssl', 'unshare', 'ip');
    const dir = join(work, `wkd-net-${layout}`);
    mkdirSync(dir);
    ok(['key', 'export', 'exp', '--format', 'wkd-dir', join(dir, 'www')]);
    const ssl = (args: string[]) => expect(spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' }).status).toBe(0);
    ssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-subj', '/CN=signet test CA', '-days', '1',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign']);
    ssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'srv.key', '-out', 'srv.csr', '-subj', '/CN=example.org']);
    writeFileSync(join(dir, 'ext'), 'subjectAltName=DNS:openpgpkey.example.org,DNS:example.org\n');
    ssl(['x509', '-req', '-in', 'srv.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'srv.crt', '-days', '1', '-extfile', 'ext']);
    writeFileSync(join(dir, 'server.mjs'), `import https from 'node:https';
import { readFileSync, appendFileSync } from 'node:fs';
import { join, normalize } from 'node:path';
https.createServer({ key: readFileSync('srv.key'), cert: readFileSync('srv.crt') }, (req, res) => {
  const url = new URL(req.url, 'https://' + req.headers.host);
  const path = normalize(decodeURIComponent(url.pathname));
  try {
    const body = readFileSync(join('www', path));
    // Logged before the answer goes out: once the client has it, the script may kill this server
    // at once (a log line written after res.end() was lost when this process was descheduled
    // between the two on a loaded machine).
    appendFileSync('served.log', req.headers.host + path + '\\n');
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'access-control-allow-origin': '*' });
    res.end(body);
  } catch { res.writeHead(404); res.end(); }
}).listen(443, '127.0.0.1');
`);
    const hosts = layout === 'advanced' ? '127.0.0.1 localhost openpgpkey.example.org example.org\n' : '127.0.0.1 localhost example.org\n';
    writeFileSync(join(dir, 'hosts'), hosts);
    const sidRootDir = sid.root;
    writeFileSync(join(dir, 'inner.sh'), `set -e
cd "$1"
cat /etc/ssl/certs/ca-certificates.crt ca.crt > bundle.crt
cat "${sidRootDir}/etc/ssl/certs/ca-certificates.crt" ca.crt > bundle-sid.crt
mount --bind hosts /etc/hosts
# Names resolve from the hosts file only: an unknown name is "not found" (not "try again"),
# which is what makes a client fall back from the advanced to the direct layout.
printf 'hosts: files\\n' > nsswitch.conf
mount --bind nsswitch.conf /etc/nsswitch.conf
mount --bind nsswitch.conf "${sidRootDir}/etc/nsswitch.conf"
mount --bind bundle.crt /etc/ssl/certs/ca-certificates.crt
mount --bind hosts "${sidRootDir}/etc/hosts"
mount --bind bundle-sid.crt "${sidRootDir}/etc/ssl/certs/ca-certificates.crt"
ip link set lo up
"${process.execPath}" server.mjs &
sleep 1
export GNUPGHOME="$PWD/gnupg"
mkdir -m 700 gnupg
echo standard-resolver > gnupg/dirmngr.conf
gpg --batch --auto-key-locate clear,nodefault,wkd --locate-keys exp@example.org > gpg.out 2>&1 || true
gpgconf --kill dirmngr || true
chroot "${sidRootDir}" sq --batch --home=none network wkd search --output - exp@example.org > sq.out 2> sq.err || true
kill $! || true
`);
    const r = spawnSync('unshare', ['--net', '--mount', 'sh', join(dir, 'inner.sh'), dir], { encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    const fingerprint = fpr('exp');
    // gpg 2.2's dirmngr asks DNS whether openpgpkey.DOMAIN exists before it falls back to the
    // direct layout; with no DNS server in the namespace it answers "try again later", so the
    // direct layout is checked with sq only.
    const gpgOut = readFileSync(join(dir, 'gpg.out'), 'utf8');
    if (layout === 'advanced') expect(gpgOut.replace(/\s/g, ''), gpgOut).toContain(fingerprint);
    const sqOut = readFileSync(join(dir, 'sq.out'), 'utf8');
    expect(parseKeyring(dearmor(sqOut).bytes).map((c) => c.primary.fingerprint.toString('hex').toUpperCase())).toContain(fingerprint);
    const served = readFileSync(join(dir, 'served.log'), 'utf8');
    expect(served).toContain(layout === 'advanced' ? 'openpgpkey.example.org/.well-known/openpgpkey/example.org/hu/' : 'example.org/.well-known/openpgpkey/hu/');
  }, 180_000);
});
