// CIDR blocks for policies (`cidrs: [10.0.0.0/8, 2001:db8::/32]`) and the `trust_proxy` setting.
// Strict parsing: dotted quads without leading zeros, RFC 4291 IPv6 text (with `::` and an embedded
// IPv4 tail), a prefix length in range, and no host bits set (`10.0.0.1/8` is refused: it is
// ambiguous whether the author meant the host or the network). A bare address is a /32 or /128.
// Matching is on bytes; an IPv4-mapped IPv6 source (`::ffff:10.1.2.3`, what a dual-stack socket
// reports) is matched as the IPv4 address it carries.

export class CidrError extends Error {}

export interface Cidr {
  readonly source: string;
  readonly family: 4 | 6;
  readonly bytes: Uint8Array;
  readonly prefix: number;
}

export function parseIPv4(text: string): Uint8Array | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^(?:0|[1-9][0-9]{0,2})$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    out[i] = n;
  }
  return out;
}

export function parseIPv6(text: string): Uint8Array | undefined {
  if (text.length > 45 || text.length < 2) return undefined;
  // A zone (`fe80::1%eth0`) is a socket detail; policies never carry one.
  if (text.includes('%')) return undefined;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parseGroups = (s: string, allowV4Tail: boolean): number[] | undefined => {
    if (s === '') return [];
    const groups = s.split(':');
    const out: number[] = [];
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i]!;
      if (allowV4Tail && i === groups.length - 1 && g.includes('.')) {
        const v4 = parseIPv4(g);
        if (!v4) return undefined;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
        continue;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  let groups: number[];
  if (halves.length === 1) {
    const all = parseGroups(halves[0]!, true);
    if (!all || all.length !== 8) return undefined;
    groups = all;
  } else {
    const head = parseGroups(halves[0]!, false);
    const tail = parseGroups(halves[1]!, true);
    if (!head || !tail || head.length + tail.length > 7) return undefined;
    groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  }
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

export function parseCidr(text: string): Cidr {
  if (text.length === 0 || text.length > 64) throw new CidrError('not a CIDR block');
  const slash = text.indexOf('/');
  const addressText = slash === -1 ? text : text.slice(0, slash);
  const prefixText = slash === -1 ? undefined : text.slice(slash + 1);
  const v4 = parseIPv4(addressText);
  const bytes = v4 ?? parseIPv6(addressText);
  if (!bytes) throw new CidrError(`${JSON.stringify(addressText)} is not an IPv4 or IPv6 address`);
  const family: 4 | 6 = v4 ? 4 : 6;
  const max = family === 4 ? 32 : 128;
  let prefix = max;
  if (prefixText !== undefined) {
    if (!/^(?:0|[1-9][0-9]{0,2})$/.test(prefixText) || Number(prefixText) > max) {
      throw new CidrError(`prefix length must be 0-${max}`);
    }
    prefix = Number(prefixText);
  }
  for (let bit = prefix; bit < max; bit++) {
    if ((bytes[bit >> 3]! >> (7 - (bit & 7))) & 1) throw new CidrError(`host bits set (did you mean ${networkText(bytes, prefix, family)}?)`);
  }
  return { source: text, family, bytes, prefix };
}

function networkText(bytes: Uint8Array, prefix: number, family: 4 | 6): string {
  const masked = Uint8Array.from(bytes, (b, i) => {
    const bitsHere = Math.max(0, Math.min(8, prefix - i * 8));
    return b & ((0xff << (8 - bitsHere)) & 0xff);
  });
  if (family === 4) return `${masked.join('.')}/${prefix}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((masked[i]! << 8) | masked[i + 1]!).toString(16));
  return `${groups.join(':')}/${prefix}`;
}

/** A source address as reported by the socket (or by a trusted proxy), or undefined if unparsable. */
export interface Address {
  readonly family: 4 | 6;
  readonly bytes: Uint8Array;
}

export function parseAddress(text: string): Address | undefined {
  const v4 = parseIPv4(text);
  if (v4) return { family: 4, bytes: v4 };
  const zone = text.indexOf('%');
  const v6 = parseIPv6(zone === -1 ? text : text.slice(0, zone));
  if (!v6) return undefined;
  // ::ffff:a.b.c.d (IPv4-mapped) is the IPv4 address a.b.c.d.
  if (v6.subarray(0, 10).every((b) => b === 0) && v6[10] === 0xff && v6[11] === 0xff) return { family: 4, bytes: v6.slice(12) };
  return { family: 6, bytes: v6 };
}

export function cidrContains(cidr: Cidr, address: { family: 4 | 6; bytes: Uint8Array }): boolean {
  if (cidr.family !== address.family) return false;
  const full = cidr.prefix >> 3;
  for (let i = 0; i < full; i++) if (cidr.bytes[i] !== address.bytes[i]) return false;
  const rest = cidr.prefix & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (cidr.bytes[full]! & mask) === (address.bytes[full]! & mask);
}

/** A set of blocks; `matches` takes the address text as the socket reports it. */
export class CidrSet {
  readonly blocks: readonly Cidr[];
  constructor(blocks: readonly Cidr[]) {
    this.blocks = blocks;
  }
  static parse(texts: readonly string[]): CidrSet {
    return new CidrSet(texts.map(parseCidr));
  }
  matches(addressText: string): boolean {
    const address = parseAddress(addressText);
    return address !== undefined && this.contains(address);
  }
  /** For a source parsed once per request. */
  contains(address: Address): boolean {
    return this.blocks.some((b) => cidrContains(b, address));
  }
}
