// The client side of midstate signing: file hashing (state, tail and digest as node:crypto sees
// the file), a file that changes while it is read, unreadable input, and --midstate-threshold sizes.
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { isSignetError, type ErrorCode } from '../errors.js';
import { ResumableSha2 } from '../sha2/resumable.js';
import { hashFile, parseSize } from './midstate.js';

const dir = mkdtempSync(join(tmpdir(), 'signet-midstate-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function expectCode(promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isSignetError(err, code), `expected ${code}, got ${String(err)}`).toBe(true);
}

describe('hashFile', () => {
  test.each([
    ['sha512', 0],
    ['sha512', 1],
    ['sha512', 128],
    ['sha512', 256 * 1024 - 1],
    ['sha512', 256 * 1024 * 3 + 77],
    ['sha256', 63],
    ['sha256', 256 * 1024 + 64],
  ] as const)('%s of %i bytes: state after the full blocks, tail, digest of the file', async (algorithm, size) => {
    const data = randomBytes(size);
    const file = join(dir, `f-${algorithm}-${size}`);
    writeFileSync(file, data);
    const hashed = await hashFile(file, algorithm);
    const block = algorithm === 'sha512' ? 128 : 64;
    expect(hashed.bytes).toBe(size);
    expect(hashed.midstate.length).toBe(size - (size % block));
    expect(hashed.tail.equals(data.subarray(size - (size % block)))).toBe(true);
    expect(hashed.digest.equals(createHash(algorithm).update(data).digest())).toBe(true);
    expect(ResumableSha2.resume(hashed.midstate).update(hashed.tail).digest().equals(hashed.digest)).toBe(true);
  });

  test('a file that grows while it is hashed is refused (FILE_CHANGED)', async () => {
    const file = join(dir, 'growing');
    writeFileSync(file, randomBytes(1024 * 1024));
    let appended = false;
    await expectCode(
      hashFile(file, 'sha512', () => {
        if (!appended) appendFileSync(file, 'more');
        appended = true;
      }),
      'FILE_CHANGED',
    );
  });

  test('a file rewritten in place (same size, new mtime) while it is hashed is refused', async () => {
    const file = join(dir, 'rewritten');
    writeFileSync(file, randomBytes(1024 * 1024));
    utimesSync(file, new Date(1_000_000_000_000), new Date(1_000_000_000_000));
    await expectCode(
      hashFile(file, 'sha512', () => utimesSync(file, new Date(), new Date())),
      'FILE_CHANGED',
    );
  });

  test('missing files and directories are FILE_UNREADABLE', async () => {
    await expectCode(hashFile(join(dir, 'missing'), 'sha512'), 'FILE_UNREADABLE');
    await expectCode(hashFile(dir, 'sha512'), 'FILE_UNREADABLE');
  });
});

describe('parseSize', () => {
  test.each([
    ['0', 0],
    ['1048576', 1048576],
    ['512k', 512 * 1024],
    ['8M', 8 * 1024 * 1024],
    ['8MiB', 8 * 1024 * 1024],
    ['1g', 1024 ** 3],
    [' 2 GiB ', 2 * 1024 ** 3],
  ])('%j is %i bytes', (text, bytes) => {
    expect(parseSize(text)).toBe(bytes);
  });

  test.each(['', '-1', '1.5M', '8 MB', 'lots', '8T', '1e6', '9999999999999999G'])('%j is a usage error', (text) => {
    let err: unknown;
    try {
      parseSize(text);
    } catch (e) {
      err = e;
    }
    expect(isSignetError(err, 'USAGE')).toBe(true);
  });
});
