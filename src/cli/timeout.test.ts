import { describe, expect, it } from 'vitest';
import { isSignetError } from '../errors.js';
import { parseTimeout } from './timeout.js';

describe('parseTimeout', () => {
  it('reads seconds, minutes, hours and milliseconds; a bare number is seconds', () => {
    expect(parseTimeout('30s')).toBe(30_000);
    expect(parseTimeout('2m')).toBe(120_000);
    expect(parseTimeout('1h')).toBe(3_600_000);
    expect(parseTimeout('500ms')).toBe(500);
    expect(parseTimeout('1.5')).toBe(1500);
  });

  it('refuses what is not a duration, zero and more than a day, as a usage error', () => {
    for (const bad of ['', 'soon', '0', '0s', '-1s', '25h', '1d', '1e3']) {
      let err: unknown;
      try {
        parseTimeout(bad);
      } catch (e) {
        err = e;
      }
      expect(isSignetError(err, 'USAGE'), bad).toBe(true);
    }
  });
});
