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

// With the `u` flag only syntax characters (and `-` inside a class) may be escaped.
const escapeRegex = (s: string): string => s.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
const escapeClass = (s: string): string => s.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');

/** Compile a glob once (at policy load); throws GlobError with the reason. */
export function compileGlob(source: string): Glob {
  if (source.length === 0) throw new GlobError('empty glob');
  if (source.length > MAX_GLOB_LENGTH) throw new GlobError(`longer than ${MAX_GLOB_LENGTH} characters`);
  for (const ch of source) {
    const c = ch.codePointAt(0)!;
    if (c < 0x20 || c === 0x7f) throw new GlobError('control characters are not allowed');
  }
  const chars = [...source];
  let re = '';
  let literal = true;
  let plain = '';
  /** The literal characters before the first wildcard: a cheap reject before the regex. */
  let prefix: string | undefined;
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    if (ch === '\\') {
      const next = chars[i + 1];
      if (next === undefined) throw new GlobError('trailing backslash');
      re += escapeRegex(next);
      plain += next;
      i++;
    } else if (ch === '*') {
      prefix ??= plain;
      let run = 1;
      while (chars[i + run] === '*') run++;
      if (run > 2) throw new GlobError('more than two * in a row');
      re += run === 2 ? '[^]*' : '[^/]*';
      literal = false;
      i += run - 1;
    } else if (ch === '?') {
      prefix ??= plain;
      re += '[^/]';
      literal = false;
    } else if (ch === '[') {
      prefix ??= plain;
      const { pattern, end } = characterClass(chars, i);
      re += pattern;
      literal = false;
      i = end;
    } else {
      re += escapeRegex(ch);
      plain += ch;
    }
  }
  if (literal) return { source, literal: true, matches: (name) => name === plain };
  const regex = new RegExp(`^${re}$`, 'u');
  const head = prefix ?? '';
  return { source, literal: false, matches: (name) => name.startsWith(head) && regex.test(name) };
}

function characterClass(chars: string[], start: number): { pattern: string; end: number } {
  let i = start + 1;
  let negate = false;
  if (chars[i] === '!') {
    negate = true;
    i++;
  }
  const members: string[] = [];
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
      members.push(`${escapeClass(ch)}-${escapeClass(hi)}`);
      i += skip + 1;
    } else {
      members.push(escapeClass(ch));
      i++;
    }
  }
  if (members.length === 0) throw new GlobError('empty [...]');
  // A class never matches `/`, negated or not (a range such as `.-a` spans `/`).
  const pattern = `(?![/])[${negate ? '^' : ''}${members.join('')}]`;
  return { pattern, end: i };
}
