// Vetting against a real repository: a tag signed with gpg, tarballs from `git archive` (the
// reference for export-ignore and export-subst), and tampered copies re-packed with tar.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, appendFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publicKeysFromArmor } from '../openpgp/index.js';
import { makeReleaseRepo, type ReleaseRepo } from '../../test/helpers/git-release.js';
import { requireTools } from '../../test/helpers/tools.js';
import { vetTarball, type VetResult } from './vet.js';

let repo: ReleaseRepo;
let work: string;
const ALLOW = ['PKG-INFO', 'AUTHORS', 'ChangeLog', '*.egg-info/**'];

beforeAll(() => {
  requireTools('tar');
  repo = makeReleaseRepo();
  work = mkdtempSync(join(tmpdir(), 'signet-vet-test-'));
}, 60_000);
afterAll(() => {
  repo?.cleanup();
  if (work) rmSync(work, { recursive: true, force: true });
});

function vet(tarball: Buffer, tag = '1.0.0', keyring = repo.keyring): VetResult {
  return vetTarball({ tarball, repo: repo.dir, tag, keyring: publicKeysFromArmor(keyring), allowGenerated: ALLOW });
}

let n = 0;
/** git archive's tarball, unpacked, changed by `edit`, packed again (as an sdist step would). */
function tampered(edit: (top: string) => void, tag = '1.0.0'): Buffer {
  const dir = join(work, `t${n++}`);
  mkdirSync(dir);
  writeFileSync(join(dir, 'in.tgz'), repo.archive(tag));
  expect(spawnSync('tar', ['-xzf', 'in.tgz'], { cwd: dir }).status).toBe(0);
  rmSync(join(dir, 'in.tgz'));
  const top = join(dir, 'nova-1.0.0');
  edit(top);
  const r = spawnSync('tar', ['-czf', '-', 'nova-1.0.0'], { cwd: dir, maxBuffer: 1 << 26 });
  expect(r.status).toBe(0);
  return Buffer.from(r.stdout);
}

