// OpenPGP Web Key Directory (draft-koch-openpgp-webkey-service, §3.1): where a key for
// local@domain is published. The hashed local part is the z-base-32 encoding (RFC 6189 §5.1.6)
// of the SHA-1 of the local part mapped to lower case (ASCII only, as GnuPG does), 32 characters.
//   advanced: https://openpgpkey.DOMAIN/.well-known/openpgpkey/DOMAIN/hu/HASH?l=LOCAL
//   direct:   https://DOMAIN/.well-known/openpgpkey/hu/HASH?l=LOCAL
// Each layout also needs a `policy` file next to `hu/` (it may be empty) that clients look for.
// The key file holds the binary (not armored) certificates.
import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';

const ZBASE32 = 'ybndrfg8ejkmcpqxot1uwisza345h769';

export function zbase32(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ZBASE32[(buffer >> (bits - 5)) & 31];
      bits -= 5;
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) out += ZBASE32[(buffer << (5 - bits)) & 31];
  return out;
}

/** The hashed local part: 32 z-base-32 characters. */
export function wkdHash(localPart: string): string {
  const lowered = localPart.replace(/[A-Z]/g, (c) => c.toLowerCase());
  return zbase32(createHash('sha1').update(Buffer.from(lowered, 'utf8')).digest());
}

/** The mail address of a user ID (`Name <local@domain>` or a bare address), or null. */
export function userIdAddress(userId: string): { local: string; domain: string } | null {
  const m = /<([^<>@\s]+)@([^<>@\s]+)>\s*$/.exec(userId) ?? /^([^<>@\s]+)@([^<>@\s]+)$/.exec(userId.trim());
  if (!m) return null;
  const domain = m[2]!.toLowerCase();
  // The domain becomes a directory name: only what a host name may hold.
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/.test(domain)) return null;
  return { local: m[1]!, domain };
}

export interface WkdFile {
  /** Path relative to the web root, `/`-separated. */
  readonly path: string;
  readonly content: Buffer;
}

/** Every file of both layouts for the addresses of `userIds`, each key file the keyring. */
export function wkdTree(userIds: readonly string[], keyring: Buffer): WkdFile[] {
  const files = new Map<string, Buffer>();
  for (const uid of userIds) {
    const address = userIdAddress(uid);
    if (!address) continue;
    const hash = wkdHash(address.local);
    files.set(`.well-known/openpgpkey/${address.domain}/hu/${hash}`, keyring);
    files.set(`.well-known/openpgpkey/${address.domain}/policy`, Buffer.alloc(0));
    files.set(`.well-known/openpgpkey/hu/${hash}`, keyring);
    files.set('.well-known/openpgpkey/policy', Buffer.alloc(0));
  }
  return [...files].map(([path, content]) => ({ path, content }));
}
