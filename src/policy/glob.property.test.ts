// The glob matcher against a naive reference that follows docs/policy.md literally (recursive
// backtracking over code points), on random globs and names from a small alphabet where the
// special characters collide often.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileGlob, GlobError } from './glob.js';

type Token =
  | { t: 'lit'; c: string }
  | { t: 'star' }
  | { t: 'globstar' }
  | { t: 'any' }
  | { t: 'class'; negate: boolean; items: Array<[string, string]> };

/** Tokenise per the documented grammar; undefined when the glob is invalid. */
function tokens(glob: string): Token[] | undefined {
  const cs = [...glob];
  if (cs.length === 0) return undefined;
  const out: Token[] = [];
  for (let i = 0; i < cs.length; i++) {
    const c = cs[i]!;
    if (c === '\\') {
      if (i + 1 >= cs.length) return undefined;
      out.push({ t: 'lit', c: cs[++i]! });
    } else if (c === '*') {
      let n = 1;
      while (cs[i + n] === '*') n++;
      if (n > 2) return undefined;
      out.push(n === 2 ? { t: 'globstar' } : { t: 'star' });
      i += n - 1;
    } else if (c === '?') out.push({ t: 'any' });
    else if (c === '[') {
      let j = i + 1;
      let negate = false;
      if (cs[j] === '!') {
        negate = true;
        j++;
      }
      const items: Array<[string, string]> = [];
      let first = true;
      for (;;) {
        let ch = cs[j];
        if (ch === undefined) return undefined;
        if (ch === ']' && !first) break;
        first = false;
        if (ch === '\\') {
          ch = cs[++j];
          if (ch === undefined) return undefined;
        }
        if (ch === '/') return undefined;
        if (cs[j + 1] === '-' && cs[j + 2] !== undefined && cs[j + 2] !== ']') {
          let hi = cs[j + 2]!;
          let skip = 2;
          if (hi === '\\') {
            hi = cs[j + 3] ?? '';
            skip = 3;
            if (hi === '') return undefined;
          }
          if (hi === '/' || hi.codePointAt(0)! < ch.codePointAt(0)!) return undefined;
          items.push([ch, hi]);
          j += skip + 1;
        } else {
          items.push([ch, ch]);
          j++;
        }
      }
      out.push({ t: 'class', negate, items });
      i = j;
    } else out.push({ t: 'lit', c });
  }
  return out;
}

function refMatch(ts: Token[], name: string[]): boolean {
  const go = (ti: number, ni: number): boolean => {
    if (ti === ts.length) return ni === name.length;
    const tok = ts[ti]!;
    const ch = name[ni];
    switch (tok.t) {
      case 'lit':
        return ch === tok.c && go(ti + 1, ni + 1);
      case 'any':
        return ch !== undefined && ch !== '/' && go(ti + 1, ni + 1);
      case 'class': {
        if (ch === undefined || ch === '/') return false;
        const cp = ch.codePointAt(0)!;
        const inSet = tok.items.some(([lo, hi]) => cp >= lo.codePointAt(0)! && cp <= hi.codePointAt(0)!);
        return inSet !== tok.negate && go(ti + 1, ni + 1);
      }
      case 'star':
        for (let k = ni; k <= name.length; k++) {
          if (go(ti + 1, k)) return true;
          if (name[k] === '/') break;
        }
        return false;
      case 'globstar':
        for (let k = ni; k <= name.length; k++) if (go(ti + 1, k)) return true;
        return false;
    }
  };
  return go(0, 0);
}

const alphabet = fc.constantFrom('a', 'b', '-', '.', '/', '*', '?', '[', ']', '!', '\\', 'é');
const nameAlphabet = fc.constantFrom('a', 'b', '-', '.', '/', '*', '[', ']', 'é', '\\');

describe('glob matcher vs the documented reference', () => {
  it('accepts and refuses the same globs, and matches the same names', () => {
    fc.assert(
      fc.property(fc.array(alphabet, { minLength: 1, maxLength: 10 }), fc.array(fc.array(nameAlphabet, { maxLength: 10 }), { minLength: 1, maxLength: 8 }), (g, names) => {
        const glob = g.join('');
        const ref = tokens(glob);
        let compiled;
        try {
          compiled = compileGlob(glob);
        } catch (err) {
          expect(err).toBeInstanceOf(GlobError);
          expect(ref).toBeUndefined();
          return;
        }
        expect(ref).toBeDefined();
        for (const n of names) expect(compiled.matches(n.join('')), `${glob} vs ${n.join('')}`).toBe(refMatch(ref!, n));
      }),
      { numRuns: 20_000 },
    );
  });
});

describe('glob matcher cost', () => {
  // A backtracking matcher takes exponential time in the number of `*` on a name that almost
  // matches (`*-*-*-*.tar.gz` against 255 dashes held the event loop about 1.5 s). The matcher
  // visits each (glob step, name code point) pair at most once: the bound below allows 2 µs per
  // pair plus 20 ms, orders of magnitude above what it needs, far below what backtracking takes.
  const bound = (glob: string, name: string) => 20 + ([...glob].length * [...name].length * 2) / 1000;
  // The fastest of five runs: a garbage collection or a preempted thread on a loaded machine
  // stretches one run by tens of milliseconds, never all five; backtracking slows every run.
  const fastest = (run: () => void): number => {
    let best = Number.POSITIVE_INFINITY;
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      run();
      best = Math.min(best, performance.now() - t0);
    }
    return best;
  };
  const timed = (glob: string, name: string): number => {
    const compiled = compileGlob(glob);
    return fastest(() => compiled.matches(name));
  };

  it('the worst globs against the longest names stay within a per-size bound', () => {
    const worst: Array<[string, string]> = [
      ['*-*-*-*.tar.gz', '-'.repeat(255)],
      ['*-'.repeat(127) + 'x', '-'.repeat(255)],
      ['**-'.repeat(85) + 'x', '-'.repeat(255)],
      ['*?'.repeat(128), 'a'.repeat(254) + '/'],
      ['lib*-*-*-devel', 'lib' + '-'.repeat(252)],
      ['*[!a]*[!a]*[!a]*[!a]*[!a]*[!a]*[!a]*[!a]*b', '-'.repeat(255)],
    ];
    for (const [glob, name] of worst) expect(timed(glob, name), glob).toBeLessThan(bound(glob, name));
  });

  it('random star-heavy globs against long names stay within the bound', () => {
    const piece = fc.constantFrom('*', '**', '-', '?', 'a', '[!b]', '/');
    fc.assert(
      fc.property(fc.array(piece, { minLength: 1, maxLength: 80 }), fc.array(fc.constantFrom('-', 'a', '/'), { minLength: 200, maxLength: 255 }), (g, n) => {
        const glob = g.join('').replace(/\*{3,}/g, '**');
        const name = n.join('');
        let compiled;
        try {
          compiled = compileGlob(glob);
        } catch {
          return;
        }
        expect(fastest(() => compiled.matches(name)), `${glob} against ${name}`).toBeLessThan(bound(glob, name));
      }),
      { numRuns: 300 },
    );
  });
});
