import { describe, expect, it } from 'vitest';
import { parseReleaseDate, parseValidFor, releaseDate, releaseField, rewriteReleaseValidity } from './apt.js';

const RELEASE = `Origin: Example
Suite: stable
Codename: stable
Date: Mon, 02 Nov 2026 10:00:00 +0000
Architectures: all
MD5Sum:
 1cdce5a23ef7ee4eea7858ac177431d5              444 main/binary-all/Packages
SHA256:
 ab              444 main/binary-all/Packages
`;

describe('apt Release validity', () => {
  const now = new Date(Date.UTC(2026, 10, 30, 19, 28, 27));

  it('replaces Date and adds Valid-Until next to it, keeping everything else', () => {
    const out = rewriteReleaseValidity(RELEASE, now, 7 * 86400);
    expect(releaseField(out, 'Date')).toBe('Mon, 30 Nov 2026 19:28:27 UTC');
    expect(releaseField(out, 'Valid-Until')).toBe('Mon, 07 Dec 2026 19:28:27 UTC');
    expect(out.replace(/^Date:.*\nValid-Until:.*\n/m, '')).toBe(RELEASE.replace(/^Date:.*\n/m, ''));
    expect(out.indexOf('Valid-Until')).toBeLessThan(out.indexOf('Architectures'));
  });

  it('replaces an existing Valid-Until and is idempotent in shape', () => {
    const once = rewriteReleaseValidity(RELEASE, now, 3600);
    const twice = rewriteReleaseValidity(once, new Date(now.getTime() + 1000), 3600);
    expect(twice.match(/^Valid-Until:/gm)).toHaveLength(1);
    expect(twice.match(/^Date:/gm)).toHaveLength(1);
    expect(releaseField(twice, 'Valid-Until')).toBe('Mon, 30 Nov 2026 20:28:28 UTC');
  });

  it('inserts both before the checksum lists when Date is missing', () => {
    const out = rewriteReleaseValidity('Suite: x\nMD5Sum:\n a 1 b\n', now, 60);
    expect(out).toBe('Suite: x\nDate: Mon, 30 Nov 2026 19:28:27 UTC\nValid-Until: Mon, 30 Nov 2026 19:29:27 UTC\nMD5Sum:\n a 1 b\n');
  });

  it('parses durations and dates', () => {
    expect(parseValidFor('7d')).toBe(604800);
    expect(parseValidFor('12h')).toBe(43200);
    expect(parseValidFor('90')).toBe(90);
    expect(() => parseValidFor('soon')).toThrow(expect.objectContaining({ code: 'USAGE' }));
    expect(() => parseValidFor('0s')).toThrow(expect.objectContaining({ code: 'USAGE' }));
    expect(parseReleaseDate(releaseDate(now))?.getTime()).toBe(now.getTime());
    expect(parseReleaseDate('Mon, 02 Nov 2026 10:00:00 +0000')?.toISOString()).toBe('2026-11-02T10:00:00.000Z');
    expect(parseReleaseDate('yesterday')).toBeNull();
  });
});
