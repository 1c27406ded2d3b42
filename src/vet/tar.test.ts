// The strict tar reader refuses what could write outside the tree or hide from git status.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { extract, readTar, stripTopDirectory } from './tar.js';

/** One ustar header (+ data) the way tar writes it. */
function member(name: string, type: string, data = Buffer.alloc(0), link = ''): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(`${data.length.toString(8).padStart(11, '0')}\0`, 124);
  h.write('00000000000\0', 136);
  h.write(type, 156);
  h.write(link, 157, 100, 'utf8');
  h.write('ustar\0', 257);
  h.write('00', 263);
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return Buffer.concat([h, data, Buffer.alloc((512 - (data.length % 512)) % 512)]);
}
const tar = (...members: Buffer[]): Buffer => Buffer.concat([...members, Buffer.alloc(1024)]);

describe('strict tar reader', () => {
  it('reads files, directories and in-tree symlinks, gzip or not', () => {
    const t = tar(member('p/', '5'), member('p/a.txt', '0', Buffer.from('hi')), member('p/l', '2', undefined, 'a.txt'));
    for (const input of [t, gzipSync(t)]) {
      const { prefix, entries } = stripTopDirectory(readTar(input));
      expect(prefix).toBe('p');
      expect(entries.map((e) => [e.path, e.type])).toEqual([['a.txt', 'file'], ['l', 'symlink']]);
    }
  });

  it.each([
    ['p/../../etc/passwd', '0', '', /climbs out/],
    ['/etc/passwd', '0', '', /absolute path/],
    ['p/.git/hooks/post-checkout', '0', '', /\.git component/],
    ['p/l', '2', '../../outside', /points outside the tree/],
    ['p/l', '2', '/etc', /points outside the tree/],
    ['p/h', '1', 'p/a', /hard link/],
    ['p/dev', '3', '', /tar type/],
    ['p/fifo', '6', '', /tar type/],
  ])('refuses %s (type %s)', (name, type, link, message) => {
    expect(() => readTar(tar(member(name, type, undefined, link)))).toThrow(message);
  });

  it('refuses writing through a symlink extracted earlier, and a path given twice', () => {
    expect(() => readTar(tar(member('p/l', '2', undefined, 'sub'), member('p/l/x', '0', Buffer.from('x'))))).toThrow(/goes through the symbolic link/);
    expect(() => readTar(tar(member('p/a', '0', Buffer.from('1')), member('p/a', '0', Buffer.from('2'))))).toThrow(/appears twice/);
  });

  it('bounds content and entries, and refuses a broken checksum', () => {
    const big = tar(member('p/a', '0', Buffer.alloc(4096)));
    expect(() => readTar(big, { maxBytes: 1000, maxEntries: 10 })).toThrow(/more than 1000 bytes/);
    expect(() => readTar(gzipSync(big), { maxBytes: 10, maxEntries: 10 })).toThrow(/inflates past|more than 10 bytes/);
    expect(() => readTar(tar(member('a', '0'), member('b', '0')), { maxBytes: 1000, maxEntries: 1 })).toThrow(/more than 1 entries/);
    const bad = tar(member('a', '0'));
    bad[0] = 0x62;
    expect(() => readTar(bad)).toThrow(/does not checksum/);
  });

  it('extracts inside the directory only', () => {
    const dir = mkdtempSync(join(tmpdir(), 'signet-tar-'));
    try {
      extract(dir, stripTopDirectory(readTar(tar(member('p/d/a', '0', Buffer.from('x')), member('p/l', '2', undefined, 'd/a')))).entries);
      expect(readdirSync(dir).sort()).toEqual(['d', 'l']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
