// OpenPGP v6 (RFC 9580) and the composite ML-DSA signatures of draft-ietf-openpgp-pqc, checked
// against the published vectors (test/fixtures/openpgp-v6/README.md): every vector is accepted,
// every mutation of one is refused, and every signature signet makes passes the same verifier.
import { Buffer } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  armor,
  dearmor,
  generateKey,
  importSecretKey,
  parseSignaturePacket,
  parseTransferablePublicKey,
  signDetached,
  verifyClearsigned,
  verifyDetached,
  type KeyAlgorithm,
  type PublicKeyInfo,
} from './index.js';
import { readPackets } from './packet.js';

const dir = new URL('../../test/fixtures/openpgp-v6/', import.meta.url);
const text = (name: string): string => readFileSync(new URL(name, dir), 'utf8');
const bytes = (name: string): Buffer => dearmor(text(name)).bytes;
const TESTING = Buffer.from('Testing\n');

const A3_FINGERPRINT = 'cb186c4f0609a697e4d52dfa6c722b0c1f1e27c18a56708f6525ec27bad9acc9';
const PQ = [
  { level: '65', algorithm: 'mldsa65-ed25519', fingerprint: 'a3e2e14b6a493ff930fb27321f125e9a6880338be9fb7da3ae065ea65793242f' },
  { level: '87', algorithm: 'mldsa87-ed448', fingerprint: '0d7a8be1410cd68eed4845ab487b4b4cfaecd8ebad1a1166a84230499200ee20' },
] as const;

/** A small seeded generator (mulberry32), so a failing mutation can be replayed from its seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One random mutation: flip bits of a byte, drop a byte, insert one, or cut the tail. */
function mutate(input: Buffer, next: () => number): Buffer {
  const at = Math.floor(next() * input.length);
  const kind = Math.floor(next() * 4);
  if (kind === 0) {
    const out = Buffer.from(input);
    out[at] = out[at]! ^ (1 + Math.floor(next() * 255));
    return out;
  }
  if (kind === 1) return Buffer.concat([input.subarray(0, at), input.subarray(at + 1)]);
  if (kind === 2) return Buffer.concat([input.subarray(0, at), Buffer.from([Math.floor(next() * 256)]), input.subarray(at)]);
  return input.subarray(0, at);
}

function parsesTo(certificate: Buffer): PublicKeyInfo | null {
  try {
    return parseTransferablePublicKey(certificate).info;
  } catch {
    return null;
  }
}

describe('RFC 9580 Appendix A (v6 Ed25519)', () => {
  const cert = parseTransferablePublicKey(bytes('rfc9580-a3-cert.asc'));

  it('reads the sample certificate with the fingerprint the RFC states', () => {
    expect(cert.info.version).toBe(6);
    expect(cert.info.algorithm).toBe('ed25519');
    expect(cert.info.fingerprint.toString('hex')).toBe(A3_FINGERPRINT);
    expect(cert.info.keyId.toString('hex')).toBe(A3_FINGERPRINT.slice(0, 16));
    expect(cert.userIds).toEqual([]);
  });

  it('imports the sample secret key: same key, and what it signs verifies with the certificate', async () => {
    const key = importSecretKey(bytes('rfc9580-a4-secret-key.asc'));
    expect(key.info.fingerprint.toString('hex')).toBe(A3_FINGERPRINT);
    const data = randomBytes(1000);
    for (const type of [0x00, 0x01] as const) {
      const packet = await signDetached(data, key.privateKey, { type, hashAlgorithm: 'sha512', creationTime: 1_700_000_000, signer: key.info });
      const parsed = parseSignaturePacket(packet);
      expect(parsed.version).toBe(6);
      expect(parsed.salt?.length).toBe(32);
      expect(verifyDetached(data, packet, [cert.info]).ok).toBe(true);
      expect(verifyDetached(Buffer.concat([data, Buffer.from('x')]), packet, [cert.info])).toEqual({ ok: false, reason: 'BAD_SIGNATURE' });
    }
  });

  it('verifies the sample cleartext signed message (A.6) and refuses it edited', () => {
    const message = text('rfc9580-a6-cleartext.asc');
    const { text: signed, result } = verifyClearsigned(message, [cert.info]);
    expect(result.ok).toBe(true);
    expect(signed).toBe('What we need from the grocery store:\n\n- tofu\n- vegetables\n- noodles\n\n');
    expect(verifyClearsigned(message.replace('tofu', 'tofo'), [cert.info]).result.ok).toBe(false);
  });

  it('verifies the sample inline-signed message (A.7): one-pass signature, literal data, signature', () => {
    const [onePass, literal, signature] = readPackets(bytes('rfc9580-a7-inline-signed.asc'));
    expect([onePass?.tag, literal?.tag, signature?.tag]).toEqual([4, 11, 2]);
    // Literal data (RFC 9580 §5.9): format, name length, name, 4-byte date, then the data.
    const body = literal!.body;
    const data = body.subarray(2 + body[1]! + 4);
    expect(verifyDetached(data, signature!.raw, [cert.info]).ok).toBe(true);
  });
});

