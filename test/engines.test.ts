// package.json's Node requirement matches the dependency tree (scripts/check-engines.mjs):
// `npm ci` on the oldest Node the package promises must not warn EBADENGINE. The lockfile once
// held cookie@2.0.2 (engines >=22, through fastify -> light-my-request) while package.json said
// >=20.19; the override in package.json keeps light-my-request on cookie 1.x.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
const script = join(root, 'scripts', 'check-engines.mjs');
const modulePath: string = script;
const { satisfies, minimumNode } = (await import(modulePath)) as {
  satisfies(version: string, range: string): boolean;
  minimumNode(range: string): string;
};

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function check(dir: string): { status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, [script, dir], { encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr };
}

function scratch(engines: string, packages: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), 'signet-engines-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'x', engines: { node: engines } }));
  writeFileSync(join(dir, 'package-lock.json'), JSON.stringify({ lockfileVersion: 3, packages: { '': {}, ...packages } }));
  return dir;
}

describe('engine ranges', () => {
  it('reads the ranges npm packages declare', () => {
    const cases: [string, string, boolean][] = [
      ['20.19.0', '>=22', false],
      ['20.19.0', '>=18', true],
      ['20.19.0', '^20.19.0 || >=22.12.0', true],
      ['20.18.9', '^20.19.0 || >=22.12.0', false],
      ['20.19.0', '^20.19.0 || ^22.13.0 || >=24', true],
      ['20.19.0', '18 || 20 || >=22', true],
      ['21.0.0', '18 || 20 || >=22', false],
      ['20.19.0', '20.x || 22.x || 23.x', true],
      ['20.19.0', '^18.18.0 || ^20.9.0 || >=21.1.0', true],
      ['20.19.0', '>= 4', true],
      ['20.19.0', '>=14.17 <20', false],
      ['20.19.0', '18 - 20', true],
      ['20.19.0', '~20.18.0', false],
      ['20.19.0', '*', true],
    ];
    for (const [v, range, want] of cases) expect(satisfies(v, range), `${v} in ${range}`).toBe(want);
    expect(minimumNode('>=20.19')).toBe('20.19.0');
  });
});

describe('scripts/check-engines.mjs', () => {
  it('the repository lockfile fits package.json engines', () => {
    const r = check(root);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('refuses a dependency that wants a newer Node than package.json promises (the cookie@2 case)', () => {
    const dir = scratch('>=20.19', {
      'node_modules/light-my-request': { version: '6.8.1' },
      'node_modules/cookie': { version: '2.0.2', engines: { node: '>=22' } },
      'node_modules/pino': { version: '10.0.0', engines: { node: '>=20' } },
    });
    const r = check(dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('cookie@2.0.2 wants Node >=22');
    expect(r.stderr).not.toContain('pino');
  });

  it('an unreadable range fails closed', () => {
    const r = check(scratch('>=20.19', { 'node_modules/odd': { version: '1.0.0', engines: { node: 'node twenty' } } }));
    expect(r.status).toBe(1);
  });
});
