// signet-gpg's own behaviour around the tools: the version line debsign parses, verification
// handed to the real gpg (and a clear error, not a loop, when the only `gpg` on PATH is the shim
// itself), and the client configuration file for callers that pass no SIGNET_* variables.
import { chmodSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTools } from '../helpers/tools.js';
import { signet } from '../helpers/cli.js';
import { run } from './rpm-setup.js';
import { SHIM, startShimServer, type ShimSetup } from './gpg-shim-setup.js';

describe('signet-gpg command line', () => {
  let s: ShimSetup;

  beforeAll(async () => {
    requireTools('gpg');
    s = await startShimServer('shim-cli');
  }, 180_000);

  afterAll(async () => {
    await s?.close();
  });

  it('--version starts like gpg 2.2 (debsign reads the third word of the first line)', () => {
    const r = run(SHIM, ['--version']);
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe('gpg (GnuPG) 2.2.40');
    expect(run(SHIM, ['--help']).stdout).toContain('--detach-sign');
  });

  it('--verify runs the real gpg; with only the shim as gpg on PATH it fails clearly instead of looping', () => {
    const data = join(s.dir, 'data.txt');
    writeFileSync(data, 'verify me\n');
    expect(run(SHIM, ['--detach-sign', '-u', s.keys.ed.name, data], { env: s.env }).status).toBe(0);
    const home = join(s.dir, 'gnupg');
    mkdirSync(home, { mode: 0o700 });
    expect(run('gpg', ['--batch', '--import', s.keys.ed.publicKeyFile], { env: { GNUPGHOME: home } }).status).toBe(0);
    const good = run(SHIM, ['--batch', '--status-fd=1', '--verify', `${data}.sig`, data], { env: { GNUPGHOME: home } });
    expect(good.status, good.stderr).toBe(0);
    expect(good.stdout).toContain(`[GNUPG:] VALIDSIG ${s.keys.ed.fingerprint}`);
    writeFileSync(data, 'verify me!\n');
    expect(run(SHIM, ['--batch', '--verify', `${data}.sig`, data], { env: { GNUPGHOME: home } }).status).not.toBe(0);

    const lonely = join(s.dir, 'lonely-bin');
    expect(signet(['gpg-shim', 'install', lonely]).status).toBe(0);
    symlinkSync(process.execPath, join(lonely, 'node'));
    const r = run(join(lonely, 'gpg'), ['--verify', `${data}.sig`, data], { env: { PATH: lonely, GNUPGHOME: home } });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--verify needs GnuPG installed');
    run('gpgconf', ['--kill', 'all'], { env: { GNUPGHOME: home } });
  });

  it('reads the server and token from the client configuration file; refuses a token others can read', () => {
    const tokenFile = join(s.dir, 'token');
    writeFileSync(tokenFile, `${s.env.SIGNET_TOKEN}\n`, { mode: 0o600 });
    const config = join(s.dir, 'client.yaml');
    writeFileSync(config, `addr: ${s.env.SIGNET_ADDR}\ntoken_file: ${tokenFile}\ndefault_key: ${s.keys.rsa.name}\n`);
    const file = join(s.dir, 'configured.txt');
    writeFileSync(file, 'signed with the configured default key\n');
    // No -u: the configured default key; no SIGNET_ADDR/SIGNET_TOKEN in the environment.
    const r = run(SHIM, ['--detach-sign', '--armor', file], { env: { SIGNET_CONFIG: config, SIGNET_ADDR: '', SIGNET_TOKEN: '' } });
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(`${file}.asc`, 'utf8')).toContain('-----BEGIN PGP SIGNATURE-----');
    const inline = join(s.dir, 'inline.yaml');
    writeFileSync(inline, `addr: ${s.env.SIGNET_ADDR}\ntoken: ${s.env.SIGNET_TOKEN}\n`);
    chmodSync(inline, 0o644);
    const bad = run(SHIM, ['--detach-sign', '-u', s.keys.rsa.name, file], { env: { SIGNET_CONFIG: inline, SIGNET_ADDR: '', SIGNET_TOKEN: '' } });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('CONFIG_INVALID');
  });
});
