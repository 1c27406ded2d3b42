// Policy documents, globs, CIDRs and rates: what is accepted, and every malformed input refused
// with POLICY_INVALID naming the failing path.
import { describe, expect, it } from 'vitest';
import { SignetError } from '../errors.js';
import { CidrSet, parseAddress, parseCidr } from './cidr.js';
import { MAX_POLICY_BYTES, parsePolicy, parseRate } from './document.js';
import { compileGlob } from './glob.js';

function policyError(text: string, name = 'ci'): SignetError {
  try {
    parsePolicy(name, text);
  } catch (err) {
    if (err instanceof SignetError) return err;
    throw err;
  }
  throw new Error('the policy was accepted');
}

describe('policy documents', () => {
  it('parses the docs/policy.md example with defaults for omitted fields', () => {
    const doc = parsePolicy(
      'ci',
      `rules: [{keys: [rel], kinds: [rpm, detached], names: ['pkg-*'], cidrs: [10.0.0.0/8], rate: 600/1h, mode: [content]}]`,
    );
    expect(doc.rules).toHaveLength(1);
    const r = doc.rules[0]!;
    expect(r.id).toBe('ci#0');
    expect([...r.kinds]).toEqual(['rpm', 'detached']);
    expect(r.rate).toEqual({ source: '600/1h', limit: 600, windowMs: 3_600_000 });
    expect(r.cidrs!.matches('10.1.2.3')).toBe(true);
    expect(r.cidrs!.matches('11.1.2.3')).toBe(false);
    const minimal = parsePolicy('ci', 'rules:\n  - keys: [rel]\n    kinds: [sums]\n').rules[0]!;
    expect(minimal.names).toBeUndefined();
    expect(minimal.cidrs).toBeUndefined();
    expect(minimal.rate).toBeUndefined();
    expect([...minimal.modes]).toEqual(['content']);
  });

  it('gives a rule a rate bucket that depends on its content, not its position', () => {
    const a = parsePolicy('ci', 'rules: [{keys: [a], kinds: [rpm], rate: 1/1h}, {keys: [b], kinds: [rpm], rate: 1/1h}]');
    const b = parsePolicy('ci', 'rules: [{keys: [b], kinds: [rpm], rate: 1/1h}, {keys: [a], kinds: [rpm], rate: 1/1h}]');
    expect(a.rules[0]!.bucket).toBe(b.rules[1]!.bucket);
    expect(a.rules[0]!.bucket).not.toBe(a.rules[1]!.bucket);
    expect(parsePolicy('other', 'rules: [{keys: [a], kinds: [rpm], rate: 1/1h}]').rules[0]!.bucket).not.toBe(a.rules[0]!.bucket);
  });

  const malformed: Array<[string, string, string]> = [
    ['empty text', '', ''],
    ['only whitespace', '   \n', ''],
    ['not YAML', 'rules: [unclosed', ''],
    ['a scalar document', 'just text', ''],
    ['a list document', '- keys: [a]', ''],
    ['no rules field', 'other: 1', ''],
    ['unknown top-level field', 'rules: [{keys: [a], kinds: [rpm]}]\nextra: 1', ''],
    ['empty rules', 'rules: []', 'rules'],
    ['rules not a list', 'rules: {keys: [a]}', 'rules'],
    ['typo in a field name (capability-style)', 'rules: [{keys: [a], kinds: [rpm], nmaes: [x]}]', 'rules.0'],
    ['missing keys', 'rules: [{kinds: [rpm]}]', 'rules.0.keys'],
    ['missing kinds', 'rules: [{keys: [a]}]', 'rules.0.kinds'],
    ['empty keys', 'rules: [{keys: [], kinds: [rpm]}]', 'rules.0.keys'],
    ['keys as a string', 'rules: [{keys: a, kinds: [rpm]}]', 'rules.0.keys'],
    ['unknown kind', 'rules: [{keys: [a], kinds: [sgin]}]', 'rules.0.kinds.0'],
    ['unknown mode', 'rules: [{keys: [a], kinds: [rpm], mode: [raw]}]', 'rules.0.mode.0'],
    ['number as key', 'rules: [{keys: [1], kinds: [rpm]}]', 'rules.0.keys.0'],
    ['invalid glob: unclosed class', "rules: [{keys: [a], kinds: [rpm], names: ['pkg-[a']}]", 'rules.0.names.0'],
    ['invalid glob: trailing backslash', "rules: [{keys: [a], kinds: [rpm], names: ['pkg\\']}]", 'rules.0.names.0'],
    ['invalid glob: three stars', "rules: [{keys: ['***'], kinds: [rpm]}]", 'rules.0.keys.0'],
    ['invalid glob: reversed range', "rules: [{keys: [a], kinds: [rpm], names: ['[z-a]']}]", 'rules.0.names.0'],
    ['invalid glob: empty', "rules: [{keys: [a], kinds: [rpm], names: ['']}]", 'rules.0.names.0'],
    ['invalid glob: control character', 'rules: [{keys: [a], kinds: [rpm], names: ["a\\x01"]}]', 'rules.0.names.0'],
    ['CIDR with host bits', 'rules: [{keys: [a], kinds: [rpm], cidrs: [10.0.0.1/8]}]', 'rules.0.cidrs.0'],
    ['CIDR prefix too long', 'rules: [{keys: [a], kinds: [rpm], cidrs: [10.0.0.0/33]}]', 'rules.0.cidrs.0'],
    ['CIDR octet out of range', 'rules: [{keys: [a], kinds: [rpm], cidrs: [10.0.0.256/32]}]', 'rules.0.cidrs.0'],
    ['CIDR leading zero', 'rules: [{keys: [a], kinds: [rpm], cidrs: [010.0.0.0/8]}]', 'rules.0.cidrs.0'],
    ['CIDR a hostname', 'rules: [{keys: [a], kinds: [rpm], cidrs: [example.org/24]}]', 'rules.0.cidrs.0'],
    ['IPv6 CIDR with two ::', "rules: [{keys: [a], kinds: [rpm], cidrs: ['2001::db8::/32']}]", 'rules.0.cidrs.0'],
    ['IPv6 CIDR prefix too long', "rules: [{keys: [a], kinds: [rpm], cidrs: ['2001:db8::/129']}]", 'rules.0.cidrs.0'],
    ['IPv6 CIDR host bits', "rules: [{keys: [a], kinds: [rpm], cidrs: ['2001:db8::1/32']}]", 'rules.0.cidrs.0'],
    ['IPv6 with a zone', "rules: [{keys: [a], kinds: [rpm], cidrs: ['fe80::1%eth0']}]", 'rules.0.cidrs.0'],
    ['empty cidrs', 'rules: [{keys: [a], kinds: [rpm], cidrs: []}]', 'rules.0.cidrs'],
    ['rate without unit', 'rules: [{keys: [a], kinds: [rpm], rate: 600/1}]', 'rules.0.rate'],
    ['rate zero', 'rules: [{keys: [a], kinds: [rpm], rate: 0/1h}]', 'rules.0.rate'],
    ['rate unknown unit', 'rules: [{keys: [a], kinds: [rpm], rate: 5/1y}]', 'rules.0.rate'],
    ['rate window too long', 'rules: [{keys: [a], kinds: [rpm], rate: 1/400d}]', 'rules.0.rate'],
    ['rate as a number', 'rules: [{keys: [a], kinds: [rpm], rate: 600}]', 'rules.0.rate'],
    ['rate negative', 'rules: [{keys: [a], kinds: [rpm], rate: -1/1h}]', 'rules.0.rate'],
    ['duplicate key in a mapping', 'rules: [{keys: [a], keys: [b], kinds: [rpm]}]', ''],
    ['YAML alias (billion laughs)', 'a: &a [x]\nrules: [{keys: *a, kinds: [rpm]}]', ''],
    ['second rule broken', 'rules: [{keys: [a], kinds: [rpm]}, {keys: [b], kinds: [rpm], cidrs: [bad]}]', 'rules.1.cidrs.0'],
  ];
  for (const [what, text, path] of malformed) {
    it(`refuses ${what} with POLICY_INVALID${path ? ` at ${path}` : ''}`, () => {
      const err = policyError(text);
      expect(err.code).toBe('POLICY_INVALID');
      if (path) expect(err.message.startsWith(`${path}: `)).toBe(true);
    });
  }

  it('refuses an oversized document, too many rules and bad policy names', () => {
    const rule = '  - {keys: [a], kinds: [rpm]}\n';
    expect(policyError(`rules:\n${rule.repeat(Math.ceil(MAX_POLICY_BYTES / rule.length) + 1)}`).code).toBe('POLICY_INVALID');
    expect(policyError(`rules:\n${rule.repeat(257)}`).message.startsWith('rules: ')).toBe(true);
    expect(policyError('rules: [{keys: [a], kinds: [rpm]}]', 'Bad/Name').message.startsWith('name: ')).toBe(true);
    expect(policyError('rules: [{keys: [a], kinds: [rpm]}]', '../etc').code).toBe('POLICY_INVALID');
    expect(policyError('rules: [{keys: [a], kinds: [rpm]}]', 'a%2Fb').code).toBe('POLICY_INVALID');
  });
});

