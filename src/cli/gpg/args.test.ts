// The gpg command lines release tools really pass (docs/formats.md "How the tools call gpg"), and what must be refused.
import { describe, expect, it } from 'vitest';
import { SignetError } from '../../errors.js';
import { isVerification, parseGpgArgs } from './args.js';
import { selectKey, type KeySummary } from './keys.js';

function usage(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SignetError);
    return (err as SignetError).code;
  }
  throw new Error('expected an error');
}

describe('parseGpgArgs', () => {
  it('rpmsign: bundled -sbo, -- -, --digest-algo=8', () => {
    const cmd = parseGpgArgs(['--no-verbose', '--no-armor', '--no-secmem-warning', '--digest-algo=8', '-u', 'rel', '-sbo', '/tmp/x.sig', '--', '-']);
    expect(cmd).toEqual({ op: 'sign', mode: 'detached', armor: false, keySpec: 'rel', output: '/tmp/x.sig', input: '-', digest: 'sha256' });
  });
  it('git: --status-fd=2 -bsau KEY', () => {
    expect(parseGpgArgs(['--status-fd=2', '-bsau', 'Rel <r@x>'])).toEqual({ op: 'sign', mode: 'detached', armor: true, keySpec: 'Rel <r@x>', statusFd: 2 });
  });
  it('repo-add and makepkg: --detach-sign --use-agent --no-armor [-u KEY] FILE', () => {
    expect(parseGpgArgs(['--detach-sign', '--use-agent', '--no-armor', '-u', 'k', 'foo.db.tar.gz'])).toEqual({
      op: 'sign',
      mode: 'detached',
      armor: false,
      keySpec: 'k',
      input: 'foo.db.tar.gz',
    });
    expect(parseGpgArgs(['--detach-sign', '--use-agent', '--no-armor', 'p.pkg.tar.zst'])).toMatchObject({ input: 'p.pkg.tar.zst' });
  });
  it('debsign: --local-user --clearsign --list-options … --armor --textmode --output', () => {
    const cmd = parseGpgArgs(['--local-user', 'k', '--clearsign', '--list-options', 'no-show-policy-urls', '--armor', '--textmode', '--output', 'o.asc', 'in']);
    expect(cmd).toEqual({ op: 'sign', mode: 'clear', armor: true, keySpec: 'k', output: 'o.asc', input: 'in' });
  });
  it('probes: --version, --list-secret-key KEY, --list-secret-keys --with-colons', () => {
    expect(parseGpgArgs(['--version'])).toEqual({ op: 'version' });
    expect(parseGpgArgs(['--list-secret-key', 'k'])).toEqual({ op: 'list', secret: true, colons: false, patterns: ['k'] });
    expect(parseGpgArgs(['--list-secret-keys', '--with-colons'])).toEqual({ op: 'list', secret: true, colons: true, patterns: [] });
    expect(parseGpgArgs(['-k'])).toEqual({ op: 'list', secret: false, colons: false, patterns: [] });
  });
  it('--verify goes to the real gpg, unparsed; a file named --verify after -- does not', () => {
    expect(isVerification(['--keyid-format=long', '--status-fd=1', '--verify', 'sig', '-'])).toBe(true);
    expect(isVerification(['-b', '--', '--verify'])).toBe(false);
  });

  it('--verify as the value of another option is not a verification (parsed as gpg does)', () => {
    // Each of these signs with a key (or writes to a file) called --verify: it must reach
    // signet's own parser, never the local gpg.
    for (const args of [
      ['-u', '--verify', '-bsa', 'file'],
      ['--local-user', '--verify', '--detach-sign', 'file'],
      ['-bsau', '--verify', 'file'],
      ['-bso', '--verify', 'file'],
      ['--output', '--verify', '-bs', 'file'],
      ['--default-key', '--verify', '-bs', 'file'],
      ['--status-fd', '--verify', '-bs', 'file'],
      ['--keyring', '--verify', '-bs', 'file'],
    ]) {
      expect(isVerification(args), args.join(' ')).toBe(false);
    }
    expect(parseGpgArgs(['-u', '--verify', '-bsa', 'file'])).toMatchObject({ op: 'sign', keySpec: '--verify', input: 'file' });
    // The same option given its value inline, and --verify as a command after it.
    expect(isVerification(['-uKEY', '--verify', 'sig', 'file'])).toBe(true);
    expect(isVerification(['--local-user=KEY', '--verify', 'sig'])).toBe(true);
    expect(isVerification(['--no-default-keyring', '--keyring', 'k.gpg', '--verify', 'sig'])).toBe(true);
    // After an option gpg may read a value for, --verify is ambiguous: refused, not guessed.
    expect(() => isVerification(['--frobnicate', '--verify', 'sig'])).toThrow(expect.objectContaining({ code: 'USAGE' }));
    expect(isVerification(['--frobnicate=1', '--verify', 'sig'])).toBe(true);
  });
  it('refuses what it does not implement, with USAGE (exit 2)', () => {
    expect(usage(() => parseGpgArgs(['--sign-with', 'x', '-b', 'f']))).toBe('USAGE');
    expect(usage(() => parseGpgArgs(['-s', 'f']))).toBe('USAGE'); // inline signed message
    expect(usage(() => parseGpgArgs(['-e', 'f']))).toBe('USAGE'); // encryption
    expect(usage(() => parseGpgArgs(['-b', 'f', 'g']))).toBe('USAGE');
    expect(usage(() => parseGpgArgs(['-b', '--textmode', 'f']))).toBe('USAGE');
    expect(usage(() => parseGpgArgs(['-b', '--digest-algo', 'SHA1', 'f']))).toBe('USAGE');
    expect(usage(() => parseGpgArgs(['-b', '--clearsign', 'f']))).toBe('USAGE');
    expect(usage(() => parseGpgArgs(['-bu']))).toBe('USAGE');
    expect(usage(() => parseGpgArgs([]))).toBe('USAGE');
  });
});

