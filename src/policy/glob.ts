// Name globs in policies (`names: ['pkg-*']`, `keys: ['rel-*']`). Exact semantics (docs/policy.md):
//   - the glob matches the WHOLE name, case-sensitively, character by character (Unicode code points);
//   - `*`  matches any run of characters, possibly empty, except `/`;
//   - `**` matches any run of characters, possibly empty, including `/`;
//   - `?`  matches exactly one character except `/`;
//   - `[abc]`, `[a-z]`, `[!a-z]` match one character (not `/`) in / not in the set; a `]` right after
//     `[` or `[!` is literal;
//   - `\c` matches the character c literally (to match `*`, `?`, `[`, `\`);
//   - every other character matches itself; there is no brace expansion and no `.` magic.
// Refused (POLICY_INVALID): empty glob, more than 256 characters, control characters, an unclosed
// `[`, an empty or reversed range, a trailing `\`, three or more `*` in a row, `/` inside `[…]`.

export const MAX_GLOB_LENGTH = 256;

export interface Glob {
  readonly source: string;
  /** True when the glob contains no wildcard: matching is string equality. */
  readonly literal: boolean;
  matches(name: string): boolean;
}

export class GlobError extends Error {}

/** One step of a compiled glob; a name is matched against the steps by a set-of-states
 *  simulation (Thompson's construction), never by a backtracking regular expression, so a match
 *  costs at most (name length) x (steps) state visits whatever the glob and name. */
type Step =
  | { readonly t: 'lit'; readonly cp: number }
  /** `*` (slash false) or `**` (slash true): any run, possibly empty. */
  | { readonly t: 'star'; readonly slash: boolean }
  /** `?` and `[...]`: one code point other than `/`, in the ranges (or not, when negated). */
  | { readonly t: 'one'; readonly negate: boolean; readonly ranges: readonly number[] | undefined };

const SLASH = 0x2f;

/** Compile a glob once (at policy load); throws GlobError with the reason. */
export function compileGlob(source: string): Glob {
  if (source.length === 0) throw new GlobError('empty glob');
  if (source.length > MAX_GLOB_LENGTH) throw new GlobError(`longer than ${MAX_GLOB_LENGTH} characters`);
  for (const ch of source) {
    const c = ch.codePointAt(0)!;
    if (c < 0x20 || c === 0x7f) throw new GlobError('control characters are not allowed');
  }
  const chars = [...source];
  const steps: Step[] = [];
  let literal = true;
  let plain = '';
  /** The literal characters before the first wildcard: a cheap reject before the simulation. */
  let prefix: string | undefined;
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    if (ch === '\\') {
      const next = chars[i + 1];
      if (next === undefined) throw new GlobError('trailing backslash');
      steps.push({ t: 'lit', cp: next.codePointAt(0)! });
      plain += next;
      i++;
    } else if (ch === '*') {
      prefix ??= plain;
      let run = 1;
      while (chars[i + run] === '*') run++;
      if (run > 2) throw new GlobError('more than two * in a row');
      steps.push({ t: 'star', slash: run === 2 });
      literal = false;
      i += run - 1;
    } else if (ch === '?') {
      prefix ??= plain;
      steps.push({ t: 'one', negate: true, ranges: undefined });
      literal = false;
    } else if (ch === '[') {
      prefix ??= plain;
      const { step, end } = characterClass(chars, i);
      steps.push(step);
      literal = false;
      i = end;
    } else {
      steps.push({ t: 'lit', cp: ch.codePointAt(0)! });
      plain += ch;
    }
  }
  if (literal) return { source, literal: true, matches: (name) => name === plain };
  const head = prefix ?? '';
  return { source, literal: false, matches: (name) => name.startsWith(head) && simulate(steps, name) };
}

function inRanges(ranges: readonly number[], cp: number): boolean {
  for (let k = 0; k < ranges.length; k += 2) if (cp >= ranges[k]! && cp <= ranges[k + 1]!) return true;
  return false;
}

/** Whether the step consumes the code point (staying on a star, moving past anything else). */
function accepts(step: Step, cp: number): boolean {
  switch (step.t) {
    case 'lit':
      return step.cp === cp;
    case 'star':
      return step.slash || cp !== SLASH;
    case 'one':
      // A class never matches `/`, negated or not (a range such as `.-a` spans `/`).
      if (cp === SLASH) return false;
      return step.ranges === undefined ? true : inRanges(step.ranges, cp) !== step.negate;
  }
}

/**
 * The set of live states is the steps still to match (state steps.length: the whole glob matched).
 * A star state also stands for the state after it (it may match the empty run). Each code point
 * of the name moves every live state once: O(name x steps) with no backtracking.
 */
function simulate(steps: readonly Step[], name: string): boolean {
  const m = steps.length;
  let current = new Uint8Array(m + 1);
  let next = new Uint8Array(m + 1);
  const add = (set: Uint8Array, from: number): void => {
    for (let s = from; s <= m; s++) {
      if (set[s] === 1) return;
      set[s] = 1;
      if (s === m || steps[s]!.t !== 'star') return;
    }
  };
  add(current, 0);
  for (let i = 0; i < name.length; ) {
    const cp = name.codePointAt(i)!;
    i += cp > 0xffff ? 2 : 1;
    next.fill(0);
    let any = false;
    for (let s = 0; s < m; s++) {
      if (current[s] !== 1) continue;
      const step = steps[s]!;
      if (!accepts(step, cp)) continue;
      any = true;
      add(next, step.t === 'star' ? s : s + 1);
    }
    if (!any) return false;
    [current, next] = [next, current];
  }
  return current[m] === 1;
}

function characterClass(chars: string[], start: number): { step: Step; end: number } {
  let i = start + 1;
  let negate = false;
  if (chars[i] === '!') {
    negate = true;
    i++;
  }
  const ranges: number[] = [];
  let first = true;
  for (;;) {
    let ch = chars[i];
    if (ch === undefined) throw new GlobError('unclosed [');
    if (ch === ']' && !first) break;
    first = false;
    if (ch === '\\') {
      i++;
      ch = chars[i];
      if (ch === undefined) throw new GlobError('trailing backslash');
    }
    if (ch === '/') throw new GlobError('/ inside [...]');
    if (chars[i + 1] === '-' && chars[i + 2] !== undefined && chars[i + 2] !== ']') {
      let hi = chars[i + 2]!;
      let skip = 2;
      if (hi === '\\') {
        hi = chars[i + 3] ?? '';
        skip = 3;
        if (hi === '') throw new GlobError('trailing backslash');
      }
      if (hi === '/') throw new GlobError('/ inside [...]');
      if (hi.codePointAt(0)! < ch.codePointAt(0)!) throw new GlobError(`reversed range ${ch}-${hi}`);
      ranges.push(ch.codePointAt(0)!, hi.codePointAt(0)!);
      i += skip + 1;
    } else {
      const cp = ch.codePointAt(0)!;
      ranges.push(cp, cp);
      i++;
    }
  }
  if (ranges.length === 0) throw new GlobError('empty [...]');
  return { step: { t: 'one', negate, ranges }, end: i };
}
