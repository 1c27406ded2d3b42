// The `pkcs11` backend: keys generated inside a PKCS#11 token, private halves marked
// CKA_SENSITIVE and not CKA_EXTRACTABLE, so they never leave it; signet stores only the token's
// reference (CKA_ID and CKA_LABEL) and the public certificate. Mechanisms (PKCS#11 v3.0 §2.1,
// §2.3, §2.3.14): RSA-4096 signs with CKM_RSA_PKCS over the DigestInfo of the OpenPGP hash
// (RFC 9580 §5.2.2); Ed25519 with CKM_EDDSA over the digest (OpenPGP's legacy EdDSA signs the
// digest as the message, RFC 9580 §5.2.3.3); ECDSA P-256 with CKM_ECDSA over the digest.
import { createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import { SignetError } from '../errors.js';
import { certifyKey, isCompositeKey, publicKeyInfo, rsaDigestInfo, type HashAlgorithm, type KeyAlgorithm, type PublicKeyInfo, type SigningKey } from '../openpgp/index.js';
import type { KeyRecord } from '../store/types.js';
import { fingerprintHex, type GenerateOptions, type KeyBackend, type KeyHandle, type KeyMaterial, type StoredKey } from './backend.js';
import { Pkcs11Token, tokenError, type Pkcs11Settings } from './pkcs11.js';
import type { LogKeyToken } from '../tlog/service.js';

// Mechanisms and key types from PKCS#11 v3.0 that pkcs11js (a v2.40 binding) does not name.
const CKM_EC_EDWARDS_KEY_PAIR_GEN = 0x1055;
const CKM_EDDSA = 0x1057;
const CKK_EC_EDWARDS = 0x40;

/** CKA_EC_PARAMS: the DER-encoded curve OID (PKCS#11 v3.0 §2.3.3, RFC 8410 §3 for Ed25519). */
const EC_PARAMS: Readonly<Record<'ed25519' | 'ecdsa-p256', Buffer>> = {
  ed25519: Buffer.from('06032b6570', 'hex'),
  'ecdsa-p256': Buffer.from('06082a8648ce3d030107', 'hex'),
};

/** What the store keeps for a token key: the object's CKA_ID (hex) and CKA_LABEL. */
export interface TokenRef {
  readonly id: string;
  readonly label: string;
}

export function parseTokenRef(record: Pick<KeyRecord, 'name' | 'tokenRef'>): TokenRef {
  try {
    const ref = JSON.parse(record.tokenRef ?? '') as Partial<TokenRef>;
    if (typeof ref.id === 'string' && /^[0-9a-f]{2,128}$/.test(ref.id) && typeof ref.label === 'string') return { id: ref.id, label: ref.label };
  } catch {
    // fall through
  }
  throw new SignetError('KEY_DECRYPT_FAILED', `the stored key ${record.name} has no valid token reference`);
}

/** CKA_EC_POINT is a DER OCTET STRING around the point (PKCS#11 v3.0 §2.3.3); some modules give
 *  the bare point. */
function ecPoint(value: Buffer, size: number): Buffer {
  if (value.length === size) return value;
  if (value.length === size + 2 && value[0] === 0x04 && value[1] === size) return value.subarray(2);
  throw new SignetError('KEY_TOKEN_UNAVAILABLE', 'PKCS#11: the token returned an EC point of an unexpected size');
}

export class Pkcs11Backend implements KeyBackend, LogKeyToken {
  readonly name = 'pkcs11' as const;
  readonly #settings: Pkcs11Settings;
  readonly #privateObjects = new WeakMap<KeyHandle, Buffer>();
  #token: Pkcs11Token | undefined;

  constructor(settings: Pkcs11Settings) {
    this.#settings = settings;
  }

  /** The token, opened on first use (a server without token keys never loads the module). */
  get token(): Pkcs11Token {
    this.#token ??= Pkcs11Token.open(this.#settings);
    return this.#token;
  }

  async generate(name: string, options: GenerateOptions): Promise<StoredKey> {
    if ((options.profile ?? 'rfc4880') !== 'rfc4880') {
      throw new SignetError('KEY_PROFILE_UNSUPPORTED', 'the pkcs11 backend makes OpenPGP v4 (rfc4880) keys only');
    }
    const creationTime = options.creationTime ?? Math.floor(Date.now() / 1000);
    const token = this.token;
    const c = token.constants;
    const ref: TokenRef = { id: randomBytes(16).toString('hex'), label: `signet:${name}` };
    const id = Buffer.from(ref.id, 'hex');
    const common = [
      { type: c.CKA_TOKEN, value: true },
      { type: c.CKA_ID, value: id },
      { type: c.CKA_LABEL, value: ref.label },
    ];
    // The private half: usable for signing only, never readable (CKA_SENSITIVE), never wrappable
    // out (CKA_EXTRACTABLE false); both are one-way attributes a token will not reset (§4.9).
    const privateTemplate = [
      ...common,
      { type: c.CKA_PRIVATE, value: true },
      { type: c.CKA_SIGN, value: true },
      { type: c.CKA_SENSITIVE, value: true },
      { type: c.CKA_EXTRACTABLE, value: false },
      { type: c.CKA_DECRYPT, value: false },
    ];
    let mechanism: number;
    let publicTemplate: Array<{ type: number; value: unknown }>;
    if (options.algorithm === 'rsa4096') {
      mechanism = c.CKM_RSA_PKCS_KEY_PAIR_GEN;
      publicTemplate = [...common, { type: c.CKA_VERIFY, value: true }, { type: c.CKA_MODULUS_BITS, value: 4096 },
        { type: c.CKA_PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) }];
    } else if (options.algorithm === 'ed25519' || options.algorithm === 'ecdsa-p256') {
      mechanism = options.algorithm === 'ed25519' ? CKM_EC_EDWARDS_KEY_PAIR_GEN : c.CKM_EC_KEY_PAIR_GEN;
      publicTemplate = [...common, { type: c.CKA_VERIFY, value: true }, { type: c.CKA_EC_PARAMS, value: EC_PARAMS[options.algorithm] }];
    } else {
      throw new SignetError('ALGORITHM_UNSUPPORTED', `the pkcs11 backend makes rsa4096, ed25519 and ecdsa-p256 keys, not ${String(options.algorithm)}`);
    }
    const pair = await token.withSession(async (session) => {
      try {
        return await token.p.C_GenerateKeyPairAsync(session, { mechanism }, publicTemplate as never, privateTemplate as never);
      } catch (err) {
        throw tokenError(`C_GenerateKeyPair (${options.algorithm})`, err);
      }
    });
    try {
      const handle = await this.#handle(options.algorithm, pair.privateKey, pair.publicKey, creationTime);
      const transferablePublicKey = await certifyKey(handle.info, options.userId, creationTime, handle.signDigest);
      return { info: handle.info, transferablePublicKey, userIds: [options.userId], material: this.#material(ref) };
    } catch (err) {
      await this.#destroy([pair.privateKey, pair.publicKey]);
      throw err;
    }
  }

  /** Takes a software key into the token as a sensitive, non-extractable object (C_CreateObject),
   *  with its public half beside it. The caller's copy stays the caller's to drop. */
  async importKey(name: string, privateKey: SigningKey, info: PublicKeyInfo): Promise<KeyMaterial> {
    if (isCompositeKey(privateKey) || info.version === 6) {
      throw new SignetError('KEY_PROFILE_UNSUPPORTED', 'the pkcs11 backend takes OpenPGP v4 (rfc4880) keys only');
    }
    const token = this.token;
    const c = token.constants;
    const ref: TokenRef = { id: randomBytes(16).toString('hex'), label: `signet:${name}` };
    const id = Buffer.from(ref.id, 'hex');
    const jwk = privateKey.export({ format: 'jwk' });
    const b = (v: string | undefined): Buffer => Buffer.from(v ?? '', 'base64url');
    const common = [{ type: c.CKA_TOKEN, value: true }, { type: c.CKA_ID, value: id }, { type: c.CKA_LABEL, value: ref.label }];
    let priv: Array<{ type: number; value: unknown }>;
    let pub: Array<{ type: number; value: unknown }>;
    if (info.algorithm === 'rsa4096') {
      priv = [{ type: c.CKA_KEY_TYPE, value: c.CKK_RSA }, { type: c.CKA_MODULUS, value: b(jwk.n) }, { type: c.CKA_PUBLIC_EXPONENT, value: b(jwk.e) },
        { type: c.CKA_PRIVATE_EXPONENT, value: b(jwk.d) }, { type: c.CKA_PRIME_1, value: b(jwk.p) }, { type: c.CKA_PRIME_2, value: b(jwk.q) },
        { type: c.CKA_EXPONENT_1, value: b(jwk.dp) }, { type: c.CKA_EXPONENT_2, value: b(jwk.dq) }, { type: c.CKA_COEFFICIENT, value: b(jwk.qi) }];
      pub = [{ type: c.CKA_KEY_TYPE, value: c.CKK_RSA }, { type: c.CKA_MODULUS, value: b(jwk.n) }, { type: c.CKA_PUBLIC_EXPONENT, value: b(jwk.e) }];
    } else if (info.algorithm === 'ed25519') {
      priv = [{ type: c.CKA_KEY_TYPE, value: CKK_EC_EDWARDS }, { type: c.CKA_EC_PARAMS, value: EC_PARAMS.ed25519 }, { type: c.CKA_VALUE, value: b(jwk.d) }];
      pub = [{ type: c.CKA_KEY_TYPE, value: CKK_EC_EDWARDS }, { type: c.CKA_EC_PARAMS, value: EC_PARAMS.ed25519 },
        { type: c.CKA_EC_POINT, value: Buffer.concat([Buffer.from([0x04, 32]), b(jwk.x)]) }];
    } else {
      throw new SignetError('ALGORITHM_UNSUPPORTED', `cannot import a ${info.algorithm} key into the token`);
    }
    const objects = await token.withSession((session) => {
      const created: Buffer[] = [];
      try {
        created.push(token.p.C_CreateObject(session, [...common, { type: c.CKA_CLASS, value: c.CKO_PRIVATE_KEY }, { type: c.CKA_PRIVATE, value: true },
          { type: c.CKA_SIGN, value: true }, { type: c.CKA_SENSITIVE, value: true }, { type: c.CKA_EXTRACTABLE, value: false }, ...priv] as never));
        created.push(token.p.C_CreateObject(session, [...common, { type: c.CKA_CLASS, value: c.CKO_PUBLIC_KEY }, { type: c.CKA_VERIFY, value: true }, ...pub] as never));
        return created;
      } catch (err) {
        for (const o of created) token.p.C_DestroyObject(session, o);
        throw tokenError('C_CreateObject', err);
      }
    });
    try {
      const handle = await this.#handle(info.algorithm, objects[0] as Buffer, objects[1] as Buffer, info.creationTime);
      if (fingerprintHex(handle.info) !== fingerprintHex(info)) throw new SignetError('KEY_IMPORT_FAILED', 'the key in the token does not match the imported key');
    } catch (err) {
      await this.#destroy(objects);
      throw err;
    }
    return this.#material(ref);
  }

  async open(record: KeyRecord): Promise<KeyHandle> {
    const ref = parseTokenRef(record);
    const token = this.token;
    const c = token.constants;
    const id = Buffer.from(ref.id, 'hex');
    const [privateKey, publicKey] = await token.withSession((session) => {
      try {
        return [
          token.find(session, [{ type: c.CKA_CLASS, value: c.CKO_PRIVATE_KEY }, { type: c.CKA_ID, value: id }], 2),
          token.find(session, [{ type: c.CKA_CLASS, value: c.CKO_PUBLIC_KEY }, { type: c.CKA_ID, value: id }], 2),
        ];
      } catch (err) {
        throw tokenError('C_FindObjects', err);
      }
    });
    if (privateKey?.length !== 1 || publicKey?.length !== 1) {
      throw new SignetError('KEY_TOKEN_UNAVAILABLE', `PKCS#11: the token ${token.label} does not hold the key ${record.name} (CKA_ID ${ref.id})`);
    }
    return this.#handle(record.algorithm, privateKey[0] as Buffer, publicKey[0] as Buffer, record.keyCreatedAt);
  }

  /** The log's checkpoint key (C2SP signed-note, Ed25519) made in the token. */
  async generateLogKey(label: string): Promise<{ publicKey: Buffer; tokenRef: string }> {
    const made = await this.generate(label, { algorithm: 'ed25519', userId: label });
    const opened = await this.openLogKey(made.material.tokenRef as string);
    return { publicKey: opened.publicKey, tokenRef: made.material.tokenRef as string };
  }

  /** The log key's public key and a synchronous signer over the note text: checkpoints are signed
   *  inside the integrator's step, one short Ed25519 operation per checkpoint (CKM_EDDSA). */
  async openLogKey(tokenRef: string): Promise<{ publicKey: Buffer; sign(message: Buffer): Buffer }> {
    const handle = await this.open({ name: 'tlog', tokenRef, algorithm: 'ed25519', keyCreatedAt: 0 } as KeyRecord);
    const privateObject = this.#privateObjects.get(handle) as Buffer;
    const token = this.token;
    // The Ed25519 public key is the last 32 bytes of the OpenPGP point MPI (0x40 ‖ key).
    const publicKey = Buffer.from(handle.info.publicKeyPacketBody.subarray(-32));
    return {
      publicKey,
      sign: (message) =>
        token.withSessionSync((session) => {
          try {
            token.p.C_SignInit(session, { mechanism: CKM_EDDSA }, privateObject);
            return Buffer.from(token.p.C_Sign(session, message, Buffer.alloc(64)));
          } catch (err) {
            throw tokenError('C_Sign (log key)', err);
          }
        }),
    };
  }

  async close(): Promise<void> {
    this.#token?.close();
    this.#token = undefined;
  }

  #material(ref: TokenRef): KeyMaterial {
    return { backend: 'pkcs11', sealedSecret: Buffer.alloc(0), wrappedDataKey: Buffer.alloc(0), tokenRef: JSON.stringify(ref) };
  }

  /** The public part as the token reports it, and the signing operation on the private object. */
  async #handle(algorithm: KeyAlgorithm, privateObject: Buffer, publicObject: Buffer, creationTime: number): Promise<KeyHandle> {
    const token = this.token;
    const c = token.constants;
    const publicKey = await token.withSession((session): KeyObject => {
      try {
        if (algorithm === 'rsa4096') {
          const [n, e] = token.p.C_GetAttributeValue(session, publicObject, [{ type: c.CKA_MODULUS }, { type: c.CKA_PUBLIC_EXPONENT }]);
          return createPublicKey({ key: { kty: 'RSA', n: (n?.value as Buffer).toString('base64url'), e: (e?.value as Buffer).toString('base64url') }, format: 'jwk' });
        }
        const [point] = token.p.C_GetAttributeValue(session, publicObject, [{ type: c.CKA_EC_POINT }]);
        if (algorithm === 'ed25519') {
          return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: ecPoint(point?.value as Buffer, 32).toString('base64url') }, format: 'jwk' });
        }
        const xy = ecPoint(point?.value as Buffer, 65);
        if (xy[0] !== 0x04) throw new SignetError('KEY_TOKEN_UNAVAILABLE', 'PKCS#11: the token returned a compressed EC point');
        return createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: xy.subarray(1, 33).toString('base64url'), y: xy.subarray(33).toString('base64url') }, format: 'jwk' });
      } catch (err) {
        throw tokenError('C_GetAttributeValue (public key)', err);
      }
    });
    const info = publicKeyInfo(publicKey, creationTime);
    const mechanism = algorithm === 'rsa4096' ? c.CKM_RSA_PKCS : algorithm === 'ed25519' ? CKM_EDDSA : c.CKM_ECDSA;
    const size = algorithm === 'rsa4096' ? 512 : 64;
    const signDigest = (hashAlgorithm: HashAlgorithm, digest: Buffer): Promise<Buffer> => {
      const input = algorithm === 'rsa4096' ? rsaDigestInfo(hashAlgorithm, digest) : digest;
      return token.withSession(async (session) => {
        try {
          token.p.C_SignInit(session, { mechanism }, privateObject);
          const signature = await token.p.C_SignAsync(session, input, Buffer.alloc(size));
          // RSA: the token returns the full modulus length; EdDSA/ECDSA: r ‖ s, 32 bytes each.
          if (signature.length !== size) throw new SignetError('KEY_TOKEN_UNAVAILABLE', `PKCS#11: a ${algorithm} signature of ${signature.length} bytes`);
          return Buffer.from(signature);
        } catch (err) {
          throw tokenError('C_Sign', err);
        }
      });
    };
    const handle: KeyHandle = { info, signDigest };
    this.#privateObjects.set(handle, privateObject);
    return handle;
  }

  async #destroy(objects: Buffer[]): Promise<void> {
    const token = this.token;
    await token.withSession((session) => {
      for (const o of objects) {
        try {
          token.p.C_DestroyObject(session, o);
        } catch {
          // best effort: the key was never recorded, so it is unreachable either way
        }
      }
    });
  }
}