describe('draft-ietf-openpgp-pqc vectors (composite ML-DSA + EdDSA, experimental)', () => {
  for (const v of PQ) {
    describe(`ML-DSA-${v.level}`, () => {
      const pk = parseTransferablePublicKey(bytes(`v6-mldsa-${v.level}-sample-pk.asc`));
      const signature = bytes(`v6-mldsa-${v.level}-sample-signature.asc`);

      it('reads the certificate (ML-KEM subkey bound, not interpreted) with the stated fingerprint', () => {
        expect(pk.info.version).toBe(6);
        expect(pk.info.algorithm).toBe(v.algorithm);
        expect(pk.info.fingerprint.toString('hex')).toBe(v.fingerprint);
        expect(pk.userIds).toEqual(['PQC user (Test Key) <pqc-test-key@example.com>']);
      });

      it('verifies the detached signature of "Testing\\n", and not of anything else', () => {
        expect(verifyDetached(TESTING, signature, [pk.info]).ok).toBe(true);
        expect(verifyDetached(Buffer.from('Testing!\n'), signature, [pk.info])).toEqual({ ok: false, reason: 'BAD_SIGNATURE' });
      });

      it('imports the secret key (EdDSA secret and ML-DSA seed) and signs what the vector key verifies', async () => {
        const sk = importSecretKey(bytes(`v6-mldsa-${v.level}-sample-sk.asc`));
        expect(sk.info.fingerprint.toString('hex')).toBe(v.fingerprint);
        const packet = await signDetached(TESTING, sk.privateKey, { type: 0x00, hashAlgorithm: 'sha512', creationTime: 1_750_000_000, signer: sk.info });
        expect(verifyDetached(TESTING, packet, [pk.info]).ok).toBe(true);
      });

      it('does not take the encrypted sample message for a signature', () => {
        expect(verifyDetached(TESTING, bytes(`v6-mldsa-${v.level}-sample-message.asc`), [pk.info]).ok).toBe(false);
      });
    });
  }

  it('refuses a composite signature whose ML-DSA half is wrong, even with a valid EdDSA half', () => {
    const pk = parseTransferablePublicKey(bytes('v6-mldsa-65-sample-pk.asc'));
    const signature = bytes('v6-mldsa-65-sample-signature.asc');
    const edited = Buffer.from(signature);
    edited[edited.length - 100] = edited[edited.length - 100]! ^ 1; // inside the ML-DSA signature
    expect(verifyDetached(TESTING, edited, [pk.info]).ok).toBe(false);
  });
});

describe('mutations of every vector are refused (seeded; the seed is printed to replay a failure)', () => {
  const seed = Number(process.env.SIGNET_MUTATION_SEED ?? Math.floor(Math.random() * 2 ** 31));
  console.log(`v6 vector mutation seed: ${seed} (SIGNET_MUTATION_SEED=${seed} replays it)`);
  const cases = [
    { name: 'RFC 9580 A.3', cert: bytes('rfc9580-a3-cert.asc'), data: Buffer.from('What we need from the grocery store:\r\n\r\n- tofu\r\n- vegetables\r\n- noodles\r\n'), signature: dearmor(text('rfc9580-a6-cleartext.asc').slice(text('rfc9580-a6-cleartext.asc').indexOf('-----BEGIN PGP SIGNATURE'))).bytes },
    ...PQ.map((v) => ({ name: `ML-DSA-${v.level}`, cert: bytes(`v6-mldsa-${v.level}-sample-pk.asc`), data: Buffer.from('Testing\r\n'), signature: bytes(`v6-mldsa-${v.level}-sample-signature.asc`) })),
  ];
  for (const c of cases) {
    it(`${c.name}: the signature and the certificate, mutated`, () => {
      const next = rng(seed);
      const info = parseTransferablePublicKey(c.cert).info;
      // The unmutated pair verifies (as binary data: the canonical text).
      expect(verifyDetached(c.data, c.signature, [info]).ok).toBe(true);
      for (let i = 0; i < 150; i++) {
        const sig = mutate(c.signature, next);
        expect(verifyDetached(c.data, sig, [info]).ok, `signature mutation ${i} (seed ${seed})`).toBe(false);
      }
      // Whole packets of the original, from the start: dropping trailing subkeys leaves a valid
      // certificate of the same key (no byte of what remains changed), so that cut may verify.
      const boundaries = new Set(readPackets(c.cert).map((p) => c.cert.indexOf(p.raw) + p.raw.length));
      for (let i = 0; i < 60; i++) {
        const cert = mutate(c.cert, next);
        const mutated = parsesTo(cert);
        const wholePackets = cert.length < c.cert.length && boundaries.has(cert.length) && c.cert.subarray(0, cert.length).equals(cert);
        if (wholePackets) continue;
        // Otherwise a mutated certificate is refused whole, or it is no longer the key that signed.
        expect(mutated !== null && verifyDetached(c.data, c.signature, [mutated]).ok, `certificate mutation ${i} (seed ${seed})`).toBe(false);
      }
    });
  }
});

