// Hand-built bad inputs, one rule broken at a time (docs/formats.md "RPM"): each must fail
// with RPM_MALFORMED (or the stated code) and the precise reason.
import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SignetError } from '../errors.js';
import type { ErrorCode } from '../errors.js';
import { buildHeader, buildPackage, defaultMainEntries, int32, str, strArray, bin } from '../../test/fixtures/rpm/build-package.js';
import type { EntrySpec } from '../../test/fixtures/rpm/build-package.js';
import { parseHeader, parseRpmPrefix, rebuildSignatureHeader, rpmPrefixLength } from './index.js';

function expectError(fn: () => unknown, code: ErrorCode, reason: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(SignetError);
  expect((caught as SignetError).code).toBe(code);
  expect((caught as SignetError).message).toMatch(reason);
}
const expectMalformed = (fn: () => unknown, reason: RegExp) => expectError(fn, 'RPM_MALFORMED', reason);

const parseMain = (header: Buffer) => parseHeader(header, 0, { isSignatureHeader: false });
const parseSig = (header: Buffer) => parseHeader(header, 0, { isSignatureHeader: true });

/** Overwrite one field of index entry `i` (0 = region entry) of a header starting at `at`. */
function setIndex(buf: Buffer, at: number, i: number, field: 'tag' | 'type' | 'offset' | 'count', value: number): Buffer {
  const pos = at + 16 + 16 * i + { tag: 0, type: 4, offset: 8, count: 12 }[field];
  if (field === 'offset') buf.writeInt32BE(value, pos);
  else buf.writeUInt32BE(value >>> 0, pos);
  return buf;
}

const dataStart = (header: Buffer) => 16 + 16 * header.readUInt32BE(8);
const minimalMain = (...entries: EntrySpec[]) => buildHeader(63, [str(1000, 'n'), ...entries]);

describe('valid hand-built package', () => {
  it('parses, and the layout matches what was built', () => {
    const pkg = buildPackage();
    const layout = parseRpmPrefix(pkg.file);
    expect(layout.signatureHeader.bytes.equals(pkg.signatureHeader)).toBe(true);
    expect(layout.header.bytes.equals(pkg.mainHeader)).toBe(true);
    expect(layout.payloadOffset).toBe(pkg.file.length - pkg.payload.length);
    expect(rpmPrefixLength(pkg.file)).toEqual({ complete: true, length: layout.payloadOffset });
  });
});

describe('lead', () => {
  it('bad magic', () => {
    const pkg = buildPackage();
    pkg.file[0] = 0;
    expectMalformed(() => parseRpmPrefix(pkg.file), /lead: bad magic/);
  });
  it('signature type other than header-style (5)', () => {
    const pkg = buildPackage();
    pkg.file.writeUInt16BE(1, 78);
    expectMalformed(() => parseRpmPrefix(pkg.file), /lead: signature type 1/);
  });
  it('short file', () => {
    expectMalformed(() => parseRpmPrefix(buildPackage().file.subarray(0, 50)), /truncated: lead/);
  });
});

