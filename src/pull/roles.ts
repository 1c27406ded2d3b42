// Which role a pull-mode certificate has (src/pull/x509.ts writes it): the subject's single
// organizationalUnitName `signet-ROLE`, and the extended key usages that role needs (RFC 5280
// 4.2.1.12). Both ends check it, after TLS has checked the chain to the pull CA and the validity.
import type { X509Certificate } from 'node:crypto';

export type PeerRole = 'relay' | 'signer' | 'client';

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

function subjectField(cert: X509Certificate, field: string): string[] {
  return cert.subject
    .split('\n')
    .filter((l) => l.startsWith(`${field}=`))
    .map((l) => l.slice(field.length + 1));
}

export function roleOf(cert: X509Certificate): PeerRole | undefined {
  const ous = subjectField(cert, 'OU');
  if (ous.length !== 1) return undefined;
  const m = /^signet-(relay|signer|client)$/.exec(ous[0]!);
  if (!m) return undefined;
  const role = m[1] as PeerRole;
  const eku = cert.keyUsage ?? [];
  const needs = role === 'relay' ? [SERVER_AUTH] : role === 'signer' ? [SERVER_AUTH, CLIENT_AUTH] : [CLIENT_AUTH];
  return needs.every((u) => eku.includes(u)) ? role : undefined;
}

export function nameOf(cert: X509Certificate): string {
  return subjectField(cert, 'CN')[0] ?? '?';
}
