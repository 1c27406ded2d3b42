// `signet sums`: between listing a directory and hashing a file, the file can be swapped (by
// whoever can write the release directory). A link to a private file must not put that file's
// digest into the signed list, and a FIFO must not hang the command.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashListed, listReleaseFiles } from './sums.js';

describe('sums: hashing what was listed', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'signet-sums-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('hashes the listed files; a file swapped for a link, a FIFO or another file is refused', () => {
    writeFileSync(join(dir, 'a.tar.gz'), 'a\n');
    writeFileSync(join(dir, 'b.tar.gz'), 'b\n');
    writeFileSync(join(dir, 'c.tar.gz'), 'c\n');
    const secret = join(dir, '..', `${dir.split('/').pop()}-secret`);
    writeFileSync(secret, 'private\n', { mode: 0o600 });
    const listed = listReleaseFiles(dir, false);
    expect(listed.map((f) => f.path)).toEqual(['a.tar.gz', 'b.tar.gz', 'c.tar.gz']);
    expect(hashListed(dir, listed[0]!, () => undefined)).toBe('87428fc522803d31065e7bce3cf03fe475096631e5e07bbd7a0fde60c4cf25c7');

    // After listing: a becomes a link to a private file, b a FIFO, c another file.
    unlinkSync(join(dir, 'a.tar.gz'));
    symlinkSync(secret, join(dir, 'a.tar.gz'));
    unlinkSync(join(dir, 'b.tar.gz'));
    execFileSync('mkfifo', [join(dir, 'b.tar.gz')]);
    unlinkSync(join(dir, 'c.tar.gz'));
    writeFileSync(join(dir, 'c2'), 'c\n');
    writeFileSync(join(dir, 'c.tar.gz'), 'other\n');
    expect(() => hashListed(dir, listed[0]!, () => undefined)).toThrow(expect.objectContaining({ code: 'FILE_UNREADABLE' }));
    expect(() => hashListed(dir, listed[1]!, () => undefined)).toThrow(expect.objectContaining({ code: 'FILE_UNREADABLE' }));
    expect(() => hashListed(dir, listed[2]!, () => undefined)).toThrow(expect.objectContaining({ code: 'FILE_UNREADABLE' }));
    rmSync(secret);
  });
});