describe('header preamble and caps', () => {
  it('bad magic and non-zero reserved bytes', () => {
    const h = minimalMain();
    h[1] = 0;
    expectMalformed(() => parseMain(h), /main header: bad magic/);
    const r = minimalMain();
    r[6] = 1;
    expectMalformed(() => parseMain(r), /main header: bad magic/);
  });
  it.each([0, 0x10000, 0x7fffffff, 0xffffffff])('entry count %d', (count) => {
    const h = minimalMain();
    h.writeUInt32BE(count, 8);
    expectMalformed(() => parseMain(h), /entry count \d+ out of range 1\.\.65535/);
  });
  it('signature header: more than 32 entries (rpm hdrblobVerifyLengths)', () => {
    const h = buildHeader(62, [bin(1008, Buffer.alloc(8))]);
    h.writeUInt32BE(33, 8);
    expectMalformed(() => parseSig(h), /signature header: entry count 33 out of range 1\.\.32/);
  });
  it('data size past the end of the input', () => {
    const h = minimalMain();
    h.writeUInt32BE(h.readUInt32BE(12) + 1, 12);
    expectMalformed(() => parseMain(h), /truncated: main header needs/);
  });
  it('data size 0xffffffff is refused by the cap before any read', () => {
    const h = minimalMain();
    h.writeUInt32BE(0xffffffff, 12);
    expectMalformed(() => parseMain(h), /exceed the limit of 67108864/);
  });
  it('explicit maxBytes', () => {
    const h = minimalMain(str(1004, 'x'.repeat(1000)));
    expectMalformed(() => parseHeader(h, 0, { isSignatureHeader: false, maxBytes: 512 }), /exceed the limit of 512/);
    expectMalformed(() => parseRpmPrefix(buildPackage().file, { maxHeaderBytes: 1024 }), /signature header: .* exceed the limit of 1024/);
    expectMalformed(() => rpmPrefixLength(buildPackage().file, { maxHeaderBytes: 1024 }), /exceed the limit of 1024/);
  });
});

describe('index entries', () => {
  it('offset + count × size past the data store, and counts that would overflow 32 bits', () => {
    const h = minimalMain(int32(1006, [1]));
    setIndex(h, 0, 2, 'count', 0x40000001); // × 4 = 2^32 + 4: wraps to 4 in 32-bit arithmetic
    expectMalformed(() => parseMain(h), /count 1073741825 out of range/);
    const g = minimalMain(int32(1006, [1]));
    setIndex(g, 0, 2, 'count', 6); // 24 bytes at offset 4 of a 24-byte data store
    expectMalformed(() => parseMain(g), /24 bytes at 4 run past the data/);
  });
  it('count 0', () => {
    expectMalformed(() => parseMain(setIndex(minimalMain(int32(1006, [1])), 0, 2, 'count', 0)), /count 0 out of range/);
  });
  it('array count above rpm HEADER_ARRAY_MAX', () => {
    const big = Buffer.alloc(0x100000 * 1 + 16, 0x61);
    const h = minimalMain({ tag: 1004, type: 2, count: big.length, bytes: big });
    expectMalformed(() => parseMain(h), /count 1048592 too large/);
  });
  it('negative int32 offset', () => {
    expectMalformed(() => parseMain(setIndex(minimalMain(int32(1006, [1])), 0, 2, 'offset', -4)), /negative offset -4/);
  });
  it('offset beyond the data store', () => {
    expectMalformed(() => parseMain(setIndex(minimalMain(int32(1006, [1])), 0, 2, 'offset', 0x7ffffffc)), /offset 2147483644 beyond data size/);
  });
  it('misaligned numeric data', () => {
    const h = minimalMain(str(1001, 'ab'), int32(1006, [1])); // int at 8 after "n\0ab\0" + pad
    expectMalformed(() => parseMain(setIndex(h, 0, 3, 'offset', 5)), /offset 5 misaligned for type 4/);
  });
  it('overlapping entries', () => {
    const h = minimalMain(str(1001, 'version'));
    expectMalformed(() => parseMain(setIndex(h, 0, 2, 'offset', 1)), /offset 1 overlaps the previous entry/);
  });
  it('STRING with no NUL inside the data', () => {
    const h = buildHeader(63, [str(1000, 'name')]);
    h[dataStart(h) + 4] = 0x78;
    expectMalformed(() => parseMain(h), /STRING without NUL inside the data/);
  });
  it('STRING with count other than 1', () => {
    expectMalformed(() => parseMain(setIndex(minimalMain(), 0, 1, 'count', 2)), /STRING with count 2/);
  });
  it('STRING_ARRAY count greater than its NULs', () => {
    const h = minimalMain(strArray(1005, ['a', 'b']));
    expectMalformed(() => parseMain(setIndex(h, 0, 2, 'count', 3)), /count 3 exceeds the 2 NUL-terminated strings/);
  });
  it.each([0, 10, 0xffffffff])('unknown type %d', (type) => {
    expectMalformed(() => parseMain(setIndex(minimalMain(), 0, 1, 'type', type)), /unknown type/);
  });
  it('reserved tag below 100', () => {
    expectMalformed(() => parseMain(setIndex(minimalMain(), 0, 1, 'tag', 99)), /reserved tag below 100/);
  });
  it('duplicate tag, never first-wins or last-wins', () => {
    expectMalformed(() => parseMain(buildHeader(63, [str(1000, 'a'), str(1000, 'b')])), /entry 2 \(tag 1000\): duplicate tag/);
    const sig = buildHeader(62, [bin(268, Buffer.alloc(4)), bin(268, Buffer.alloc(4))]);
    expectMalformed(() => parseSig(sig), /duplicate tag/);
  });
});

