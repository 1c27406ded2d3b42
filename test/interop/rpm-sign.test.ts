// src/rpm against the real rpm 4.18 tools: rebuilding the signature header with rpmsign's own
// packet reproduces rpmsign's file byte for byte; an independently made gpg signature gives
// rpmkeys OK; tampering, wrong keys and already-signed packages fail as they must.
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSignetError } from '../../src/errors.js';
import {
  assemblePrefix,
  checkHeaderDigests,
  exerciseRpmPrefix,
  existingSignatures,
  findEntry,
  packageIdentity,
  parseRpmPrefix,
  rebuildSignatureHeader,
  rpmPrefixLength,
  signatureTagFor,
} from '../../src/rpm/index.js';
import type { SignatureAlgorithm } from '../../src/rpm/index.js';
import { requireTools } from '../helpers/tools.js';
import { makeKeyring, makeWorkspace, mustRun, rpmkeysCheck, rpmsign } from './rpm-setup.js';
import type { Keyring, Workspace } from './rpm-setup.js';

let ws: Workspace;
let keys: Keyring;

beforeAll(() => {
  requireTools('rpmbuild', 'rpmkeys', 'rpmsign', 'gpg');
  ws = makeWorkspace();
  keys = makeKeyring(ws.dir);
});
afterAll(() => {
  keys?.stopAgent();
  ws?.cleanup();
});

const smallPackage = () => ws.corpus.find((f) => f.includes('pkg-small1'))!;
const fingerprintFor = (algorithm: SignatureAlgorithm) => (algorithm === 'rsa4096' ? keys.rsa : keys.ed25519);
const publicKeyFor = (algorithm: SignatureAlgorithm) => (algorithm === 'rsa4096' ? keys.rsaPublic : keys.ed25519Public);

/** Rebuild `original` with `packet` and return the whole new file. */
function signedFile(original: Buffer, packet: Buffer, algorithm: SignatureAlgorithm, replace = false): { file: Buffer; inPlace: boolean } {
  const layout = parseRpmPrefix(original);
  const rebuilt = rebuildSignatureHeader(layout, packet, algorithm, { replace });
  return { file: Buffer.concat([assemblePrefix(layout, rebuilt), original.subarray(layout.payloadOffset)]), inPlace: rebuilt.inPlace };
}

function gpgDetachSign(algorithm: SignatureAlgorithm, data: Buffer): Buffer {
  const out = join(ws.dir, `detached-${algorithm}.sig`);
  mustRun('gpg', ['--batch', '--yes', '--no-armor', '-u', fingerprintFor(algorithm), '--detach-sign', '-o', out, '-'], {
    env: keys.env,
    input: data,
  });
  return readFileSync(out);
}

describe('the corpus parses', () => {
  it('every package: identity from the main header, digests match, prefix length agrees', () => {
    for (const path of ws.corpus) {
      const bytes = readFileSync(path);
      const layout = parseRpmPrefix(bytes);
      checkHeaderDigests(layout);
      const id = packageIdentity(layout.header);
      const queried = mustRun('rpm', ['-qp', '--nosignature', '--nodigest', '--qf', '%{nevra} %{payloaddigest}', path]).stdout.trim();
      expect(`${id.nevra} ${id.payloadDigest}`).toBe(queried);
      expect(layout.signaturePadding).toBe((8 - ((96 + layout.signatureHeader.bytes.length) % 8)) % 8);
      expect(rpmPrefixLength(bytes.subarray(0, 112))).toEqual({ complete: false, needBytes: layout.headerOffset + 16 });
      expect(rpmPrefixLength(bytes.subarray(0, layout.headerOffset + 16))).toEqual({ complete: true, length: layout.payloadOffset });
      // Only the prefix is needed.
      expect(parseRpmPrefix(bytes.subarray(0, layout.payloadOffset)).header.bytes.equals(layout.header.bytes)).toBe(true);
    }
  });
});

