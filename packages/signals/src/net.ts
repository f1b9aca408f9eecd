import { CidrSet, parseCidr, parseIp } from '@soc/netaddr';

/**
 * Internal versus internet addresses. "Internal" means not routable on the internet: RFC 1918,
 * loopback, link-local, CGNAT, multicast, broadcast, IPv6 ULA/link-local/multicast, plus any CIDRs
 * the SOC declares (a site's public ranges). Rarity and beaconing only treat internet peers as
 * candidates for command and control.
 */
const BUILTIN = [
  '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '127.0.0.0/8', '169.254.0.0/16', '100.64.0.0/10',
  '224.0.0.0/4', '240.0.0.0/4', '0.0.0.0/8', 'fc00::/7', 'fe80::/10', 'ff00::/8', '::1/128', '::/128',
];

/**
 * A dotted-quad IPv4 address as an unsigned 32-bit number, or -1 when `ip` is not one in the
 * strict form (no leading zeros, four octets ≤ 255): a char loop, no allocation, no BigInt.
 */
function quad(ip: string): number {
  let v = 0, octet = 0, digits = 0, dots = 0;
  for (let i = 0; i < ip.length; i++) {
    const c = ip.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || dots === 3) return -1;
      v = v * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && octet === 0) return -1; // a leading zero
      octet = octet * 10 + (c - 48);
      if (++digits > 3 || octet > 255) return -1;
    } else return -1;
  }
  return dots === 3 && digits > 0 ? v * 256 + octet : -1;
}

/**
 * A classifier of addresses; unparsable addresses count as internal (never a C2 candidate).
 * IPv4 (nearly every flow) is answered by integer range checks; other text goes through the
 * strict parser with a bounded memo.
 */
export function internalClassifier(extraCidrs: readonly string[] = []): (ip: string) => boolean {
  const all = [...BUILTIN, ...extraCidrs];
  const ranges = new CidrSet(all);
  const v4 = all.flatMap((r) => {
    const c = parseCidr(r);
    return c && c.version === 4 ? [{ base: Number(c.network), size: 2 ** (32 - c.prefix) }] : [];
  });
  const cache = new Map<string, boolean>();
  return (ip) => {
    const q = quad(ip);
    if (q >= 0) {
      // x.x.x.255 is the directed broadcast of the common /24s: chatter, not a peer.
      if ((q & 0xff) === 0xff) return true;
      for (const r of v4) if (q >= r.base && q < r.base + r.size) return true;
      return false;
    }
    let hit = cache.get(ip);
    if (hit !== undefined) return hit;
    const addr = parseIp(ip);
    hit = addr === undefined || ranges.contains(addr) || (addr.version === 4 && (addr.value & 0xffn) === 0xffn);
    if (cache.size >= 65_536) cache.clear(); // bounded memo; recomputing is cheap
    cache.set(ip, hit);
    return hit;
  };
}