describe('regions', () => {
  it('region tag not first', () => {
    const h = buildHeader(63, [str(1000, 'n')]);
    setIndex(h, 0, 0, 'tag', 1000);
    setIndex(h, 0, 1, 'tag', 63);
    expectMalformed(() => parseMain(h), /first entry has tag 1000, expected region tag 63/);
    const second = setIndex(buildHeader(63, [str(1000, 'n'), bin(1100, Buffer.alloc(16))]), 0, 2, 'tag', 62);
    expectMalformed(() => parseMain(second), /entry 2 \(tag 62\): region tag is not the first entry/);
  });
  it('wrong region for the header kind', () => {
    expectMalformed(() => parseSig(minimalMain()), /first entry has tag 63, expected region tag 62/);
    expectMalformed(() => parseMain(buildHeader(62, [bin(1008, Buffer.alloc(4))])), /expected region tag 63/);
  });
  it('region entry of the wrong shape', () => {
    expectMalformed(() => parseMain(setIndex(minimalMain(), 0, 0, 'count', 15)), /region entry has type 7 count 15/);
  });
  it('trailer pointing out of range or not at the end of the data', () => {
    expectMalformed(() => parseMain(setIndex(minimalMain(), 0, 0, 'offset', 0x7ffffff0)), /region trailer at 2147483632, expected at the end/);
    expectMalformed(() => parseMain(setIndex(minimalMain(), 0, 0, 'offset', -16)), /region trailer at -16/);
  });
  it('trailer whose negative offset does not match the index (entries outside the region)', () => {
    const h = minimalMain(str(1001, 'v'));
    h.writeInt32BE(-32, dataStart(h) + h.readUInt32BE(12) - 8);
    expectMalformed(() => parseMain(h), /region trailer offset -32 does not match the index of 3 entries \(-48\)/);
  });
  it('trailer with the wrong tag', () => {
    const h = minimalMain();
    h.writeUInt32BE(62, dataStart(h) + h.readUInt32BE(12) - 16);
    expectMalformed(() => parseMain(h), /region trailer is \(62, 7, -32, 16\)/);
  });
  it('data overlapping the trailer', () => {
    const h = minimalMain(int32(1006, [1]));
    expectMalformed(() => parseMain(setIndex(h, 0, 2, 'count', 2)), /8 bytes at 4 run past the data \(8\)/);
  });
});

