// Response wrapping: instead of a secret, the caller gets a short-lived wrapping token; whoever
// presents it first gets the response, exactly once (a second unwrap is WRAPPING_TOKEN_USED,
// the sign that someone else unwrapped it first). The response is stored sealed with AES-256-GCM
// under a key derived (HKDF-SHA256) from the wrapping token, which itself is stored only as a
// hash: the data dir alone cannot reveal a wrapped secret, and unwrapping erases the sealed bytes.
// Every response records its creation path, so a client can refuse a substituted one.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { SignetError } from '../errors.js';
import { Secret } from '../secret.js';
import type { Store } from '../store/types.js';
import { MAX_CREDENTIAL_LENGTH, WRAPPING_TOKEN_PREFIX, credentialHash, newAccessor, newCredential, sameHash, wellFormed } from './credentials.js';

export const WRAP_TTL_BOUNDS = { minMs: 1000, maxMs: 24 * 3_600_000 } as const;

export interface WrapInfo {
  readonly token: Secret;
  readonly accessor: string;
  readonly creationPath: string;
  readonly createdAt: number;
  readonly expiresAt: number;
}

export interface Unwrapped {
  readonly creationPath: string;
  readonly createdAt: number;
  readonly data: Record<string, unknown>;
}

const NONCE_BYTES = 12;
const TAG_BYTES = 16;

function sealingKey(token: Secret, accessor: string): Buffer {
  return Buffer.from(hkdfSync('sha256', token.reveal(), Buffer.from(accessor, 'utf8'), Buffer.from('signet wrapping v1', 'utf8'), 32));
}

function aad(accessor: string, creationPath: string): Buffer {
  return Buffer.from(`${accessor}\n${creationPath}`, 'utf8');
}

export class WrappingService {
  readonly #store: Store;
  readonly #now: () => number;

  constructor(store: Store, now: () => number = Date.now) {
    this.#store = store;
    this.#now = now;
  }

  async wrap(data: Record<string, unknown>, options: { ttlMs: number; creationPath: string; creatorAccessor: string }): Promise<WrapInfo> {
    const token = newCredential(WRAPPING_TOKEN_PREFIX);
    const accessor = newAccessor();
    const createdAt = this.#now();
    const expiresAt = createdAt + options.ttlMs;
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', sealingKey(token, accessor), nonce);
    cipher.setAAD(aad(accessor, options.creationPath));
    const plaintext = new Secret(JSON.stringify(data));
    const sealed = Buffer.concat([nonce, cipher.update(plaintext.reveal()), cipher.final(), cipher.getAuthTag()]);
    plaintext.wipe();
    await this.#store.auth.insertWrapped({
      accessor,
      tokenHash: credentialHash(token),
      creationPath: options.creationPath,
      creatorAccessor: options.creatorAccessor,
      sealed,
      createdAt,
      expiresAt,
      unwrappedAt: null,
    });
    return { token, accessor, creationPath: options.creationPath, createdAt, expiresAt };
  }

  /** Returns the wrapped response once; `audit` receives what happened (never the token). */
  async unwrap(presented: string | undefined, audit: (fields: Record<string, unknown>) => void = () => undefined): Promise<Unwrapped> {
    if (presented === undefined || presented === '') throw new SignetError('TOKEN_MISSING', 'a wrapping token is required');
    if (presented.length > MAX_CREDENTIAL_LENGTH || !wellFormed(WRAPPING_TOKEN_PREFIX, presented)) {
      audit({ outcome: 'denied', reason: 'malformed' });
      throw new SignetError('WRAPPING_TOKEN_INVALID', 'the wrapping token is not valid');
    }
    const token = new Secret(presented);
    const hash = credentialHash(token);
    const taken = await this.#store.auth.takeWrapped(hash, this.#now());
    if (taken.outcome === 'unknown' || !sameHash(taken.record.tokenHash, hash)) {
      audit({ outcome: 'denied', reason: 'unknown' });
      throw new SignetError('WRAPPING_TOKEN_INVALID', 'the wrapping token is not valid');
    }
    const { record } = taken;
    audit({ wrap_accessor: record.accessor, creation_path: record.creationPath });
    if (taken.outcome === 'used') {
      audit({ outcome: 'denied', reason: 'already_unwrapped' });
      throw new SignetError('WRAPPING_TOKEN_USED', 'the wrapping token was already used: someone else may have unwrapped it first');
    }
    if (taken.outcome === 'expired') {
      audit({ outcome: 'denied', reason: 'expired' });
      throw new SignetError('WRAPPING_TOKEN_EXPIRED', 'the wrapping token has expired');
    }
    // Revoking the token that asked for the wrapping voids what it wrapped (revocation cascade).
    const creator = await this.#store.getTokenByAccessor(record.creatorAccessor);
    if (!creator || creator.revokedAt !== null) {
      audit({ outcome: 'denied', reason: 'creator_revoked' });
      throw new SignetError('WRAPPING_TOKEN_INVALID', 'the wrapping token is not valid');
    }
    let data: Record<string, unknown>;
    try {
      const nonce = record.sealed.subarray(0, NONCE_BYTES);
      const tag = record.sealed.subarray(record.sealed.length - TAG_BYTES);
      const decipher = createDecipheriv('aes-256-gcm', sealingKey(token, record.accessor), nonce);
      decipher.setAAD(aad(record.accessor, record.creationPath));
      decipher.setAuthTag(tag);
      const plaintext = Buffer.concat([decipher.update(record.sealed.subarray(NONCE_BYTES, record.sealed.length - TAG_BYTES)), decipher.final()]);
      data = JSON.parse(plaintext.toString('utf8')) as Record<string, unknown>;
      plaintext.fill(0);
    } catch {
      audit({ outcome: 'denied', reason: 'unseal_failed' });
      throw new SignetError('WRAPPING_TOKEN_INVALID', 'the wrapping token is not valid');
    }
    audit({ outcome: 'allowed' });
    return { creationPath: record.creationPath, createdAt: record.createdAt, data };
  }
}
