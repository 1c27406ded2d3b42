// The rpm 6 signature-header layout (tag 278 with every signature, the legacy tag for the v4
// one), against structurally valid packets; test/interop/rpm6.test.ts compares it with rpm 6.1's
// own `rpmsign --rpmv6` output and verifies it with rpmkeys.
import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { buildPackage } from '../../test/fixtures/rpm/build-package.js';
import { checkSignable, existingSignatures, parseRpmPrefix, readStringArray, rebuildSignatureHeader, rebuildSignatureHeaderWith } from './index.js';

function v4Rsa(): Buffer {
  const body = Buffer.from([4, 0x00, 1, 10, 0, 0, 0, 0, 0xab, 0xcd, 0, 8, 0xff]);
  return Buffer.concat([Buffer.from([0xc2, body.length]), body]);
}

/** A structurally valid v6 binary Ed25519/SHA-512 signature packet (not verified here). */
function v6Ed25519(fill = 1): Buffer {
  const body = Buffer.concat([Buffer.from([6, 0x00, 27, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0xab, 0xcd, 32]), Buffer.alloc(32, fill), Buffer.alloc(64, fill)]);
  return Buffer.concat([Buffer.from([0xc2, body.length]), body]);
}

describe('rpm 6 layout (tag 278)', () => {
  it('v4 RSA then v6 Ed25519: 268 holds the RSA packet, 278 both in order, and the size is unchanged', () => {
    const layout = parseRpmPrefix(buildPackage().file);
    const rsa = v4Rsa();
    const ed = v6Ed25519();
    const rebuilt = rebuildSignatureHeaderWith(layout, [{ packet: rsa, algorithm: 'rsa4096' }, { packet: ed, algorithm: 'ed25519' }], { rpmv6: true });
    expect(rebuilt.inPlace).toBe(true);
    const reparsed = parseRpmPrefix(Buffer.concat([layout.lead, rebuilt.signatureHeader, layout.header.bytes]));
    const sig = reparsed.signatureHeader;
    expect(sig.entries.map((e) => e.tag)).toEqual([62, 268, 269, 273, 278, 1000, 1004, 1007, 1008]);
    expect(sig.entries.find((e) => e.tag === 278)).toMatchObject({ type: 8, count: 2 });
    expect(readStringArray(sig, 278)).toEqual([rsa.toString('base64'), ed.toString('base64')]);
    expect(existingSignatures(sig).map((s) => [s.tag, s.packet.toString('hex')])).toEqual([
      [268, rsa.toString('hex')], [278, rsa.toString('hex')], [278, ed.toString('hex')],
    ]);
    // Reserved-space arithmetic: the old header's index + data total is kept exactly.
    expect(sig.bytes.length).toBe(layout.signatureHeader.bytes.length);
    const before = layout.signatureHeader.entries.find((e) => e.tag === 1008)!.count;
    const after = sig.entries.find((e) => e.tag === 1008)!.count;
    const strings = rsa.toString('base64').length + 1 + ed.toString('base64').length + 1;
    // Two index entries (32) + the 268 packet + the 278 strings, give or take the realignment of
    // the INT32 entries after them (under 4 bytes each).
    expect(Math.abs(before - after - (32 + rsa.length + strings))).toBeLessThan(8);
    // A package so signed counts as signed (278 alone included).
    expect(() => checkSignable(reparsed)).toThrow(expect.objectContaining({ code: 'RPM_ALREADY_SIGNED' }));
  });

  it('a v6 key alone: only tag 278, no legacy tag (rpm 4 cannot read v6)', () => {
    const layout = parseRpmPrefix(buildPackage().file);
    const ed = v6Ed25519();
    const rebuilt = rebuildSignatureHeaderWith(layout, [{ packet: ed, algorithm: 'ed25519' }], { rpmv6: false });
    const sig = parseRpmPrefix(Buffer.concat([layout.lead, rebuilt.signatureHeader, layout.header.bytes])).signatureHeader;
    expect(sig.entries.map((e) => e.tag)).toEqual([62, 269, 273, 278, 1000, 1004, 1007, 1008]);
    expect(() => checkSignable(parseRpmPrefix(Buffer.concat([layout.lead, rebuilt.signatureHeader, layout.header.bytes])))).toThrow(expect.objectContaining({ code: 'RPM_ALREADY_SIGNED' }));
  });

  it('one v4 key keeps the rpm 4 layout unless rpmv6 is asked for', () => {
    const layout = parseRpmPrefix(buildPackage().file);
    const old = rebuildSignatureHeader(layout, v4Rsa(), 'rsa4096');
    const same = rebuildSignatureHeaderWith(layout, [{ packet: v4Rsa(), algorithm: 'rsa4096' }], { rpmv6: false });
    expect(same.signatureHeader.equals(old.signatureHeader)).toBe(true);
    const v6 = rebuildSignatureHeaderWith(layout, [{ packet: v4Rsa(), algorithm: 'rsa4096' }], { rpmv6: true });
    const sig = parseRpmPrefix(Buffer.concat([layout.lead, v6.signatureHeader, layout.header.bytes])).signatureHeader;
    expect(sig.entries.map((e) => e.tag)).toEqual([62, 268, 269, 273, 278, 1000, 1004, 1007, 1008]);
  });

  it('--replace drops tag 278 along with the legacy tags', () => {
    const layout = parseRpmPrefix(buildPackage().file);
    const first = rebuildSignatureHeaderWith(layout, [{ packet: v6Ed25519(1), algorithm: 'ed25519' }, { packet: v6Ed25519(2), algorithm: 'ed25519' }], { rpmv6: true });
    const signed = parseRpmPrefix(Buffer.concat([layout.lead, first.signatureHeader, layout.header.bytes]));
    const again = rebuildSignatureHeaderWith(signed, [{ packet: v6Ed25519(3), algorithm: 'ed25519' }], { rpmv6: true, replace: true });
    const sig = parseRpmPrefix(Buffer.concat([layout.lead, again.signatureHeader, layout.header.bytes])).signatureHeader;
    expect(readStringArray(sig, 278)).toEqual([v6Ed25519(3).toString('base64')]);
  });

  it('refuses packets that do not match their key type or version', () => {
    const layout = parseRpmPrefix(buildPackage().file);
    expect(() => rebuildSignatureHeaderWith(layout, [{ packet: v6Ed25519(), algorithm: 'ed448' }], { rpmv6: true })).toThrow(/public-key algorithm 27 in a v6 signature, expected 28/);
    expect(() => rebuildSignatureHeaderWith(layout, [{ packet: v6Ed25519(), algorithm: 'rsa4096' }], { rpmv6: true })).toThrow(expect.objectContaining({ code: 'OPENPGP_MALFORMED' }));
    expect(() => rebuildSignatureHeaderWith(layout, [], { rpmv6: true })).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
  });
});