describe('globs', () => {
  const cases: Array<[string, string, boolean]> = [
    ['pkg-*', 'pkg-foo', true],
    ['pkg-*', 'pkg-', true],
    ['pkg-*', 'pkg', false],
    ['pkg-*', 'xpkg-foo', false],
    ['pkg-*', 'pkg-a/b', false],
    ['pkg-**', 'pkg-a/b', true],
    ['**', '', true],
    ['*.iso', 'release.iso', true],
    ['*.iso', 'release.iso.sig', false],
    ['*.iso', 'releasexiso', false],
    ['?', 'a', true],
    ['?', 'ab', false],
    ['?', '/', false],
    ['?', 'é', true],
    ['[ab]c', 'bc', true],
    ['[ab]c', 'cc', false],
    ['[a-c]x', 'bx', true],
    ['[!a-c]x', 'dx', true],
    ['[!a-c]x', 'bx', false],
    ['[!a-c]x', '/x', false],
    // A range that spans `/` (0x2e-0x61) still never matches it.
    ['[.-a]x', '/x', false],
    ['[.-a]x', '0x', true],
    ['a[.-0]b', 'a/b', false],
    ['[]]', ']', true],
    ['a\\*', 'a*', true],
    ['a\\*', 'ab', false],
    ['Pkg', 'pkg', false],
    ['a.b', 'axb', false],
    ['a+b', 'a+b', true],
    ['(x)', '(x)', true],
    ['x{1,2}', 'x{1,2}', true],
    ['x{1,2}', 'x1', false],
    ['rel', 'rel', true],
    ['rel', 'release', false],
  ];
  for (const [glob, name, expected] of cases) {
    it(`${glob} ${expected ? 'matches' : 'does not match'} ${JSON.stringify(name)}`, () => {
      expect(compileGlob(glob).matches(name)).toBe(expected);
    });
  }
});