describe('signet vet', () => {
  it('the tag verifies with git verify-tag too (the cross-check of signet\'s verifier)', () => {
    expect(() => repo.git(['verify-tag', '1.0.0'])).not.toThrow();
    expect(() => repo.git(['verify-tag', '1.0.0-unsigned'])).toThrow();
  });

  it('passes the git archive tarball plus an allowed generated file, honouring export-ignore and export-subst', () => {
    const archive = repo.archive('1.0.0');
    // The reference: git archive left out internal/ and expanded version.py.
    const listing = spawnSync('tar', ['-tzf', '-'], { input: archive }).stdout.toString();
    expect(listing).not.toContain('internal/');
    const plain = vet(archive);
    expect(plain).toMatchObject({ verdict: 'pass', signer: repo.managerFpr, problems: [] });
    const withPkgInfo = tampered((top) => {
      writeFileSync(join(top, 'PKG-INFO'), 'Metadata-Version: 2.1\nName: nova\n');
      mkdirSync(join(top, 'nova.egg-info'));
      writeFileSync(join(top, 'nova.egg-info', 'SOURCES.txt'), 'setup.py\n');
    });
    const r = vet(withPkgInfo);
    expect(r.reason).toBeUndefined();
    expect(r.verdict).toBe('pass');
    expect(r.generated).toEqual(['PKG-INFO', 'nova.egg-info/SOURCES.txt']);
    expect(r.tagObject).toBe(repo.git(['rev-parse', 'refs/tags/1.0.0']).trim());
  });

  it('fails an extra file, naming it', () => {
    const r = vet(tampered((top) => writeFileSync(join(top, 'nova', 'backdoor.py'), 'import os\n')));
    expect(r.verdict).toBe('fail');
    expect(r.problems).toEqual([{ path: 'nova/backdoor.py', change: 'added' }]);
    expect(r.reason).toContain('added nova/backdoor.py');
  });

  it('fails an extra file that .gitignore would hide (ignored files are listed too)', () => {
    const r = vet(tampered((top) => writeFileSync(join(top, 'nova', 'evil.pyc'), 'x')));
    expect(r.verdict).toBe('fail');
    expect(r.problems).toEqual([{ path: 'nova/evil.pyc', change: 'added', detail: 'ignored' }]);
  });

  it('fails a changed file and a missing file, listing each', () => {
    const r = vet(
      tampered((top) => {
        appendFileSync(join(top, 'nova', 'api.py'), 'import os; os.system("id")\n');
        rmSync(join(top, 'README.rst'));
      }),
    );
    expect(r.verdict).toBe('fail');
    expect(r.problems).toEqual([
      { path: 'README.rst', change: 'missing' },
      { path: 'nova/api.py', change: 'changed' },
    ]);
  });

  it('fails a changed .gitignore, and still lists the file it tried to hide', () => {
    const r = vet(
      tampered((top) => {
        appendFileSync(join(top, '.gitignore'), 'hidden.py\n');
        writeFileSync(join(top, 'hidden.py'), 'evil\n');
      }),
    );
    expect(r.verdict).toBe('fail');
    expect(r.problems).toEqual([
      { path: '.gitignore', change: 'changed', detail: "the .gitignore differs from the tag's" },
      { path: 'hidden.py', change: 'added' },
    ]);
  });

  it('fails a new nested .gitignore that ignores itself and a file beside it', () => {
    const r = vet(
      tampered((top) => {
        writeFileSync(join(top, 'nova', '.gitignore'), '*\n');
        writeFileSync(join(top, 'nova', 'x.py'), 'evil\n');
      }),
    );
    expect(r.verdict).toBe('fail');
    expect(r.problems.map((p) => p.path)).toEqual(['nova/.gitignore', 'nova/x.py']);
  });

  it('fails an export-ignored file shipped anyway, and an export-subst file left unexpanded', () => {
    const head = repo.git(['rev-parse', '1.0.0^{commit}']).trim();
    const r = vet(
      tampered((top) => {
        mkdirSync(join(top, 'internal'));
        writeFileSync(join(top, 'internal', 'notes.txt'), 'not shipped\n');
      }),
    );
    expect(r.problems).toEqual([{ path: 'internal/notes.txt', change: 'added', detail: 'export-ignore' }]);
    const version = readFileSync(join(repo.dir, 'nova', 'version.py'), 'utf8');
    const r2 = vet(tampered((top) => writeFileSync(join(top, 'nova', 'version.py'), version)));
    expect(r2.problems).toEqual([{ path: 'nova/version.py', change: 'changed' }]);
    // The expanded form git archive wrote is what passed above; it names the tag's commit.
    const shipped = spawnSync('tar', ['-xzOf', '-', 'nova-1.0.0/nova/version.py'], { input: repo.archive('1.0.0') }).stdout.toString();
    expect(shipped).toContain(head);
  });

  it('fails a tarball from an unsigned tag', () => {
    const r = vet(repo.archive('1.0.0-unsigned'), '1.0.0-unsigned');
    expect(r).toMatchObject({ verdict: 'fail', reason: 'tag 1.0.0-unsigned is not signed' });
  });

  it('fails a tag signed by a key outside the keyring (git verify-tag with the stranger key would accept it)', () => {
    expect(() => repo.git(['verify-tag', '1.0.0-stranger'])).not.toThrow();
    const r = vet(repo.archive('1.0.0-stranger'), '1.0.0-stranger');
    expect(r).toMatchObject({ verdict: 'fail', reason: 'the signature of tag 1.0.0-stranger was made by a key that is not in the keyring' });
    // With the stranger's key in the keyring, the same tag passes: the keyring is what decides.
    expect(vet(repo.archive('1.0.0-stranger'), '1.0.0-stranger', repo.keyring + repo.strangerKey).verdict).toBe('pass');
  });

  it('fails a tag object altered after signing', () => {
    const raw = repo.git(['cat-file', 'tag', '1.0.0']);
    const forged = raw.replace('nova 1.0', 'nova 1.0 (re-tagged)');
    const oid = repo.git(['hash-object', '-t', 'tag', '-w', '--stdin'], forged).trim();
    repo.git(['update-ref', 'refs/tags/1.0.0-forged', oid]);
    // The tag's own name line still says 1.0.0: a tag moved under another name is refused too.
    expect(vet(repo.archive('1.0.0'), '1.0.0-forged').reason).toBe('the tag object under 1.0.0-forged names itself "1.0.0"');
    const renamed = raw.replace('tag 1.0.0\n', 'tag 1.0.0-renamed\n');
    const oid2 = repo.git(['hash-object', '-t', 'tag', '-w', '--stdin'], renamed).trim();
    repo.git(['update-ref', 'refs/tags/1.0.0-renamed', oid2]);
    expect(vet(repo.archive('1.0.0'), '1.0.0-renamed').reason).toBe('the signature of tag 1.0.0-renamed does not verify (the tag was altered, or the signature is not for it)');
    expect(() => repo.git(['verify-tag', '1.0.0-renamed'])).toThrow();
  });
});
