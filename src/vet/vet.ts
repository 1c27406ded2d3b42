// `signet vet`: is this tarball exactly what the signed release tag holds? (docs/vetting.md)
// The check OpenStack's release tooling runs before it signs a tarball:
//   1. the tag is an annotated tag whose OpenPGP signature verifies against the project's keyring
//      (signet's own verifier; git appends the armored signature to the tag object and signs the
//      object text before it, see git's Documentation/gitformat-signature.txt);
//   2. the tarball is unpacked by a strict reader (tar.ts) into an empty directory;
//   3. the tag's `.gitignore` files are put over the tarball's (a tampered one could hide a file;
//      a tarball whose `.gitignore` differs from the tag's is reported as changed first);
//   4. a fresh git directory borrowing the repository's objects (alternates), HEAD at the tag's
//      commit, index read from its tree: `git status --porcelain --ignored --untracked-files=all`
//      over the unpacked tree must list nothing but files the project allows to be generated.
//      `--ignored` matters: without it a file matched by any ignore rule would not be listed
//      (`traditional` with `--untracked-files=all`: every ignored file by name, not its directory).
// `git archive` semantics: paths with the export-ignore attribute (or under a directory with it)
// are expected to be missing; files with export-subst are expected to hold their `$Format:…$`
// placeholders expanded for the tag's commit. Attributes come from the tag's tree (the index
// read from it, `git check-attr --cached`) and the repository's info/attributes, as git archive.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { SignetError, isErrorCode } from '../errors.js';
import { dearmor, verifyDetached, type PublicKeyInfo } from '../openpgp/index.js';
import { compileGlob, GlobError, type Glob } from '../policy/glob.js';
import { extract, readTar, stripTopDirectory, type TarEntry, type TarLimits, DEFAULT_TAR_LIMITS } from './tar.js';

export interface VetInput {
  readonly tarball: Buffer;
  /** A git checkout or bare repository holding the tag. */
  readonly repo: string;
  readonly tag: string;
  readonly keyring: readonly PublicKeyInfo[];
  /** Globs (docs/policy.md syntax) of files the sdist process may add: PKG-INFO, AUTHORS, ChangeLog. */
  readonly allowGenerated: readonly string[];
  readonly limits?: TarLimits;
}

export type Change = 'added' | 'changed' | 'missing';

export interface VetProblem {
  readonly path: string;
  readonly change: Change;
  /** `ignored` when git's ignore rules matched the added file; `mode`, `type` for such changes. */
  readonly detail?: string;
}

export interface VetResult {
  readonly verdict: 'pass' | 'fail';
  /** One line saying why it failed (absent when it passed). */
  readonly reason?: string;
  /** SHA-256 of the tarball's bytes as given (compressed, if it is). */
  readonly sha256: string;
  readonly tag: string;
  /** The annotated tag object's id, once resolved. */
  readonly tagObject?: string;
  readonly commit?: string;
  /** Fingerprint of the key that made the tag's signature, once verified. */
  readonly signer?: string;
  readonly allowGenerated: readonly string[];
  readonly problems: readonly VetProblem[];
  /** Added files the allowed patterns accepted. */
  readonly generated: readonly string[];
}

const SIG_BEGIN = '-----BEGIN PGP SIGNATURE-----';

/** The git commands vetting runs: no system or user configuration (an attacker-writable
 *  ~/.gitconfig must not change what status reports), no prompts, C locale. */
function git(args: readonly string[], options: { gitDir?: string; workTree?: string; input?: string; home: string }): Buffer {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: options.home,
    LC_ALL: 'C',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
    GIT_ATTR_NOSYSTEM: '1',
  };
  const pre = [
    ...(options.gitDir ? ['--git-dir', options.gitDir] : []),
    ...(options.workTree ? ['--work-tree', options.workTree] : []),
    // Compare what git archive would have written: modes and symlinks as recorded, bytes as stored.
    '-c', 'core.fileMode=true', '-c', 'core.symlinks=true', '-c', 'core.autocrlf=false', '-c', 'core.ignoreCase=false',
    '-c', 'core.precomposeUnicode=false', '-c', 'core.protectNTFS=true', '-c', 'core.bare=false',
  ];
  const r = spawnSync('git', [...pre, ...args], { env, input: options.input, maxBuffer: 512 * 1024 * 1024 });
  if (r.error) throw new SignetError('VET_FAILED', `cannot run git: ${(r.error as NodeJS.ErrnoException).code ?? r.error.message}`);
  if (r.status !== 0) {
    const first = Buffer.from(r.stderr).toString('utf8').split('\n')[0]?.slice(0, 200) ?? '';
    throw new GitFailed(first);
  }
  return Buffer.from(r.stdout);
}