describe('CIDRs and addresses', () => {
  it('matches IPv4, IPv6 and IPv4-mapped sources', () => {
    const set = CidrSet.parse(['10.0.0.0/8', '192.168.1.0/24', '2001:db8::/32', '::1', '0.0.0.0/0'].slice(0, 4));
    expect(set.matches('10.255.0.1')).toBe(true);
    expect(set.matches('::ffff:10.1.2.3')).toBe(true);
    expect(set.matches('192.168.2.1')).toBe(false);
    expect(set.matches('2001:db8:1::5')).toBe(true);
    expect(set.matches('2001:db9::5')).toBe(false);
    expect(set.matches('::1')).toBe(true);
    expect(set.matches('127.0.0.1')).toBe(false);
    expect(set.matches('not an address')).toBe(false);
    expect(CidrSet.parse(['0.0.0.0/0']).matches('8.8.8.8')).toBe(true);
    expect(CidrSet.parse(['0.0.0.0/0']).matches('2001:db8::1')).toBe(false);
    expect(CidrSet.parse(['::/0']).matches('2001:db8::1')).toBe(true);
    expect(CidrSet.parse(['10.0.0.0/9']).matches('10.127.255.255')).toBe(true);
    expect(CidrSet.parse(['10.0.0.0/9']).matches('10.128.0.0')).toBe(false);
  });

  it('parses IPv6 text forms', () => {
    expect(parseCidr('::').prefix).toBe(128);
    expect(parseCidr('1:2:3:4:5:6:7:8/128').family).toBe(6);
    expect(parseCidr('::ffff:10.0.0.0/104').family).toBe(6);
    expect(parseAddress('fe80::1%eth0')?.family).toBe(6);
    expect(() => parseCidr('1:2:3:4:5:6:7:8:9')).toThrow();
    expect(() => parseCidr('1:2:3:4:5:6:7::8')).toThrow();
    expect(() => parseCidr('12345::')).toThrow();
    expect(() => parseCidr('10.0.0.0/08')).toThrow();
    expect(() => parseCidr('10.0.0.0/')).toThrow();
  });

  it('parses rates', () => {
    expect(parseRate('1/30d')).toEqual({ source: '1/30d', limit: 1, windowMs: 30 * 86_400_000 });
    expect(parseRate('5/2w').windowMs).toBe(14 * 86_400_000);
    expect(parseRate('10/90s').windowMs).toBe(90_000);
  });
});

