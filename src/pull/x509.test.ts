// The CA's certificate writer: what it writes parses and verifies (node:crypto's X509Certificate;
// openssl in test/e2e/pull-relay.test.ts), and what it must not write it refuses.
import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { keyIdentifier, newKeyPair, writeCertificate } from './x509.js';
import { nameOf, roleOf } from './roles.js';

const day = 86_400_000;

function ca(algorithm: 'ed25519' | 'p256') {
  const { privateKey, publicKey } = newKeyPair(algorithm);
  const der = writeCertificate({ name: 'test-ca', notBefore: new Date(Date.now() - day), notAfter: new Date(Date.now() + day), publicKey }, { name: 'test-ca', key: privateKey, keyId: keyIdentifier(publicKey) });
  return { cert: new X509Certificate(der), issuer: { name: 'test-ca', key: privateKey, keyId: keyIdentifier(publicKey) } };
}

describe('X.509 writer', () => {
  for (const algorithm of ['ed25519', 'p256'] as const) {
    it(`${algorithm}: a CA and one certificate per role, each signed by the CA, roles read back`, () => {
      const root = ca(algorithm);
      expect(root.cert.ca).toBe(true);
      expect(root.cert.verify(root.cert.publicKey)).toBe(true);
      for (const role of ['relay', 'signer', 'client'] as const) {
        const { publicKey } = newKeyPair(algorithm === 'ed25519' ? 'p256' : 'ed25519');
        const der = writeCertificate({ name: `${role}-1`, role, ips: ['192.0.2.7'], notBefore: new Date(Date.now() - day), notAfter: new Date(Date.now() + day), publicKey }, root.issuer);
        const cert = new X509Certificate(der);
        expect(cert.ca).toBe(false);
        expect(cert.verify(root.cert.publicKey)).toBe(true);
        expect(cert.checkIssued(root.cert)).toBe(true);
        expect(roleOf(cert)).toBe(role);
        expect(nameOf(cert)).toBe(`${role}-1`);
        expect(cert.checkIP('192.0.2.7')).toBe('192.0.2.7');
        expect(cert.checkHost(`${role}-1`)).toBe(`${role}-1`);
      }
    });
  }

  it('dates from 2050 are GeneralizedTime, before UTCTime; both read back', () => {
    const root = ca('ed25519');
    const { publicKey } = newKeyPair('ed25519');
    const cert = new X509Certificate(writeCertificate({ name: 'late', role: 'client', notBefore: new Date('2049-12-31T23:59:59Z'), notAfter: new Date('2051-06-01T00:00:00Z'), publicKey }, root.issuer));
    expect(new Date(cert.validFrom).toISOString()).toBe('2049-12-31T23:59:59.000Z');
    expect(new Date(cert.validTo).toISOString()).toBe('2051-06-01T00:00:00.000Z');
  });

  it('refuses names that are not host-name words, reversed validity and addresses that are not IPv4', () => {
    const root = ca('ed25519');
    const { publicKey } = newKeyPair('ed25519');
    const spec = { name: 'ok', role: 'signer' as const, notBefore: new Date(Date.now() - day), notAfter: new Date(Date.now() + day), publicKey };
    for (const name of ['', 'A', 'a b', 'a,OU=signet-relay', '-a', 'a-', 'x'.repeat(65), 'a\nb']) {
      expect(() => writeCertificate({ ...spec, name }, root.issuer), name).toThrow(expect.objectContaining({ code: 'NAME_INVALID' }));
    }
    expect(() => writeCertificate({ ...spec, dns: ['ok', 'Bad Name'] }, root.issuer)).toThrow(expect.objectContaining({ code: 'NAME_INVALID' }));
    expect(() => writeCertificate({ ...spec, notAfter: spec.notBefore }, root.issuer)).toThrow(expect.objectContaining({ code: 'USAGE' }));
    for (const ip of ['256.1.1.1', '1.2.3', '::1', 'example.org']) {
      expect(() => writeCertificate({ ...spec, ips: [ip] }, root.issuer), ip).toThrow(expect.objectContaining({ code: 'USAGE' }));
    }
  });

  it('a certificate whose OU or usages do not fit a role has none', () => {
    const root = ca('ed25519');
    // The CA certificate: OU signet-ca, no extended key usage.
    expect(roleOf(root.cert)).toBeUndefined();
  });
});
