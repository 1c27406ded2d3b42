// compactPrefix: what `signet rpm sign` sends — the file's prefix without RESERVEDSPACE, every
// other signature-header entry and the main header unchanged, and still signable.
import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { isSignetError } from '../errors.js';
import { bin, buildPackage, defaultMainEntries } from '../../test/fixtures/rpm/build-package.js';
import { checkSignable, compactPrefix, parseRpmPrefix, rpmPrefixLength, SigTag } from './index.js';

const payload = Buffer.from('payload');
const prefixOf = (file: Buffer) => {
  const p = rpmPrefixLength(file);
  if (!p.complete) throw new Error('incomplete');
  return file.subarray(0, p.length);
};

describe('compactPrefix', () => {
  it('is the same package built without RESERVEDSPACE', () => {
    const mainEntries = defaultMainEntries(payload);
    const withReserve = buildPackage({ payload, mainEntries });
    const without = buildPackage({ payload, mainEntries, reservedSpace: null });
    const compact = compactPrefix(parseRpmPrefix(withReserve.file));
    expect(compact.equals(prefixOf(without.file))).toBe(true);
    expect(compact.length).toBeLessThan(prefixOf(withReserve.file).length - 4000);
    const layout = parseRpmPrefix(compact);
    expect(layout.payloadOffset).toBe(compact.length);
    expect(layout.signatureHeader.entries.some((e) => e.tag === SigTag.RESERVEDSPACE)).toBe(false);
    expect(layout.header.bytes.equals(withReserve.mainHeader)).toBe(true);
    expect(() => checkSignable(layout)).not.toThrow();
  });

  it('keeps an existing signature, so the server still refuses to sign over it', () => {
    const signed = buildPackage({ payload, extraSignatureEntries: [bin(SigTag.RSA, Buffer.alloc(540, 1))] });
    const layout = parseRpmPrefix(compactPrefix(parseRpmPrefix(signed.file)));
    let err: unknown;
    try {
      checkSignable(layout);
    } catch (e) {
      err = e;
    }
    expect(isSignetError(err, 'RPM_ALREADY_SIGNED')).toBe(true);
  });

  it('returns the prefix unchanged when there is no RESERVEDSPACE', () => {
    const without = buildPackage({ payload, reservedSpace: null });
    expect(compactPrefix(parseRpmPrefix(without.file)).equals(prefixOf(without.file))).toBe(true);
  });
});
