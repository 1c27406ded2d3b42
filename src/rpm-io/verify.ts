// The checks `rpmkeys -Kv` makes on a package file, against given public keys: header
// signatures, header digests, payload digest, MD5 of header + payload (rpm's
// docs/manual/format_v4.md and lib/rpmvs.c; docs/formats.md "RPM"). Used by `signet rpm verify`
// and by the publish gate (src/repo/gate.ts); reads only the file, never the network.
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { parseSignaturePacket, verifyDetached, type PublicKeyInfo } from '../openpgp/index.js';
import { SigTag, existingSignatures, headerDigests, packageIdentity, readString } from '../rpm/index.js';
import { asError, readPackagePrefix } from './file.js';

const PUBKEY_NAMES: Record<number, string> = { 1: 'RSA', 17: 'DSA', 22: 'EdDSA', 27: 'Ed25519', 28: 'Ed448', 30: 'ML-DSA-65+Ed25519', 31: 'ML-DSA-87+Ed448' };
const HASH_NAMES: Record<number, string> = { 2: 'SHA1', 8: 'SHA256', 9: 'SHA384', 10: 'SHA512', 11: 'SHA224', 12: 'SHA3-256', 14: 'SHA3-512' };
/** rpm's PAYLOADDIGESTALGO uses OpenPGP hash ids (rpmpgp.h PGPHASHALGO_*). */
const PAYLOAD_HASHES: Record<number, string> = { 8: 'sha256', 9: 'sha384', 10: 'sha512' };

export interface RpmVerifyResult {
  file: string;
  ok: boolean;
  /** `rpmkeys -Kv`-style lines: "Header V4 RSA/SHA512 Signature, key ID 1a2b3c4d: OK", … */
  checks: { what: string; result: 'OK' | 'BAD' | 'NOKEY' | 'NOTFOUND' }[];
  error?: { code: string; message: string };
}

async function hashFrom(path: string, offset: number, algorithms: string[]): Promise<string[]> {
  const hashes = algorithms.map((a) => createHash(a));
  const fh = await open(path, 'r');
  try {
    for await (const chunk of fh.createReadStream({ start: offset, autoClose: false })) {
      for (const h of hashes) h.update(chunk as Buffer);
    }
  } finally {
    await fh.close();
  }
  return hashes.map((h) => h.digest('hex'));
}

/**
 * The checks `rpmkeys -Kv` makes, in its order: header signatures, header SHA256 and SHA1,
 * payload digest, MD5 of header + payload. Fails closed: a package without a header signature,
 * or whose only signatures are by keys not given, does not verify.
 */
export async function verifyRpmFile(path: string, keys: readonly PublicKeyInfo[]): Promise<RpmVerifyResult> {
  const checks: RpmVerifyResult['checks'] = [];
  try {
    const { layout } = readPackagePrefix(path);
    const all = existingSignatures(layout.signatureHeader);
    // rpm 6 reads the signatures of tag 278 when it is there, and the legacy tags otherwise
    // (docs/formats.md "RPM 6: several signatures"): the v4 one in 268/267 is also in 278.
    const openpgp = all.filter((s) => s.tag === SigTag.OPENPGP);
    const signatures = openpgp.length > 0 ? openpgp : all;
    for (const { packet } of signatures) {
      let label = 'Header signature';
      try {
        const parsed = parseSignaturePacket(packet);
        const algorithm = `${PUBKEY_NAMES[parsed.pkAlgorithm] ?? `#${parsed.pkAlgorithm}`}/${HASH_NAMES[parsed.hashAlgorithm] ?? `#${parsed.hashAlgorithm}`}`;
        if (parsed.version === 6 || openpgp.length > 0) {
          label = `Header OpenPGP V${parsed.version} ${algorithm} signature, key fingerprint: ${parsed.issuerFingerprint?.toString('hex') ?? 'unknown'}`;
        } else {
          const keyId = (parsed.issuerFingerprint?.subarray(12) ?? parsed.issuerKeyId)?.toString('hex').slice(-8) ?? '00000000';
          label = `Header V${parsed.version} ${algorithm} Signature, key ID ${keyId}`;
        }
      } catch {
        // reported as BAD below
      }
      const verdict = verifyDetached(layout.header.bytes, packet, [...keys]);
      checks.push({ what: label, result: verdict.ok ? 'OK' : verdict.reason === 'NO_PUBKEY' ? 'NOKEY' : 'BAD' });
    }
    if (signatures.length === 0) checks.push({ what: 'Header signature', result: 'NOTFOUND' });

    const actual = headerDigests(layout.header);
    const sha256 = readString(layout.signatureHeader, SigTag.SHA256);
    checks.push({ what: 'Header SHA256 digest', result: sha256 === null ? 'NOTFOUND' : sha256 === actual.sha256 ? 'OK' : 'BAD' });
    const sha1 = readString(layout.signatureHeader, SigTag.SHA1);
    if (sha1 !== null) checks.push({ what: 'Header SHA1 digest', result: sha1 === actual.sha1 ? 'OK' : 'BAD' });

    // The payload digest comes from the main header, which the signature covers.
    const identity = packageIdentity(layout.header);
    const payloadHash = PAYLOAD_HASHES[identity.payloadDigestAlgo ?? 8];
    const md5Tag = layout.signatureHeader.entries.find((e) => e.tag === SigTag.MD5);
    const [payloadDigest, headerAndPayloadMd5] = await Promise.all([
      payloadHash !== undefined ? hashFrom(path, layout.payloadOffset, [payloadHash]).then((d) => d[0]) : Promise.resolve(undefined),
      md5Tag !== undefined ? hashFrom(path, layout.headerOffset, ['md5']).then((d) => d[0]) : Promise.resolve(undefined),
    ]);
    const payloadName = `Payload ${(payloadHash ?? `#${identity.payloadDigestAlgo}`).toUpperCase()} digest`;
    checks.push({
      what: payloadName,
      result: identity.payloadDigest === null ? 'NOTFOUND' : payloadDigest === identity.payloadDigest ? 'OK' : 'BAD',
    });
    if (md5Tag !== undefined) {
      const stored = layout.signatureHeader.bytes.subarray(
        16 + layout.signatureHeader.entries.length * 16 + md5Tag.offset,
        16 + layout.signatureHeader.entries.length * 16 + md5Tag.offset + 16,
      );
      checks.push({ what: 'MD5 digest', result: stored.toString('hex') === headerAndPayloadMd5 ? 'OK' : 'BAD' });
    }
    const ok = checks.every((c) => c.result === 'OK');
    return { file: path, ok, checks };
  } catch (err) {
    return { file: path, ok: false, checks, error: asError(err) };
  }
}