describe.each<SignatureAlgorithm>(['rsa4096', 'ed25519'])('%s', (algorithm) => {
  it('reproduces rpmsign --addsign byte for byte', () => {
    const original = readFileSync(smallPackage());
    const copy = join(ws.dir, `rpmsign-${algorithm}.rpm`);
    copyFileSync(smallPackage(), copy);
    rpmsign(keys, fingerprintFor(algorithm), copy);
    const bySigner = readFileSync(copy);
    const sigs = existingSignatures(parseRpmPrefix(bySigner).signatureHeader);
    expect(sigs.map((s) => s.tag)).toEqual([signatureTagFor(algorithm)]);
    const ours = signedFile(original, sigs[0]!.packet, algorithm);
    expect(ours.inPlace).toBe(true);
    expect(ours.file.length).toBe(original.length);
    expect(ours.file.equals(bySigner)).toBe(true);
  });

  it('an independent gpg signature of the header verifies with rpmkeys; tampering does not', () => {
    const original = readFileSync(smallPackage());
    const layout = parseRpmPrefix(original);
    const packet = gpgDetachSign(algorithm, layout.header.bytes);
    const { file, inPlace } = signedFile(original, packet, algorithm);
    expect(inPlace).toBe(true);
    expect(file.length).toBe(original.length);
    const signedPath = join(ws.dir, `independent-${algorithm}.rpm`);
    writeFileSync(signedPath, file);
    const label = algorithm === 'rsa4096' ? 'RSA/SHA512' : 'EdDSA/SHA256';
    const ok = rpmkeysCheck(ws.dir, `ok-${algorithm}`, [publicKeyFor(algorithm)], signedPath);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(new RegExp(`Header V4 ${label} Signature, key ID [0-9a-f]{8}: OK`));
    expect(ok.stdout).toMatch(/Payload SHA256 digest: OK/);

    // One payload byte: the header signature still holds, the payload digest does not.
    const payloadFlipped = Buffer.from(file);
    payloadFlipped[payloadFlipped.length - 100]! ^= 0x01;
    const payloadPath = join(ws.dir, `payload-flipped-${algorithm}.rpm`);
    writeFileSync(payloadPath, payloadFlipped);
    const payloadCheck = rpmkeysCheck(ws.dir, `payload-${algorithm}`, [publicKeyFor(algorithm)], payloadPath);
    expect(payloadCheck.status).not.toBe(0);
    expect(payloadCheck.stdout).toMatch(/Payload SHA256 digest: BAD/);

    // One byte of the summary string inside the main header: the signature is BAD.
    const summary = findEntry(layout.header, 1004)!;
    const headerFlipped = Buffer.from(file);
    headerFlipped[layout.headerOffset + layout.header.bytes.length - layout.header.data.length + summary.offset]! ^= 0x01;
    const headerPath = join(ws.dir, `header-flipped-${algorithm}.rpm`);
    writeFileSync(headerPath, headerFlipped);
    const headerCheck = rpmkeysCheck(ws.dir, `header-${algorithm}`, [publicKeyFor(algorithm)], headerPath);
    expect(headerCheck.status).not.toBe(0);
    expect(headerCheck.stdout).toMatch(new RegExp(`Header V4 ${label} Signature, key ID [0-9a-f]{8}: BAD`));

    // The other key imported instead: NOKEY, not OK.
    const other = algorithm === 'rsa4096' ? 'ed25519' : 'rsa4096';
    const wrongKey = rpmkeysCheck(ws.dir, `wrong-${algorithm}`, [publicKeyFor(other)], signedPath);
    expect(wrongKey.status).not.toBe(0);
    expect(wrongKey.stdout).toMatch(/NOKEY/);
    expect(wrongKey.stdout).not.toMatch(/Signature, key ID [0-9a-f]{8}: OK/);
  });
});

describe('already signed packages', () => {
  it('refuses RPM_ALREADY_SIGNED without replace; with replace the new signature verifies', () => {
    const signedByRsa = join(ws.dir, 'already-signed.rpm');
    copyFileSync(smallPackage(), signedByRsa);
    rpmsign(keys, keys.rsa, signedByRsa);
    const bytes = readFileSync(signedByRsa);
    const layout = parseRpmPrefix(bytes);
    const packet = gpgDetachSign('ed25519', layout.header.bytes);
    let caught: unknown;
    try {
      rebuildSignatureHeader(layout, packet, 'ed25519');
    } catch (err) {
      caught = err;
    }
    expect(isSignetError(caught, 'RPM_ALREADY_SIGNED')).toBe(true);

    const { file, inPlace } = signedFile(bytes, packet, 'ed25519', true);
    expect(inPlace).toBe(true);
    expect(file.length).toBe(bytes.length);
    expect(existingSignatures(parseRpmPrefix(file).signatureHeader).map((s) => s.tag)).toEqual([267]);
    const path = join(ws.dir, 'replaced.rpm');
    writeFileSync(path, file);
    const check = rpmkeysCheck(ws.dir, 'replaced', [keys.ed25519Public], path);
    expect(check.status).toBe(0);
    expect(check.stdout).toMatch(/Header V4 EdDSA\/SHA256 Signature, key ID [0-9a-f]{8}: OK/);
    expect(check.stdout).not.toMatch(/RSA/);
  });

  it('replacing the same signature tag with replace keeps rpmkeys happy', () => {
    const path = join(ws.dir, 'resign-same-tag.rpm');
    copyFileSync(smallPackage(), path);
    rpmsign(keys, keys.rsa, path);
    const bytes = readFileSync(path);
    const packet = gpgDetachSign('rsa4096', parseRpmPrefix(bytes).header.bytes);
    const { file, inPlace } = signedFile(bytes, packet, 'rsa4096', true);
    expect(inPlace).toBe(true);
    writeFileSync(path, file);
    const check = rpmkeysCheck(ws.dir, 'resigned', [keys.rsaPublic], path);
    expect(check.status).toBe(0);
    expect(check.stdout).toMatch(/Header V4 RSA\/SHA512 Signature, key ID [0-9a-f]{8}: OK/);
  });
});

describe('mutations of real packages', () => {
  it('parse and rebuild only succeed or fail with an RPM code, each fast', () => {
    const many = ws.corpus.find((f) => f.includes('pkg-many'))!;
    const bytes = readFileSync(many);
    const layout = parseRpmPrefix(bytes);
    const prefix = bytes.subarray(0, layout.payloadOffset);
    const packet = gpgDetachSign('ed25519', layout.header.bytes);
    const probe = { packet, algorithm: 'ed25519' as const };
    expect(exerciseRpmPrefix(prefix, probe)).toEqual({ ok: true, inPlace: true });
    const indexEnd = layout.headerOffset + 16 + 16 * layout.header.entries.length;
    const at = fc.oneof(fc.integer({ min: 0, max: prefix.length - 1 }), fc.integer({ min: 96, max: indexEnd - 1 }));
    let malformed = 0;
    fc.assert(
      fc.property(fc.array(fc.tuple(at, fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), (mutations) => {
        const input = Buffer.from(prefix);
        for (const [pos, value] of mutations) input[pos] = value;
        const started = performance.now();
        const outcome = exerciseRpmPrefix(input, probe);
        // A hang guard, not a benchmark (bench/fuzz-rpm.mjs measures speed): generous, since
        // CI runs test files side by side on two cores.
        expect(performance.now() - started).toBeLessThan(2000);
        if (!outcome.ok) malformed++;
      }),
      { numRuns: 1500 },
    );
    expect(malformed).toBeGreaterThan(100);
  });
});
