// What the CLI writes as a signature is first verified here, against the key's public key as the
// server exports it: a compromised server or a proxy in between cannot hand the caller a file
// that does not verify (the caller would publish it), nor a signature by another key or over
// other content. Targeted imports, not the openpgp barrel: signet-gpg runs once per signature.
import { dearmor } from '../openpgp/armor.js';
import { verifyClearsigned } from '../openpgp/cleartext.js';
import { signingKeysOf } from '../openpgp/certificate.js';
import { certificateHasComposite, loadMlDsa, type PublicKeyInfo } from '../openpgp/public-key.js';
import { readPackets } from '../openpgp/packet.js';
import { verifyDetached, verifyDetachedStream, type VerifyResult } from '../openpgp/signature.js';
import { canonicalText } from '../openpgp/text.js';
import { SignetError } from '../errors.js';

/** The key's public key, fetched once per run (GET /v1/keys/:name/public; a token that may sign
 *  with a key may read it, see docs/policy.md). */
export class PublicKeyCache {
  readonly #keys = new Map<string, Promise<PublicKeyInfo[]>>();

  constructor(private readonly client: { exportKey(name: string): Promise<string> }) {}

  get(name: string): Promise<PublicKeyInfo[]> {
    let keys = this.#keys.get(name);
    if (keys === undefined) {
      keys = this.client.exportKey(name).then(async (armored) => {
        const block = dearmor(armored);
        if (block.kind !== 'PUBLIC KEY BLOCK') throw new SignetError('ARMOR_MALFORMED', `the server's export of key ${name} is not a public key`);
        // ML-DSA is loaded only for a certificate that needs it (public-key.ts says why).
        if (certificateHasComposite(readPackets(block.bytes))) await loadMlDsa();
        // Every version's primary and signing subkey the export carries (docs/keys.md).
        return signingKeysOf(block.bytes);
      });
      this.#keys.set(name, keys);
    }
    return keys;
  }
}

function refused(what: string, key: string): SignetError {
  return new SignetError('SIGNATURE_INVALID', `the server's signature of ${what} does not verify with key ${key}; nothing written`);
}

/** The key that made the signature (a signing subkey when one did), or undefined. */
function good(result: VerifyResult, type: 0x00 | 0x01): PublicKeyInfo | undefined {
  return result.ok && result.signature.type === type ? result.signer : undefined;
}

/** A detached signature (binary or armored, exactly what will be written) over `data`; returns
 *  the key that made it (the primary or a signing subkey). */
export function checkDetached(data: Uint8Array, signature: Uint8Array, keys: PublicKeyInfo[], what: string, key: string): PublicKeyInfo {
  const signer = good(verifyDetached(data, signature, keys), 0x00);
  if (signer === undefined) throw refused(what, key);
  return signer;
}

/** The same over data read again from its source (a file of any size). */
export async function checkDetachedStream(open: () => AsyncIterable<Uint8Array>, signature: Uint8Array, keys: PublicKeyInfo[], what: string, key: string): Promise<PublicKeyInfo> {
  const signer = good(await verifyDetachedStream(open, signature, keys), 0x00);
  if (signer === undefined) throw refused(what, key);
  return signer;
}

/** A cleartext-signed message that must carry exactly `text`. */
export function checkCleartext(message: string, text: Uint8Array, keys: PublicKeyInfo[], what: string, key: string): PublicKeyInfo {
  const checked = verifyClearsigned(message, keys);
  const signer = good(checked.result, 0x01);
  if (signer === undefined || !canonicalText(checked.text).equals(canonicalText(text))) throw refused(what, key);
  return signer;
}

/** Passes chunks through while keeping a copy (standard input cannot be read twice). */
export async function* teeInto(source: AsyncIterable<Uint8Array>, kept: Buffer[]): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    const b = Buffer.from(chunk);
    kept.push(b);
    yield b;
  }
}