describe('policy documents: vet, requires and approvals', () => {
  it('parses requires: [vetted], approvals with a ttl, and a vet-only rule without keys', () => {
    const doc = parsePolicy(
      'rel',
      [
        'rules:',
        '  - {keys: [tarballs], kinds: [detached], requires: [vetted], approvals: {required: 2, from: [alice, bob, carol], ttl: 2h}}',
        "  - {kinds: [vet], names: ['nova-*']}",
        '  - {keys: [tarballs], kinds: [sums]}',
      ].join('\n'),
    );
    expect(doc.rules[0]).toMatchObject({ vetted: true, approvals: { required: 2, from: ['alice', 'bob', 'carol'], ttlMs: 7_200_000 } });
    expect(doc.rules[1]).toMatchObject({ vetted: false, approvals: undefined, keys: [] });
    expect([...doc.rules[1]!.kinds]).toEqual(['vet']);
    expect(doc.rules[2]).toMatchObject({ vetted: false, approvals: undefined });
    expect(parsePolicy('d', 'rules: [{keys: [k], kinds: [detached], approvals: {required: 1, from: [a]}}]').rules[0]!.approvals!.ttlMs).toBe(86_400_000);
  });

  it.each([
    ['rules: [{kinds: [detached]}]', 'rules.0.keys: keys is required'],
    ['rules: [{kinds: [vet, detached]}]', 'rules.0.keys: keys is required'],
    ['rules: [{keys: [k], kinds: [detached], requires: [reviewed]}]', 'rules.0.requires.0'],
    ['rules: [{keys: [k], kinds: [detached], approvals: {required: 3, from: [a, b]}}]', 'more than the approvers listed'],
    ['rules: [{keys: [k], kinds: [detached], approvals: {required: 2, from: [a, a]}}]', 'lists an approver twice'],
    ['rules: [{keys: [k], kinds: [detached], approvals: {required: 0, from: [a]}}]', 'rules.0.approvals.required'],
    ['rules: [{keys: [k], kinds: [detached], approvals: {required: 1, from: [a], ttl: 2y}}]', 'rules.0.approvals.ttl'],
    ['rules: [{keys: [k], kinds: [detached], approvals: {required: 1, from: [a], by: [b]}}]', 'unknown field by'],
    ['rules: [{keys: [k], kinds: [detached], approvals: {required: 1, from: ["a\\u0007"]}}]', 'control characters'],
  ])('refuses %s', (text, message) => {
    const err = policyError(text);
    expect(err.code).toBe('POLICY_INVALID');
    expect(err.message).toContain(message);
  });
});

