import { describe, expect, it } from 'vitest';
import { signingThreads } from './digest-signer.js';

describe('signingThreads', () => {
  it('takes SIGNET_SIGNING_THREADS, else two per core up to 16', () => {
    expect(signingThreads({ SIGNET_SIGNING_THREADS: '3' })).toBe(3);
    const byCores = signingThreads({});
    expect(byCores).toBeGreaterThanOrEqual(1);
    expect(byCores).toBeLessThanOrEqual(16);
    expect(signingThreads({ SIGNET_SIGNING_THREADS: '' })).toBe(byCores);
  });

  it('refuses a value that is not an integer from 1 to 64', () => {
    for (const bad of ['0', '65', '2.5', 'four', '-1']) {
      expect(() => signingThreads({ SIGNET_SIGNING_THREADS: bad }), bad).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    }
  });
});
