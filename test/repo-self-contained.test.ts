// The repository stands on its own: no tracked file cites a document the repository does not
// have (design notes, test plans, style guides, specs kept elsewhere, numbered issues of another
// tracker) or reaches outside the checkout for scripts and data (a `shared` folder beside it).
// Readers get the project's own docs (under docs/) or a public spec instead, and every docs page
// a file names exists. Patterns are assembled from pieces so this file does not match itself.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');

/** Tracked files (git ls-files), or every file outside node_modules, dist and .git in an export. */
function repositoryFiles(): string[] {
  const git = spawnSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8' });
  if (git.status === 0 && git.stdout.length > 0) return git.stdout.split('\0').filter((f) => f !== '');
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      if (['node_modules', 'dist', '.git', '.signet', 'coverage'].includes(name)) continue;
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else out.push(relative(root, path).split(sep).join('/'));
    }
  };
  walk(root);
  return out;
}

const md = '\\.' + 'md';
/** Documents that exist only outside this repository. */
const OUTSIDE: [string, RegExp][] = [
  ['design notes', new RegExp(`\\bdesign${md}`)],
  ['the security test plan', new RegExp('security' + '-tests')],
  ['the style guide', new RegExp(`\\bstyle${md}`)],
  ['the transparency log notes', new RegExp(`\\btlog${md}`)],
  ['a shared folder beside the checkout', new RegExp('(?:\\.\\./)+' + 'shared\\b')],
  ['a shared folder beside the checkout', new RegExp('(?<![\\w./-])' + 'shared' + '/[\\w.-]+\\.(?:md|txt|sh|json)')],
  ['a numbered issue of another tracker', new RegExp('\\bissues?' + ' #?\\d+', 'i')],
  ['a numbered issue of another tracker', new RegExp('(?<![\\w&/#\\[])' + '#\\d+\\b')],
];

const headingCache = new Map<string, string[] | undefined>();
/** The headings of a markdown file of the repository, without their #s; undefined if none such. */
function headingsOf(path: string): string[] | undefined {
  if (!headingCache.has(path)) {
    const full = join(root, path);
    headingCache.set(path, existsSync(full) ? [...readFileSync(full, 'utf8').matchAll(/^#{1,6} +(.+)$/gm)].map((h) => h[1]!.trim()) : undefined);
  }
  return headingCache.get(path);
}

function problems(file: string, text: string): string[] {
  const found: string[] = [];
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    for (const [what, re] of OUTSIDE) if (re.test(line)) found.push(`${file}:${i + 1}: cites ${what}: ${line.trim().slice(0, 120)}`);
    // The formats page exists only under docs/ (or as a relative link between docs).
    let stripped = line.replaceAll('docs/formats' + '.md', '');
    if (file.startsWith('docs/')) stripped = stripped.replaceAll('[formats' + '.md](formats' + '.md', '').replaceAll('](formats' + '.md', '');
    if (new RegExp(`formats${md}`).test(stripped)) found.push(`${file}:${i + 1}: cites a formats document outside docs/: ${line.trim().slice(0, 120)}`);
    // Every docs page named exists, and so does every relative link between docs.
    for (const m of line.matchAll(/\bdocs\/([\w-]+\.md)/g)) if (!existsSync(join(root, 'docs', m[1]!))) found.push(`${file}:${i + 1}: names missing docs/${m[1]}`);
    // A section cited by name (README "CLI", docs/formats.md "RPM") is a heading of that document.
    for (const m of line.matchAll(/((?:src\/[\w/.-]+\/)?README(?:\.md)?|docs\/[\w-]+\.md),? "([^"]+)"/g)) {
      const target = m[1]!.endsWith('.md') ? m[1]! : `${m[1]}.md`;
      const headings = headingsOf(target);
      if (headings !== undefined && !headings.some((h) => h.startsWith(m[2]!))) found.push(`${file}:${i + 1}: cites a section ${target} does not have: "${m[2]}"`);
    }
    if (file.startsWith('docs/')) {
      for (const m of line.matchAll(/\]\(([\w./-]+\.md)(?:#[\w-]*)?\)/g)) if (!existsSync(join(root, 'docs', m[1]!))) found.push(`${file}:${i + 1}: links missing ${m[1]}`);
    }
  });
  return found;
}

describe('the repository stands on its own', () => {
  const files = repositoryFiles();

  it('finds the files to check', () => {
    expect(files).toContain('README.md');
    expect(files).toContain('docs/architecture.md');
  });

  it('no tracked file cites a document outside the repository or reaches outside it', () => {
    const found: string[] = [];
    for (const file of files) {
      const path = join(root, file);
      if (!existsSync(path)) continue;
      const bytes = readFileSync(path);
      if (bytes.includes(0)) continue; // binary (fixtures)
      found.push(...problems(file, bytes.toString('utf8')));
    }
    expect(found).toEqual([]);
  });

  it('catches each kind of outside citation', () => {
    const bad = [
      '// see design' + '.md invariant 3',
      '// (security' + '-tests.md §19)',
      '// (style' + '.md §3)',
      '// ' + 'shared' + '/notes' + '.md §5',
      'bash ../' + 'shared' + '/corpus/build.sh',
      '// (issue' + ' 5)',
      'fixed in #' + '42',
      '// formats' + '.md "RPM header signatures"',
      'see docs/' + 'no-such-doc.md',
      '// (README' + ' "No such section")',
      '// (docs/architecture.md' + ' "No such section")',
    ];
    for (const line of bad) expect(problems('src/x.ts', line), line).not.toEqual([]);
    const good = [
      "expect(r.rule).toBe('ci#0')",
      '// PKCS#8 sealed with AES-256-GCM',
      '// docs/formats' + '.md "RPM"',
      '// rpm-software-management/rpm#1671',
      '// RFC 9580 §5.2.3',
      '// (README "CLI"; docs/architecture.md "Data flow")',
    ];
    for (const line of good) expect(problems('src/x.ts', line), line).toEqual([]);
    expect(problems('docs/' + 'x.md', 'see [formats](formats' + '.md) and [formats' + '.md](formats' + '.md)')).toEqual([]);
    expect(problems('src/x.ts', '// see [formats](formats' + '.md)')).not.toEqual([]);
  });
});