describe('signature header and package', () => {
  it('signature header not padded to 8', () => {
    const pkg = buildPackage({ reservedSpace: 4129 });
    const sigEnd = 96 + pkg.signatureHeader.length;
    expect(sigEnd % 8).not.toBe(0);
    const unpadded = Buffer.concat([pkg.lead, pkg.signatureHeader, pkg.mainHeader, pkg.payload]);
    // The main header's magic lands where the zero padding must be.
    expectMalformed(() => parseRpmPrefix(unpadded), /signature header padding is not zero/);
    const dirty = Buffer.from(pkg.file);
    dirty[sigEnd] = 1;
    expectMalformed(() => parseRpmPrefix(dirty), /signature header padding is not zero/);
  });
  it('prefix cut inside the main header', () => {
    const pkg = buildPackage();
    expectMalformed(() => parseRpmPrefix(pkg.file.subarray(0, pkg.file.length - pkg.payload.length - 1)), /truncated: main header/);
  });
  it.each([
    [268, 'RSAHEADER'],
    [267, 'DSAHEADER'],
    [269, 'SHA1HEADER'],
    [273, 'SHA256HEADER'],
    [259, 'SIGPGP'],
    [261, 'SIGMD5'],
    [262, 'SIGGPG'],
  ])('signature tag %d (%s) in the main header', (tag) => {
    const entries = [...defaultMainEntries(Buffer.from('p')), bin(tag, Buffer.alloc(8))].sort((a, b) => a.tag - b.tag);
    expectMalformed(() => parseMain(buildHeader(63, entries)), new RegExp(`tag ${tag}\\): signature tag in the main header`));
  });
  it('main-header tags (PAYLOADDIGEST) in the signature header', () => {
    const pkg = buildPackage({ extraSignatureEntries: [strArray(5092, ['00'])] });
    expectMalformed(() => parseRpmPrefix(pkg.file), /tag 5092\): tag not allowed in a signature header/);
  });
  it('signature tag of the wrong type', () => {
    expectMalformed(() => parseSig(buildHeader(62, [str(268, 'not a packet')])), /tag 268\): type 6, expected 7/);
  });
});