class GitFailed extends Error {}

/** The repository's git directory (a checkout's .git, or a bare repository itself). */
function gitDirOf(repo: string, home: string): string {
  try {
    const out = git(['-C', repo, 'rev-parse', '--absolute-git-dir'], { home }).toString('utf8').trim();
    return realpathSync(out);
  } catch (err) {
    if (err instanceof GitFailed) throw new SignetError('VET_FAILED', `${repo} is not a git repository`);
    throw err;
  }
}

/** Split a tag object into the signed payload and the armored signature git appended. */
export function splitTagSignature(raw: Buffer): { payload: Buffer; signature?: string } {
  const text = raw.toString('latin1');
  const at = text.startsWith(SIG_BEGIN) ? 0 : text.indexOf(`\n${SIG_BEGIN}`);
  if (at === -1) return { payload: raw };
  const cut = at === 0 ? 0 : at + 1;
  return { payload: raw.subarray(0, cut), signature: raw.subarray(cut).toString('utf8') };
}

function tagHeader(payload: Buffer): Map<string, string> {
  const head = payload.toString('utf8').split('\n\n')[0] ?? '';
  const out = new Map<string, string>();
  for (const line of head.split('\n')) {
    const sp = line.indexOf(' ');
    if (sp > 0 && !out.has(line.slice(0, sp))) out.set(line.slice(0, sp), line.slice(sp + 1));
  }
  return out;
}

interface TreeEntry {
  readonly mode: string;
  readonly type: string;
  readonly oid: string;
  readonly path: string;
}

function parseLsTree(out: Buffer): TreeEntry[] {
  return out
    .toString('utf8')
    .split('\0')
    .filter((l) => l !== '')
    .map((l) => {
      const tab = l.indexOf('\t');
      const [mode, type, oid] = l.slice(0, tab).split(' ') as [string, string, string];
      return { mode, type, oid, path: l.slice(tab + 1) };
    });
}

/** `git check-attr -z` output: path NUL attr NUL value NUL … */
function parseCheckAttr(out: Buffer): Map<string, Map<string, string>> {
  const parts = out.toString('utf8').split('\0');
  const map = new Map<string, Map<string, string>>();
  for (let i = 0; i + 2 < parts.length; i += 3) {
    const [path, attr, value] = [parts[i]!, parts[i + 1]!, parts[i + 2]!];
    if (!map.has(path)) map.set(path, new Map());
    map.get(path)!.set(attr, value);
  }
  return map;
}

const isSet = (v: string | undefined): boolean => v !== undefined && v !== 'unspecified' && v !== 'unset';

/** Expand `$Format:…$` placeholders as git archive's export-subst does (archive.c format_subst):
 *  each is replaced by `git log -1 --pretty=format:…` of the commit. */
function expandSubst(content: Buffer, expand: (fmt: string) => string): Buffer {
  const text = content.toString('utf8');
  let out = '';
  let at = 0;
  for (;;) {
    const b = text.indexOf('$Format:', at);
    if (b === -1) break;
    const e = text.indexOf('$', b + 8);
    if (e === -1) break;
    out += text.slice(at, b) + expand(text.slice(b + 8, e));
    at = e + 1;
  }
  return Buffer.from(out + text.slice(at), 'utf8');
}

function compileAllowed(patterns: readonly string[]): Glob[] {
  return patterns.map((p) => {
    try {
      return compileGlob(p);
    } catch (err) {
      if (err instanceof GlobError) throw new SignetError('USAGE', `--allow-generated ${JSON.stringify(p)}: ${err.message}`);
      throw err;
    }
  });
}

