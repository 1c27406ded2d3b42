// How src/repo reaches the signing server: through the typed client's POST /v1/sign/:key only
// (kinds yum, apt, pacman with artifact names, so policies can grant exactly these). Every
// signature the server returns is checked against the key's public key before it is written:
// a file on disk is either the old one or one that verifies.
import { Readable } from 'node:stream';
import { SignetError } from '../errors.js';
import type { SignQuery, SignResponse } from '../client/client.js';
import {
  canonicalText,
  publicKeysFromArmor,
  verifyClearsigned,
  verifyDetached,
  type PublicKeyInfo,
} from '../openpgp/index.js';

/** The part of SignetClient that repository signing needs (SignetClient satisfies it). */
export interface RepoSignClient {
  sign(key: string, artifact: Readable, query: SignQuery, length?: number): Promise<SignResponse>;
  exportKey(name: string): Promise<string>;
}

export type RepoKind = 'yum' | 'apt' | 'pacman';

export interface DetachedSignature {
  /** Binary signature packet. */
  readonly packet: Buffer;
  /** Armored form (when asked for). */
  readonly armored?: string;
  /** Cleartext-signed document (when asked for). */
  readonly cleartext?: string;
  readonly fingerprint: string;
  readonly logIndex?: number;
}

/** Signs `bytes` through the server and checks the result against the key's public key. */
export class CheckedSigner {
  readonly #client: RepoSignClient;
  readonly #key: string;
  #publicKeys: PublicKeyInfo[] | undefined;

  constructor(client: RepoSignClient, key: string) {
    this.#client = client;
    this.#key = key;
  }

  get key(): string {
    return this.#key;
  }

  async publicKeys(): Promise<PublicKeyInfo[]> {
    this.#publicKeys ??= publicKeysFromArmor(await this.#client.exportKey(this.#key));
    return this.#publicKeys;
  }

  /** A detached signature (binary packet, plus armor when `armor`) of type 0x00. */
  async detached(bytes: Buffer, kind: RepoKind, name: string, options: { armor: boolean; hash?: 'sha256' | 'sha512' }): Promise<DetachedSignature> {
    const keys = await this.publicKeys();
    const response = await this.#client.sign(
      this.#key,
      Readable.from([bytes]),
      { kind, name, armor: options.armor, ...(options.hash ? { hash: options.hash } : {}) },
      bytes.length,
    );
    const packet = Buffer.from(response.signature, 'base64');
    const verdict = verifyDetached(bytes, packet, keys);
    if (!verdict.ok || verdict.signature.type !== 0x00) {
      throw new SignetError('SIGNATURE_INVALID', `the server's signature of ${name} does not verify with key ${this.#key}`);
    }
    if (options.armor && response.armored === undefined) throw new SignetError('INTERNAL', 'the server returned no armored signature');
    return { packet, ...(options.armor ? { armored: response.armored } : {}), fingerprint: response.fingerprint, ...logIndexOf(response) };
  }

  /** A cleartext signature (type 0x01) of UTF-8 text, as apt's InRelease. */
  async cleartext(text: Buffer, kind: RepoKind, name: string, hash: 'sha256' | 'sha512'): Promise<DetachedSignature> {
    const keys = await this.publicKeys();
    const response = await this.#client.sign(this.#key, Readable.from([text]), { kind, name, clear: true, armor: true, hash }, text.length);
    if (response.cleartext === undefined) throw new SignetError('INTERNAL', 'the server returned no cleartext signature');
    const checked = verifyClearsigned(response.cleartext, keys);
    // The message must carry exactly the text we sent (the framework drops trailing blanks).
    if (!checked.result.ok || !canonicalText(checked.text).equals(canonicalText(text))) {
      throw new SignetError('SIGNATURE_INVALID', `the server's cleartext signature of ${name} does not verify with key ${this.#key}`);
    }
    return {
      packet: Buffer.from(response.signature, 'base64'),
      cleartext: response.cleartext,
      fingerprint: response.fingerprint,
      ...logIndexOf(response),
    };
  }
}

function logIndexOf(response: SignResponse): { logIndex?: number } {
  const log = response.log as { index?: unknown } | undefined;
  return typeof log?.index === 'number' ? { logIndex: log.index } : {};
}