describe('keys signet generates with --profile rfc9580', () => {
  const algorithms: KeyAlgorithm[] = ['ed25519', 'ed448', 'mldsa65-ed25519', 'mldsa87-ed448'];
  for (const algorithm of algorithms) {
    it(`${algorithm}: a v6 certificate that parses back, and signatures that verify`, async () => {
      const key = await generateKey({ algorithm, userId: 'Release <release@example.org>', profile: 'rfc9580', creationTime: 1_760_000_000 });
      expect(key.info.version).toBe(6);
      expect(key.info.fingerprint.length).toBe(32);
      const parsed = parseTransferablePublicKey(key.transferablePublicKey);
      expect(parsed.info.fingerprint.equals(key.info.fingerprint)).toBe(true);
      expect(parsed.userIds).toEqual(['Release <release@example.org>']);
      // Packets: key, direct-key signature, user ID, certification.
      expect(readPackets(key.transferablePublicKey).map((p) => p.tag)).toEqual([6, 2, 13, 2]);
      const data = randomBytes(300);
      const packet = await signDetached(data, key.privateKey, { type: 0x00, hashAlgorithm: 'sha512', creationTime: 1_760_000_100, signer: key.info });
      expect(verifyDetached(data, packet, [parsed.info]).ok).toBe(true);
      expect(verifyDetached(data, Buffer.from(armor('SIGNATURE', packet)), [parsed.info]).ok).toBe(true);
      const other = await generateKey({ algorithm, userId: 'Other <o@example.org>', profile: 'rfc9580' });
      expect(verifyDetached(data, packet, [other.info]).ok).toBe(false);
    });
  }

  it('refuses key types a profile cannot hold', async () => {
    await expect(generateKey({ algorithm: 'rsa4096', userId: 'a <a@b>', profile: 'rfc9580' })).rejects.toMatchObject({ code: 'ALGORITHM_UNSUPPORTED' });
    await expect(generateKey({ algorithm: 'ed448', userId: 'a <a@b>' })).rejects.toMatchObject({ code: 'ALGORITHM_UNSUPPORTED' });
    await expect(generateKey({ algorithm: 'mldsa65-ed25519', userId: 'a <a@b>', profile: 'rfc4880' })).rejects.toMatchObject({ code: 'ALGORITHM_UNSUPPORTED' });
  });

  it('a v4 key still makes v4 signatures (the default profile is unchanged)', async () => {
    const key = await generateKey({ algorithm: 'ed25519', userId: 'a <a@example.org>' });
    expect(key.info.version).toBe(4);
    const packet = await signDetached(TESTING, key.privateKey, { type: 0x00, hashAlgorithm: 'sha256', creationTime: 1_760_000_000, signer: key.info });
    expect(packet[2]).toBe(4);
    expect(parseSignaturePacket(packet).salt).toBeNull();
  });

  it('refuses a v6 signature presented for the v4 key with the same key material, and the reverse', async () => {
    const v6 = importSecretKey(bytes('rfc9580-a4-secret-key.asc'));
    const packet = await signDetached(TESTING, v6.privateKey, { type: 0x00, hashAlgorithm: 'sha512', creationTime: 1_700_000_000, signer: v6.info });
    const { publicKeyInfo } = await import('./public-key.js');
    const v4 = publicKeyInfo(v6.privateKey as import('node:crypto').KeyObject, v6.info.creationTime);
    expect(verifyDetached(TESTING, packet, [v4]).ok).toBe(false);
  });
});
