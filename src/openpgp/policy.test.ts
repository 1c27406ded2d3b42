// The consumer-policy check (src/openpgp/policy.ts): what apt's Sequoia policy and rpm-sequoia
// refuse is named; everything signet makes passes.
import { Buffer } from 'node:buffer';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { dearmor, generateKey, policyFindings, signDetached, type KeyAlgorithm, type KeyProfile } from './index.js';
import { encodePacket } from './packet.js';

const fixture = (name: string) => readFileSync(new URL(`../../test/fixtures/openpgp/${name}`, import.meta.url));
const whats = (bytes: Uint8Array) => policyFindings(bytes).map((f) => f.what);

describe('consumer policy', () => {
  it('names a SHA-1 signature (gpg --digest-algo SHA1 fixture)', () => {
    expect(whats(fixture('rsa-plain.data.sha1.sig'))).toEqual(['SHA-1 signature']);
    expect(whats(fixture('rsa-plain.data.sig'))).toEqual([]);
  });

  it('names v3 signatures, DSA, SHA-224, MD5 and short RSA keys', () => {
    // v3: version, 5, type, time, key ID, pk algorithm (17 DSA), hash (1 MD5), left 16, MPIs.
    const v3 = encodePacket(2, Buffer.concat([Buffer.from([3, 5, 0, 0, 0, 0, 1]), Buffer.alloc(8), Buffer.from([17, 1, 0, 0, 0, 8, 1])]));
    expect(whats(v3)).toEqual(['v3 signature packet', 'DSA key', 'MD5 signature']);
    const sha224 = encodePacket(2, Buffer.from([4, 0, 22, 11, 0, 0, 0, 0, 0, 0]));
    expect(whats(sha224)).toEqual(['SHA-224 signature']);
    const rsa1024 = encodePacket(6, Buffer.concat([Buffer.from([4, 0, 0, 0, 1, 1, 4, 0]), Buffer.alloc(128, 0xff), Buffer.from([0, 17, 1, 0, 1])]));
    expect(whats(rsa1024)).toEqual(['RSA key of 1024 bits (under 2048)']);
    expect(whats(fixture('rsa-plain.public.asc').toString('utf8').includes('BEGIN') ? dearmor(fixture('rsa-plain.public.asc').toString('utf8')).bytes : Buffer.alloc(0))).toEqual([]);
  });

  const made: [KeyAlgorithm, KeyProfile][] = [['rsa4096', 'rfc4880'], ['ed25519', 'rfc4880'], ['ed25519', 'rfc9580'], ['ed448', 'rfc9580'], ['mldsa65-ed25519', 'rfc9580'], ['mldsa87-ed448', 'rfc9580']];
  for (const [algorithm, profile] of made) {
    it(`every key and signature signet makes passes: ${algorithm} ${profile}`, async () => {
      const key = await generateKey({ algorithm, profile, userId: 'p <p@example.org>' });
      expect(whats(key.transferablePublicKey)).toEqual([]);
      for (const hashAlgorithm of algorithm === 'ed448' || algorithm === 'mldsa87-ed448' ? (['sha512'] as const) : (['sha256', 'sha512'] as const)) {
        const sig = await signDetached(Buffer.from('x'), key.privateKey, { type: 0, hashAlgorithm, creationTime: 1_760_000_000, signer: key.info });
        expect(whats(sig)).toEqual([]);
      }
    }, 60_000);
  }
});
