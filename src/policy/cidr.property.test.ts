// CIDR parsing and matching against Node's own address code as the oracle: net.isIPv4/isIPv6 for
// which texts are addresses, net.BlockList for which addresses a block contains.
import net from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cidrContains, parseAddress, parseCidr, parseIPv4, parseIPv6 } from './cidr.js';

const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join('.'));
const v6 = fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 }).chain((groups) =>
  fc.constantFrom('full', 'compressed').map((form) => {
    const hex = groups.map((g) => g.toString(16));
    if (form === 'full') return hex.join(':');
    // Compress the longest run of zero groups, as an address printer would.
    let best = [-1, 0];
    for (let i = 0; i < 8; ) {
      if (groups[i] !== 0) {
        i++;
        continue;
      }
      let j = i;
      while (j < 8 && groups[j] === 0) j++;
      if (j - i > best[1]!) best = [i, j - i];
      i = j;
    }
    if (best[0]! < 0) return hex.join(':');
    return `${hex.slice(0, best[0]).join(':')}::${hex.slice(best[0]! + best[1]!).join(':')}`;
  }),
);

function masked(bytes: Uint8Array, prefix: number): Uint8Array {
  return Uint8Array.from(bytes, (b, i) => b & ((0xff << (8 - Math.max(0, Math.min(8, prefix - i * 8)))) & 0xff));
}

function text(bytes: Uint8Array, family: 4 | 6): string {
  if (family === 4) return [...bytes].join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return groups.join(':');
}

describe('CIDRs vs node:net', () => {
  it('parses exactly the addresses node:net accepts (dotted quads without leading zeros)', () => {
    fc.assert(
      fc.property(fc.oneof(v4, v6, fc.string({ maxLength: 20 }), fc.stringMatching(/^[0-9a-f:.]{1,24}$/)), (s) => {
        expect(parseIPv4(s) !== undefined).toBe(net.isIPv4(s));
        expect(parseIPv6(s) !== undefined).toBe(net.isIPv6(s) && !s.includes('%'));
      }),
      { numRuns: 20_000 },
    );
  });

  it('contains the same addresses as net.BlockList', () => {
    fc.assert(
      fc.property(fc.oneof(v4, v6), fc.oneof(v4, v6), fc.nat(128), (network, address, p) => {
        const family = net.isIPv4(network) ? 4 : 6;
        const prefix = Math.min(p, family === 4 ? 32 : 128);
        const base = masked(family === 4 ? parseIPv4(network)! : parseIPv6(network)!, prefix);
        const cidr = parseCidr(`${text(base, family)}/${prefix}`);
        const list = new net.BlockList();
        list.addSubnet(text(base, family), prefix, family === 4 ? 'ipv4' : 'ipv6');
        const addrFamily = net.isIPv4(address) ? 'ipv4' : 'ipv6';
        const parsed = parseAddress(address)!;
        // BlockList matches IPv4-mapped IPv6 across families in some versions; compare within a family.
        if ((parsed.family === 4) !== (family === 4)) {
          expect(cidrContains(cidr, parsed)).toBe(false);
          return;
        }
        expect(cidrContains(cidr, parsed)).toBe(list.check(address, addrFamily));
      }),
      { numRuns: 20_000 },
    );
  });
});
