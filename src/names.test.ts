// One name rule for keys, policies and roles (src/names.ts), held at every place a name enters:
// before, six validators disagreed and three of them let `a..b` through.
import { describe, expect, it } from 'vitest';
import { NAME_PATTERN, isValidName } from './names.js';
import { checkKeyName } from './keys/key-service.js';
import { checkRoleName } from './auth/approle.js';
import { checkPolicyName } from './policy/document.js';
import { isKeyName } from './cli/gpg/keys.js';
import { keyName, keyParams, nameParams } from './server/validation.js';
import { policyName, roleParams } from './server/auth-common.js';
import { SignetError } from './errors.js';

const VALID = ['a', '0', 'release-2026', 'ci.rpm', 'a.b.c', 'x_y', 'a-', 'a.', 'z'.repeat(64)];
const INVALID = [
  '', '..', '.', 'a..b', 'a..', '..a', 'rel..ease', '.hidden', '-rf', '_x', 'A', 'Key', 'a/b', '../x', 'a\\b',
  'a b', 'a\nb', 'a\0', 'é', 'ｋｅｙ', 'z'.repeat(65), 'a:b', 'a%2e%2e',
];

function accepts(check: (name: string) => void, name: string): boolean {
  try {
    check(name);
    return true;
  } catch (err) {
    expect(err).toBeInstanceOf(SignetError);
    return false;
  }
}

describe('the name rule', () => {
  it('accepts the valid names and refuses the rest', () => {
    for (const n of VALID) expect(isValidName(n), n).toBe(true);
    for (const n of INVALID) expect(isValidName(n), JSON.stringify(n)).toBe(false);
  });

  it('never accepts a name containing ..: every 1-5 character string over [a.-]', () => {
    const alphabet = ['a', '.', '-'];
    let names = [''];
    for (let len = 1; len <= 5; len++) {
      names = names.flatMap((p) => alphabet.map((c) => p + c));
      for (const n of names) if (n.includes('..')) expect(NAME_PATTERN.test(n), n).toBe(false);
    }
  });
});

describe('every entry point applies the same rule', () => {
  const entryPoints: [string, (name: string) => boolean][] = [
    ['checkKeyName', (n) => accepts(checkKeyName, n)],
    ['checkRoleName', (n) => accepts(checkRoleName, n)],
    ['checkPolicyName', (n) => accepts(checkPolicyName, n)],
    ['signet-gpg isKeyName', isKeyName],
    ['HTTP key name', (n) => keyName.safeParse(n).success],
    ['HTTP :key parameter', (n) => keyParams.safeParse({ key: n }).success],
    ['HTTP :name parameter', (n) => nameParams.safeParse({ name: n }).success],
    ['HTTP policy name', (n) => policyName.safeParse(n).success],
    ['HTTP role name', (n) => roleParams.safeParse({ name: n }).success],
  ];
  for (const [what, check] of entryPoints) {
    it(what, () => {
      for (const n of [...VALID, ...INVALID]) expect(check(n), `${what} ${JSON.stringify(n)}`).toBe(isValidName(n));
    });
  }
});