describe('signing refusals', () => {
  const packet = () => {
    // A structurally valid v4 binary RSA/SHA-512 signature packet (contents not verified here).
    const body = Buffer.from([4, 0x00, 1, 10, 0, 0, 0, 0, 0xab, 0xcd, 0, 8, 0xff]);
    return Buffer.concat([Buffer.from([0x88, body.length]), body]);
  };
  it('no payload digest in the immutable region → RPM_MALFORMED', () => {
    const payload = Buffer.from('p');
    const mainEntries = defaultMainEntries(payload).filter((e) => e.tag !== 5092 && e.tag !== 5093);
    const layout = parseRpmPrefix(buildPackage({ mainEntries, payload }).file);
    expectMalformed(() => rebuildSignatureHeader(layout, packet(), 'rsa4096'), /no payload digest/);
  });
  it('header digest in the signature header does not match', () => {
    const pkg = buildPackage();
    const layout = parseRpmPrefix(pkg.file);
    const sha256 = layout.signatureHeader.entries.find((e) => e.tag === 273)!;
    pkg.file[96 + 16 + 16 * layout.signatureHeader.entries.length + sha256.offset]! ^= 0x01;
    expectMalformed(() => rebuildSignatureHeader(parseRpmPrefix(pkg.file), packet(), 'rsa4096'), /header SHA256 digest \(tag 273\) does not match/);
  });
  it('a signature tag renamed to one of another type', () => {
    const pkg = buildPackage();
    const layout = parseRpmPrefix(pkg.file);
    setIndex(pkg.file, 96, layout.signatureHeader.entries.findIndex((e) => e.tag === 273), 'tag', 1001);
    expectMalformed(() => parseRpmPrefix(pkg.file), /tag 1001\): type 6, expected 7/);
  });
  it('no header SHA256 digest', () => {
    const pkg = buildPackage();
    const sig = buildHeader(62, [int32(1000, [1]), bin(1008, Buffer.alloc(64))]);
    const file = Buffer.concat([pkg.lead, sig, Buffer.alloc((8 - (sig.length % 8)) % 8), pkg.mainHeader, pkg.payload]);
    expectMalformed(() => rebuildSignatureHeader(parseRpmPrefix(file), packet(), 'rsa4096'), /no header SHA256 digest \(tag 273\)/);
  });
  it('already signed → RPM_ALREADY_SIGNED unless replace', () => {
    const layout = parseRpmPrefix(buildPackage({ extraSignatureEntries: [bin(267, Buffer.alloc(32, 1))] }).file);
    expectError(() => rebuildSignatureHeader(layout, packet(), 'rsa4096'), 'RPM_ALREADY_SIGNED', /tag 267/);
    expect(rebuildSignatureHeader(layout, packet(), 'rsa4096', { replace: true }).inPlace).toBe(true);
  });
  it('signature packets that are not one v4 binary signature of the named algorithm', () => {
    const layout = parseRpmPrefix(buildPackage().file);
    const p = packet();
    expectError(() => rebuildSignatureHeader(layout, p, 'ed25519'), 'OPENPGP_MALFORMED', /public-key algorithm 1 in a v4 signature, expected 22/);
    expectError(() => rebuildSignatureHeader(layout, Buffer.concat([p, Buffer.from([0])]), 'rsa4096'), 'OPENPGP_MALFORMED', /one packet only/);
    const textSig = Buffer.from(p);
    textSig[3] = 0x01;
    expectError(() => rebuildSignatureHeader(layout, textSig, 'rsa4096'), 'OPENPGP_MALFORMED', /signature type 1/);
    const sha1 = Buffer.from(p);
    sha1[5] = 2;
    expectError(() => rebuildSignatureHeader(layout, sha1, 'rsa4096'), 'OPENPGP_MALFORMED', /hash algorithm 2 not allowed/);
    expectError(() => rebuildSignatureHeader(layout, Buffer.from([0x99, 0x00, 0x01, 4]), 'rsa4096'), 'OPENPGP_MALFORMED', /packet tag 6/);
    expectError(() => rebuildSignatureHeader(layout, Buffer.from([0x89]), 'rsa4096'), 'OPENPGP_MALFORMED', /truncated header/);
  });
  it('without RESERVEDSPACE the header grows and is not in place', () => {
    const layout = parseRpmPrefix(buildPackage({ reservedSpace: null }).file);
    const rebuilt = rebuildSignatureHeader(layout, packet(), 'rsa4096');
    expect(rebuilt.inPlace).toBe(false);
    expect(rebuilt.signatureHeader.length % 8).toBe(0);
    const reparsed = parseRpmPrefix(Buffer.concat([layout.lead, rebuilt.signatureHeader, layout.header.bytes]));
    expect(reparsed.signatureHeader.entries.map((e) => e.tag)).toEqual([62, 268, 269, 273, 1000, 1004, 1007]);
  });
  it('RESERVEDSPACE too small to absorb the signature is kept as it was, as rpmsign does', () => {
    const layout = parseRpmPrefix(buildPackage({ reservedSpace: 8 }).file);
    const rebuilt = rebuildSignatureHeader(layout, packet(), 'rsa4096');
    expect(rebuilt.inPlace).toBe(false);
    const reparsed = parseRpmPrefix(Buffer.concat([layout.lead, rebuilt.signatureHeader, layout.header.bytes]));
    expect(reparsed.signatureHeader.entries.find((e) => e.tag === 1008)?.count).toBe(8);
  });
  it('in place: same size, RESERVEDSPACE shrunk by packet + alignment + 16', () => {
    const pkg = buildPackage();
    const layout = parseRpmPrefix(pkg.file);
    const rebuilt = rebuildSignatureHeader(layout, packet(), 'rsa4096');
    expect(rebuilt.inPlace).toBe(true);
    expect(rebuilt.signatureHeader.length).toBe(pkg.signatureHeader.length + layout.signaturePadding);
    const reparsed = parseRpmPrefix(Buffer.concat([layout.lead, rebuilt.signatureHeader, layout.header.bytes, pkg.payload]));
    expect(reparsed.headerOffset).toBe(layout.headerOffset);
    expect(reparsed.header.bytes.equals(layout.header.bytes)).toBe(true);
    expect(createHash('sha256').update(reparsed.header.bytes).digest('hex')).toBe(createHash('sha256').update(pkg.mainHeader).digest('hex'));
    const oldReserved = layout.signatureHeader.entries.find((e) => e.tag === 1008)!.count;
    const newReserved = reparsed.signatureHeader.entries.find((e) => e.tag === 1008)!.count;
    // 15-byte packet at data offset 0 shifts the 269 string; the INT32 1000 realigns by 1.
    expect(oldReserved - newReserved).toBe(15 + 1 + 16);
  });
});