describe('selectKey', () => {
  const keys: KeySummary[] = [
    { name: 'rel', fingerprint: '965164630B95CDB797D640A40041B04C51E0D6D4', user_id: 'Rel <rel@example.org>', state: 'active' },
    { name: 'ed', fingerprint: '6867E76A526C0555724116B8EC3ED274817EEC3D', user_id: 'Ed <ed@example.org>', state: 'active' },
    { name: 'ed-old', fingerprint: '1111E76A526C0555724116B8EC3ED274817E2222', user_id: 'Ed <ed@example.org>', state: 'revoked' },
    { name: 'twin1', fingerprint: 'AAAA0000000000000000000000000000000000AA', user_id: 'T <t@example.org>', state: 'active' },
    { name: 'twin2', fingerprint: 'BBBB0000000000000000000000000000000000BB', user_id: 'T <t@example.org>', state: 'active' },
  ];
  it('finds a key by name, fingerprint (spaced, 0x), long key ID, email and user ID', () => {
    expect(selectKey(keys, 'rel').name).toBe('rel');
    expect(selectKey(keys, '9651 6463 0B95 CDB7 97D6  40A4 0041 B04C 51E0 D6D4').name).toBe('rel');
    expect(selectKey(keys, '0x0041b04c51e0d6d4').name).toBe('rel');
    expect(selectKey(keys, '0041B04C51E0D6D4!').name).toBe('rel');
    expect(selectKey(keys, 'REL@example.org').name).toBe('rel');
    expect(selectKey(keys, '<rel@example.org>').name).toBe('rel');
    expect(selectKey(keys, 'Rel <rel@example.org>').name).toBe('rel');
    expect(selectKey(keys, '=Rel <rel@example.org>').name).toBe('rel');
    // A revoked key with the same email does not make the active one ambiguous.
    expect(selectKey(keys, 'ed@example.org').name).toBe('ed');
  });
  it('never guesses: substrings, short IDs, other names and ambiguous emails fail', () => {
    expect(usage(() => selectKey(keys, 'Rel'))).toBe('KEY_NOT_FOUND');
    expect(usage(() => selectKey(keys, '51E0D6D4'))).toBe('USAGE');
    expect(usage(() => selectKey(keys, 'Other <rel@example.org>'))).toBe('KEY_NOT_FOUND');
    expect(usage(() => selectKey(keys, 't@example.org'))).toBe('USAGE');
    expect(usage(() => selectKey(keys, 'nobody@example.org'))).toBe('KEY_NOT_FOUND');
    expect(usage(() => selectKey(keys, '0041B04C51E0D6D5'))).toBe('KEY_NOT_FOUND');
  });
});
