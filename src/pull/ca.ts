// `signet ca init` and `signet ca issue`: the private CA of pull mode's mutual TLS
// (docs/pull-mode.md). DIR/ca.pem + DIR/ca.key (0600); DIR/NAME.pem + DIR/NAME.key (0600).
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { SignetError } from '../errors.js';
import { writeFileAtomic } from '../fsutil.js';
import { checkCertName, keyIdentifier, loadPrivateKey, newKeyPair, privateKeyPem, publicOf, toPem, writeCertificate, type CertAlgorithm, type Role } from './x509.js';

const DAY = 86_400_000;

export interface CaFiles {
  readonly cert: string;
  readonly key: string;
}

export function initCa(dir: string, options: { name?: string; algorithm?: CertAlgorithm; days?: number; force?: boolean } = {}): CaFiles {
  const name = checkCertName(options.name ?? 'signet-pull-ca');
  const files = { cert: join(dir, 'ca.pem'), key: join(dir, 'ca.key') };
  if (!options.force && (existsSync(files.cert) || existsSync(files.key))) {
    throw new SignetError('USAGE', `${dir} already holds a CA (ca.pem, ca.key); pass --force to replace it`);
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const { privateKey, publicKey } = newKeyPair(options.algorithm ?? 'ed25519');
  const now = Date.now();
  const der = writeCertificate(
    { name, notBefore: new Date(now - 60_000), notAfter: new Date(now + (options.days ?? 3650) * DAY), publicKey },
    { name, key: privateKey, keyId: keyIdentifier(publicKey) },
  );
  writeFileAtomic(files.key, Buffer.from(privateKeyPem(privateKey)), 0o600);
  writeFileAtomic(files.cert, Buffer.from(toPem(der)), 0o644);
  return files;
}

export interface IssueOptions {
  readonly role: Role;
  readonly algorithm?: CertAlgorithm;
  readonly days?: number;
  readonly dns?: readonly string[];
  readonly ips?: readonly string[];
  /** Where ca.pem and ca.key are (default: the output directory). */
  readonly caDir?: string;
  /** Tests: a validity window of their own (an expired certificate). */
  readonly notBefore?: Date;
  readonly notAfter?: Date;
}

export function issueCertificate(dir: string, name: string, options: IssueOptions): CaFiles {
  checkCertName(name);
  const caDir = options.caDir ?? dir;
  let caCert: X509Certificate;
  let caKeyPem: Buffer;
  try {
    caCert = new X509Certificate(readFileSync(join(caDir, 'ca.pem')));
    caKeyPem = readFileSync(join(caDir, 'ca.key'));
  } catch {
    throw new SignetError('FILE_UNREADABLE', `no CA in ${caDir} (ca.pem and ca.key; signet ca init --out DIR)`);
  }
  const caKey = loadPrivateKey(caKeyPem);
  if (!caCert.checkPrivateKey(caKey)) throw new SignetError('CONFIG_INVALID', 'ca.key does not belong to ca.pem');
  const caName = /CN=([^\n]+)/.exec(caCert.subject)?.[1] ?? 'signet-pull-ca';
  const { privateKey, publicKey } = newKeyPair(options.algorithm ?? 'ed25519');
  const now = Date.now();
  const der = writeCertificate(
    {
      name,
      role: options.role,
      ...(options.dns ? { dns: options.dns } : {}),
      ...(options.ips ? { ips: options.ips } : {}),
      notBefore: options.notBefore ?? new Date(now - 60_000),
      notAfter: options.notAfter ?? new Date(now + (options.days ?? 397) * DAY),
      publicKey,
    },
    { name: caName, key: caKey, keyId: keyIdentifier(publicOf(caKey)) },
  );
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const files = { cert: join(dir, `${name}.pem`), key: join(dir, `${name}.key`) };
  writeFileAtomic(files.key, Buffer.from(privateKeyPem(privateKey)), 0o600);
  writeFileAtomic(files.cert, Buffer.from(toPem(der)), 0o644);
  return files;
}