/** Run the whole check. Never throws for a tarball or tag that fails: the verdict says why. */
export function vetTarball(input: VetInput): VetResult {
  const sha256 = createHash('sha256').update(input.tarball).digest('hex');
  const allowed = compileAllowed(input.allowGenerated);
  const base = { sha256, tag: input.tag, allowGenerated: [...input.allowGenerated] };
  const fail = (reason: string, more: Partial<VetResult> = {}): VetResult => ({ ...base, problems: [], generated: [], ...more, verdict: 'fail', reason });
  const tmp = mkdtempSync(join(tmpdir(), 'signet-vet-'));
  try {
    const home = join(tmp, 'home');
    mkdirSync(home);
    const repoGitDir = gitDirOf(input.repo, home);
    // 1. The tag: annotated, signed, by a key in the keyring, and named what was asked.
    let tagObject: string;
    try {
      tagObject = git(['--git-dir', repoGitDir, 'rev-parse', '--verify', '--end-of-options', `refs/tags/${input.tag}`], { home }).toString('utf8').trim();
    } catch (err) {
      if (err instanceof GitFailed) return fail(`no tag ${input.tag} in the repository`);
      throw err;
    }
    const type = git(['--git-dir', repoGitDir, 'cat-file', '-t', tagObject], { home }).toString('utf8').trim();
    if (type !== 'tag') return fail(`${input.tag} is a lightweight tag: a release tag must be an annotated, signed tag`, { tagObject });
    const raw = git(['--git-dir', repoGitDir, 'cat-file', 'tag', tagObject], { home });
    const { payload, signature } = splitTagSignature(raw);
    if (signature === undefined) return fail(`tag ${input.tag} is not signed`, { tagObject });
    const header = tagHeader(payload);
    if (header.get('tag') !== input.tag) return fail(`the tag object under ${input.tag} names itself ${JSON.stringify(header.get('tag') ?? '')}`, { tagObject });
    if (header.get('type') !== 'commit') return fail(`tag ${input.tag} does not point at a commit`, { tagObject });
    let sigBytes: Buffer;
    try {
      sigBytes = dearmor(signature).bytes;
    } catch {
      return fail(`the signature of tag ${input.tag} is not an OpenPGP signature`, { tagObject });
    }
    const verified = verifyDetached(payload, sigBytes, [...input.keyring]);
    if (!verified.ok) {
      const why =
        verified.reason === 'NO_PUBKEY'
          ? 'was made by a key that is not in the keyring'
          : verified.reason === 'BAD_SIGNATURE'
            ? 'does not verify (the tag was altered, or the signature is not for it)'
            : verified.reason === 'WEAK_HASH'
              ? 'uses a hash too weak to trust'
              : 'is malformed';
      return fail(`the signature of tag ${input.tag} ${why}`, { tagObject });
    }
    const signer = verified.signer.fingerprint.toString('hex').toUpperCase();
    const commit = header.get('object')!;
    const at = { tagObject, commit, signer };

    // 2. Unpack.
    let entries: TarEntry[];
    try {
      entries = stripTopDirectory(readTar(input.tarball, input.limits ?? DEFAULT_TAR_LIMITS)).entries;
    } catch (err) {
      if (err instanceof SignetError && err.code === 'ARCHIVE_UNSAFE') return fail(`the tarball is refused: ${err.message}`, at);
      throw err;
    }

    // 3. A git directory of our own: HEAD at the tag's commit, the repository's objects borrowed.
    const gitDir = join(tmp, 'git');
    git(['init', '--quiet', '--bare', gitDir], { home });
    writeFileSync(join(gitDir, 'objects', 'info', 'alternates'), `${join(repoGitDir, 'objects')}\n`);
    const repoAttributes = join(repoGitDir, 'info', 'attributes');
    if (existsSync(repoAttributes)) writeFileSync(join(gitDir, 'info', 'attributes'), readFileSync(repoAttributes));
    const g = (args: readonly string[], workTree?: string, input2?: string): Buffer => git(args, { gitDir, home, ...(workTree ? { workTree } : {}), ...(input2 !== undefined ? { input: input2 } : {}) });
    g(['update-ref', '--no-deref', 'HEAD', commit]);
    g(['read-tree', commit]);
    const tree = parseLsTree(g(['ls-tree', '-r', '-t', '-z', '--full-tree', commit]));
    const attrs = parseCheckAttr(g(['check-attr', '--cached', '-z', '--stdin', 'export-ignore', 'export-subst'], undefined, tree.map((t) => `${t.path}\0`).join('')));
    const ignoredDirs: string[] = [];
    const exportIgnored = new Set<string>();
    const substituted = new Map<string, Buffer>();
    const expected = new Map<string, TreeEntry>();
    for (const t of tree) {
      const underIgnored = ignoredDirs.some((d) => t.path.startsWith(`${d}/`));
      if (underIgnored || isSet(attrs.get(t.path)?.get('export-ignore'))) {
        exportIgnored.add(t.path);
        if (t.type === 'tree') ignoredDirs.push(t.path);
        continue;
      }
      if (t.type === 'blob') expected.set(t.path, t);
    }
    const pretty = (fmt: string): string => g(['log', '-1', '--no-show-signature', `--pretty=format:${fmt}`, commit]).toString('utf8');
    for (const [path, t] of expected) {
      if (t.mode !== '120000' && isSet(attrs.get(path)?.get('export-subst'))) substituted.set(path, expandSubst(g(['cat-file', 'blob', t.oid]), pretty));
    }

    // The tag's .gitignore files replace the tarball's; a differing one is a change in itself.
    const problems: VetProblem[] = [];
    const byPath = new Map(entries.map((e) => [e.path, e]));
    for (const [path, t] of expected) {
      if (!(path === '.gitignore' || path.endsWith('/.gitignore'))) continue;
      const ours = g(['cat-file', 'blob', t.oid]);
      const theirs = byPath.get(path);
      if (theirs === undefined) continue; // reported as missing by status
      if (theirs.type !== 'file' || !theirs.data!.equals(ours)) problems.push({ path, change: 'changed', detail: 'the .gitignore differs from the tag\'s' });
      byPath.set(path, { path, type: 'file', mode: 0o644, data: ours });
    }
    const work = join(tmp, 'tree');
    mkdirSync(work);
    try {
      extract(work, [...byPath.values()]);
    } catch (err) {
      if (err instanceof SignetError && err.code === 'ARCHIVE_UNSAFE') return fail(`the tarball is refused: ${err.message}`, at);
      throw err;
    }

    // 4. git status over the unpacked tree.
    const status = g(['status', '--porcelain=v1', '-z', '--ignored=traditional', '--untracked-files=all', '--no-renames', '--ignore-submodules=none'], work)
      .toString('utf8')
      .split('\0')
      .filter((l) => l !== '');
    const generated: string[] = [];
    for (const line of status) {
      const xy = line.slice(0, 2);
      const path = line.slice(3);
      if (xy === '??' || xy === '!!') {
        if (allowed.some((a) => a.matches(path))) generated.push(path);
        else problems.push({ path, change: 'added', ...(xy === '!!' ? { detail: 'ignored' } : {}) });
        continue;
      }
      const y = xy[1];
      // An export-ignored path is expected missing; present, it is reported as added below.
      if (exportIgnored.has(path)) continue;
      if (y === 'D') {
        problems.push({ path, change: 'missing' });
        continue;
      }
      // export-subst files are judged against their expansion below.
      if (y === 'M' && substituted.has(path)) continue;
      problems.push({ path, change: 'changed', ...(y === 'T' ? { detail: 'type' } : {}) });
    }
    // An export-subst file must hold its expansion (git archive's bytes), whatever status says:
    // one shipped unexpanded is as stored, so status alone would pass it.
    for (const [path, want] of substituted) {
      const have = byPath.get(path);
      if (have?.type === 'file' && !have.data!.equals(want)) problems.push({ path, change: 'changed' });
    }
    // export-ignored paths present in the tarball: status sees them as tracked and unchanged.
    for (const path of exportIgnored) {
      const e = byPath.get(path);
      if (e !== undefined && e.type !== 'dir') problems.push({ path, change: 'added', detail: 'export-ignore' });
    }
    problems.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    generated.sort();
    if (problems.length > 0) {
      const counts = (['added', 'changed', 'missing'] as const).map((c) => [c, problems.filter((p) => p.change === c).length] as const).filter(([, n]) => n > 0);
      const first = problems[0]!;
      return fail(
        `the tarball does not match tag ${input.tag}: ${counts.map(([c, n]) => `${n} ${c}`).join(', ')} (first: ${first.change} ${first.path}${first.detail ? `, ${first.detail}` : ''})`,
        { ...at, problems, generated },
      );
    }
    return { ...base, ...at, verdict: 'pass', problems, generated };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

export interface VetJob {
  readonly tarball: Buffer;
  readonly repo: string;
  readonly tag: string;
  /** Armored keyring text. */
  readonly keyring: string;
  readonly allow: readonly string[];
}

/** vetTarball in a worker thread when the build has one (dist/vet/vet-worker.js), else here. */
export async function vetInWorker(job: VetJob): Promise<VetResult> {
  const url = new URL('./vet-worker.js', import.meta.url);
  if (!existsSync(fileURLToPath(url))) {
    const { publicKeysFromArmor } = await import('../openpgp/index.js');
    return vetTarball({ tarball: job.tarball, repo: job.repo, tag: job.tag, keyring: publicKeysFromArmor(job.keyring), allowGenerated: job.allow });
  }
  return new Promise((resolve, reject) => {
    const worker = new Worker(url, { workerData: { tarball: job.tarball, repo: job.repo, tag: job.tag, keyring: job.keyring, allow: [...job.allow] } });
    worker.once('message', (m: { result?: VetResult; error?: { code: string; message: string } }) => {
      void worker.terminate();
      if (m.result) resolve(m.result);
      else reject(new SignetError(isErrorCode(m.error?.code) ? m.error.code : 'INTERNAL', m.error?.message ?? 'vetting failed'));
    });
    worker.once('error', reject);
  });
}
