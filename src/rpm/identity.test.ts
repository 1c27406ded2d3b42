import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isSignetError } from '../errors.js';
import { buildPackage, defaultMainEntries, int32, str } from '../../test/fixtures/rpm/build-package.js';
import { headerDigests, packageIdentity, parseRpmPrefix, signatureTagFor } from './index.js';

const payload = Buffer.from('payload');
const withEntries = (change: (entries: ReturnType<typeof defaultMainEntries>) => ReturnType<typeof defaultMainEntries>) =>
  parseRpmPrefix(buildPackage({ payload, mainEntries: change(defaultMainEntries(payload)).sort((a, b) => a.tag - b.tag) }).file);

describe('packageIdentity', () => {
  it('reads NEVRA and the payload digest from the main header', () => {
    const layout = withEntries((e) => e);
    const id = packageIdentity(layout.header);
    expect(id).toEqual({
      name: 'hand',
      epoch: null,
      version: '1.0',
      release: '1',
      arch: 'noarch',
      nevra: 'hand-1.0-1.noarch',
      payloadDigest: createHash('sha256').update(payload).digest('hex'),
      payloadDigestAlgo: 8,
      headerSha256: createHash('sha256').update(layout.header.bytes).digest('hex'),
    });
    expect(headerDigests(layout.header).sha1).toBe(createHash('sha1').update(layout.header.bytes).digest('hex'));
  });
  it('puts the epoch in the NEVRA as rpm does', () => {
    expect(packageIdentity(withEntries((e) => [...e, int32(1003, [2])]).header).nevra).toBe('hand-2:1.0-1.noarch');
  });
  it('a source package without ARCH is "src"; a binary one without ARCH is refused', () => {
    expect(packageIdentity(withEntries((e) => e.filter((x) => x.tag !== 1022 && x.tag !== 1044)).header).arch).toBe('src');
    expect(() => packageIdentity(withEntries((e) => e.filter((x) => x.tag !== 1022)).header)).toThrow(/no arch/);
  });
  it('refuses control characters, wrong types and the signature header', () => {
    const control = withEntries((e) => [...e.filter((x) => x.tag !== 1000), str(1000, 'a\nb')]);
    expect(() => packageIdentity(control.header)).toThrow(/control characters/);
    const typed = withEntries((e) => [...e.filter((x) => x.tag !== 1000), int32(1000, [1])]);
    expect(() => packageIdentity(typed.header)).toThrow(/tag 1000 has type 4, expected 6/);
    let caught: unknown;
    try {
      packageIdentity(withEntries((e) => e).signatureHeader);
    } catch (err) {
      caught = err;
    }
    expect(isSignetError(caught, 'RPM_MALFORMED')).toBe(true);
  });
});

describe('signatureTagFor', () => {
  it('RSA → RSAHEADER 268, EdDSA → DSAHEADER 267 (rpmgensig.c putSignature)', () => {
    expect(signatureTagFor('rsa4096')).toBe(268);
    expect(signatureTagFor('ed25519')).toBe(267);
  });
});
