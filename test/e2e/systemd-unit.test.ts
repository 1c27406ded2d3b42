// contrib/systemd: the shipped unit passes `systemd-analyze verify` and keeps its hardening, its
// sysusers.d/tmpfiles.d snippets make the user and a 0700 data dir, and its ExecStart line starts
// a real server. systemd need not be running: every check here works offline on the files.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, ownsListener, requireBuild, ROOT, SIGNET } from '../helpers/cli.js';
import { requireTools } from '../helpers/tools.js';

const CONTRIB = join(ROOT, 'contrib', 'systemd');
const UNIT = readFileSync(join(CONTRIB, 'signet.service'), 'utf8');
const INSTALLED_PATH = '/usr/local/bin/signet';

/** The unit with ExecStart pointing at this checkout's bin/signet (verify wants a real binary). */
function rendered(unit = UNIT): string {
  return unit.replaceAll(INSTALLED_PATH, SIGNET);
}

function verify(dir: string, text: string): { status: number | null; output: string } {
  const file = join(dir, 'signet.service');
  writeFileSync(file, text);
  const r = spawnSync('systemd-analyze', ['verify', '--man=no', file], { encoding: 'utf8' });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

/** `Key=value` lines of the [Service] section, values of repeated keys in order. */
function serviceSettings(unit: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const section = unit.split(/^\[Service\]$/m)[1]?.split(/^\[/m)[0] ?? '';
  for (const line of section.split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (m) out.set(m[1] as string, [...(out.get(m[1] as string) ?? []), m[2] as string]);
  }
  return out;
}

describe('contrib/systemd', () => {
  let dir: string;

  beforeAll(() => {
    requireTools('systemd-analyze', 'systemd-sysusers', 'systemd-tmpfiles');
    requireBuild();
    dir = mkdtempSync(join(tmpdir(), 'signet-systemd-'));
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('systemd-analyze verify accepts the unit with no warning', () => {
    expect(UNIT).toContain(`ExecStart=${INSTALLED_PATH} serve`);
    const r = verify(dir, rendered());
    expect(r.output).toBe('');
    expect(r.status).toBe(0);
  });

  it('the verify check is real: a misspelt directive and a missing binary are reported', () => {
    const typo = verify(dir, rendered().replace('ProtectSystem=strict', 'ProtectSystm=strict'));
    expect(typo.output).toMatch(/Unknown key .ProtectSystm./);
    const missing = verify(dir, UNIT.replaceAll(INSTALLED_PATH, join(dir, 'no-such-signet')));
    expect(missing.status).not.toBe(0);
    expect(missing.output).toMatch(/not executable|No such file/);
  });

  it('keeps its hardening', () => {
    const s = serviceSettings(UNIT);
    const one = (k: string): string | undefined => s.get(k)?.at(-1);
    expect(one('User')).toBe('signet');
    expect(one('ProtectSystem')).toBe('strict');
    expect(one('ReadWritePaths')).toBe('/var/lib/signet');
    expect(UNIT).toContain('--data /var/lib/signet');
    expect(one('NoNewPrivileges')).toBe('yes');
    expect(one('CapabilityBoundingSet')).toBe('');
    expect(one('AmbientCapabilities')).toBe('');
    expect(one('PrivateTmp')).toBe('yes');
    expect(one('Restart')).toBe('on-failure');
    expect(one('UMask')).toBe('0077');
    for (const k of ['ProtectHome', 'PrivateDevices', 'ProtectKernelTunables', 'ProtectKernelModules', 'ProtectControlGroups',
      'RestrictNamespaces', 'RestrictSUIDSGID', 'LockPersonality', 'RestrictRealtime']) {
      expect(one(k), k).toBe('yes');
    }
    expect(one('RestrictAddressFamilies')).toBe('AF_INET AF_INET6 AF_UNIX');
    expect(s.get('SystemCallFilter')).toContain('@system-service');
    // systemd's own score of the sandbox: 10 is fully exposed, the threshold is in tenths.
    const file = join(dir, 'signet.service');
    writeFileSync(file, rendered());
    const score = spawnSync('systemd-analyze', ['security', '--offline=true', '--threshold=20', '--no-pager', file], { encoding: 'utf8' });
    expect(score.status, score.stdout.split('\n').slice(-3).join('\n')).toBe(0);
    const m = /exposure level for signet\.service: ([\d.]+)/.exec(score.stdout);
    expect(Number(m?.[1])).toBeLessThanOrEqual(2);
  });

  it('sysusers.d and tmpfiles.d make the user and a data dir only it can read', () => {
    const root = join(dir, 'root');
    mkdirSync(join(root, 'etc'), { recursive: true });
    const users = spawnSync('systemd-sysusers', [`--root=${root}`, join(CONTRIB, 'signet.sysusers')], { encoding: 'utf8' });
    expect(users.status, users.stderr).toBe(0);
    const passwd = readFileSync(join(root, 'etc', 'passwd'), 'utf8');
    const entry = passwd.split('\n').find((l) => l.startsWith('signet:'))?.split(':');
    expect(entry?.[5]).toBe('/var/lib/signet');
    expect(entry?.[6]).toBe('/usr/sbin/nologin');
    const files = spawnSync('systemd-tmpfiles', [`--root=${root}`, '--create', join(CONTRIB, 'signet.tmpfiles')], { encoding: 'utf8' });
    expect(files.status, files.stderr).toBe(0);
    const data = statSync(join(root, 'var', 'lib', 'signet'));
    expect(data.mode & 0o777).toBe(0o700);
    if (process.getuid?.() === 0) expect(data.uid).toBe(Number(entry?.[2]));
    expect(statSync(join(root, 'etc', 'signet')).mode & 0o777).toBe(0o750);
  });

  it('its ExecStart line starts a server (data dir and settings file as the unit names them)', async () => {
    const line = /^ExecStart=(.*)$/m.exec(UNIT)?.[1] ?? '';
    const data = join(dir, 'var-lib-signet');
    const config = join(dir, 'signet.yaml');
    const port = await freePort();
    writeFileSync(config, `listen: 127.0.0.1:${port}\n`);
    const argv = line.replaceAll('/var/lib/signet', data).replaceAll('/etc/signet/signet.yaml', config).split(' ');
    expect(argv[0]).toBe(INSTALLED_PATH);
    const child = spawn(process.execPath, [SIGNET, ...argv.slice(1)], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '' } });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    try {
      let ok = false;
      for (let i = 0; i < 300 && !ok && child.exitCode === null; i++) {
        // Only the child's own socket counts (test/helpers/cli.ts ownsListener: a port can be taken).
        ok = (await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false)) && ownsListener(child.pid ?? -1, port);
        if (!ok) await new Promise((r) => setTimeout(r, 100));
      }
      expect(ok, err).toBe(true);
      expect(statSync(join(data, 'master.key')).mode & 0o777).toBe(0o600);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
    }
    // SIGTERM (the unit's KillSignal) is a clean stop, so Restart=on-failure does not restart it.
    expect(child.exitCode, err).toBe(0);
  });
});
