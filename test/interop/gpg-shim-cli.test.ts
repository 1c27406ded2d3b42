// signet-gpg's own behaviour around the tools: the version line debsign parses, verification
// handed to the real gpg (and a clear error, not a loop, when the only `gpg` on PATH is the shim
// itself), and the client configuration file for callers that pass no SIGNET_* variables.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
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

  it('a gpg on PATH that runs signet-gpg again: one hand-off, then a clear refusal, not a process per call', () => {
    const bin = join(s.dir, 'wrapper-bin');
    mkdirSync(bin);
    // The wrapper counts how deep it is; past 5 it stops the chain itself (what an unbounded loop
    // would otherwise reach) and says so.
    writeFileSync(
      join(bin, 'gpg'),
      `#!/bin/sh\nDEPTH=$((\${WRAP_DEPTH:-0} + 1)); export WRAP_DEPTH=$DEPTH\nif [ $DEPTH -gt 5 ]; then echo runaway >&2; exit 99; fi\nexec "${process.execPath}" "${SHIM}" "$@"\n`,
      { mode: 0o755 },
    );
    const r = run(SHIM, ['--verify', 'x.sig', 'x'], { env: { PATH: `${bin}:${process.env.PATH}` } });
    expect(r.stderr).not.toContain('runaway');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('refusing to hand off a second time');
  });

  it('a token_file others can read is refused, as an inline token is', () => {
    const tokenFile = join(s.dir, 'open-token');
    writeFileSync(tokenFile, `${s.env.SIGNET_TOKEN}\n`);
    chmodSync(tokenFile, 0o644);
    const config = join(s.dir, 'open-token.yaml');
    writeFileSync(config, `addr: ${s.env.SIGNET_ADDR}\ntoken_file: ${tokenFile}\n`);
    const file = join(s.dir, 'open-token.txt');
    writeFileSync(file, 'x\n');
    const r = run(SHIM, ['--detach-sign', '-u', s.keys.ed.name, file], { env: { SIGNET_CONFIG: config, SIGNET_ADDR: '', SIGNET_TOKEN: '' } });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('CONFIG_INVALID');
    expect(r.stderr).toContain('readable by group or others');
    expect(existsSync(`${file}.sig`)).toBe(false);
    chmodSync(tokenFile, 0o600);
    expect(run(SHIM, ['--detach-sign', '-u', s.keys.ed.name, file], { env: { SIGNET_CONFIG: config, SIGNET_ADDR: '', SIGNET_TOKEN: '' } }).status).toBe(0);
  });

  it('./.signet/admin-token beside an artifact never configures signet-gpg', () => {
    // A build directory holding a .signet/admin-token (here even a valid one, the file's owner's
    // own, mode 0600): signet-gpg run there with no token configured must not pick it up.
    const build = join(s.dir, 'build-dir');
    mkdirSync(join(build, '.signet'), { recursive: true, mode: 0o700 });
    writeFileSync(join(build, '.signet', 'admin-token'), `${s.env.SIGNET_TOKEN}\n`, { mode: 0o600 });
    writeFileSync(join(build, 'artifact.tar.gz'), 'artifact\n');
    const home = join(s.dir, 'empty-home');
    mkdirSync(home, { recursive: true });
    const env = { SIGNET_ADDR: s.env.SIGNET_ADDR as string, SIGNET_TOKEN: '', SIGNET_CONFIG: '', HOME: home, XDG_CONFIG_HOME: '' };
    const r = spawnSync(SHIM, ['--detach-sign', '-u', s.keys.ed.name, 'artifact.tar.gz'], { cwd: build, env: { ...process.env, ...env }, encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/UNAUTHENTICATED|TOKEN/);
    expect(existsSync(join(build, 'artifact.tar.gz.sig'))).toBe(false);
    // The signet command on the server host still uses DATA/admin-token (README), when it is the
    // user's own file that nobody else can read.
    expect(signet(['key', 'list'], { cwd: build, env: { SIGNET_ADDR: s.env.SIGNET_ADDR as string, HOME: home } }).status).toBe(0);
    chmodSync(join(build, '.signet', 'admin-token'), 0o644);
    expect(signet(['key', 'list'], { cwd: build, env: { SIGNET_ADDR: s.env.SIGNET_ADDR as string, HOME: home } }).status).not.toBe(0);
  });
});
