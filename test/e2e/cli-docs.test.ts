// The generated shell completion and man page, used as a shell and man use them.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTools } from '../helpers/tools.js';
import { requireBuild, signet } from '../helpers/cli.js';

describe('signet completion and man page', () => {
  let dir: string;

  beforeAll(() => {
    requireBuild();
    dir = mkdtempSync(join(tmpdir(), 'signet-docs-'));
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** COMPREPLY for the words typed so far (the last one is being completed). */
  function complete(script: string, words: string[]): string[] {
    const quoted = words.map((w) => `'${w.replace(/'/g, `'\\''`)}'`).join(' ');
    const r = spawnSync('bash', ['-c', `source "$0"; COMP_WORDS=(${quoted}); COMP_CWORD=${words.length - 1}; _signet_complete; printf '%s\\n' "\${COMPREPLY[@]}"`, script], {
      encoding: 'utf8',
      cwd: dir,
    });
    expect(r.status, r.stderr).toBe(0);
    return r.stdout.split('\n').filter((l) => l !== '');
  }

  it('bash: the script is valid and completes commands, subcommands and options', () => {
    const r = signet(['completion', 'bash']);
    expect(r.status, r.stderr).toBe(0);
    const script = join(dir, 'signet.bash');
    writeFileSync(script, r.stdout);
    expect(spawnSync('bash', ['-n', script], { encoding: 'utf8' }).status).toBe(0);
    expect(complete(script, ['signet', 'ke'])).toEqual(['key']);
    expect(complete(script, ['signet', 'key', ''])).toEqual(['create', 'purpose', 'list', 'export', 'import', 'versions', 'rotate', 'expire', 'revoke', 'disable', 'enable', 'delete', 'subkey', 'revocation-cert', 'lint']);
    expect(complete(script, ['signet', '--addr', 'http://x', 'sign', '--ar'])).toEqual(['--armor']);
    expect(complete(script, ['signet', 'log', 'proof', '--js'])).toEqual(['--json']);
    // After an option that takes a value, the value (a file), not a command.
    writeFileSync(join(dir, 'release.key'), '');
    expect(complete(script, ['signet', 'key', 'import', '--passphrase-file', 'rel'])).toEqual(['release.key']);
  });

  it('zsh: the script loads bashcompinit and the same function', () => {
    const r = signet(['completion', 'zsh']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.startsWith('#compdef signet\n')).toBe(true);
    expect(r.stdout).toContain('bashcompinit');
    const script = join(dir, 'signet.zsh');
    writeFileSync(script, r.stdout.replace(/^autoload .*$/m, ''));
    // zsh is not on every machine; bash parses the same function body.
    expect(spawnSync('bash', ['-n', script]).status).toBe(0);
  });

  it('man: renders without warnings and reads as a man page', () => {
    requireTools('groff', 'man');
    const r = signet(['man']);
    expect(r.status, r.stderr).toBe(0);
    const page = join(dir, 'signet.1');
    writeFileSync(page, r.stdout);
    const groff = spawnSync('groff', ['-man', '-Tutf8', '-ww', '-z', page], { encoding: 'utf8' });
    expect(groff.status).toBe(0);
    expect(groff.stderr).toBe('');
    const man = spawnSync('man', ['-l', page], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', MANWIDTH: '100', MAN_KEEP_FORMATTING: '' } });
    expect(man.status, man.stderr).toBe(0);
    // man may overstrike for bold (X backspace X): keep the letters.
    const text = man.stdout.split(String.fromCharCode(8)).map((part, n) => (n === 0 ? part : part.slice(1))).join('');
    expect(text).toMatch(/^SIGNET\(1\)/);
    expect(text).toContain('signet rpm sign <files...>');
    expect(text).toContain('--timeout <duration>');
  });
});
