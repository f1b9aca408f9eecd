import { CidrSet, parseIp } from '@soc/netaddr';

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

/** A classifier of addresses; unparsable addresses count as internal (never a C2 candidate). */
export function internalClassifier(extraCidrs: readonly string[] = []): (ip: string) => boolean {
  const ranges = new CidrSet([...BUILTIN, ...extraCidrs]);
  const cache = new Map<string, boolean>();
  return (ip) => {
    let hit = cache.get(ip);
    if (hit !== undefined) return hit;
    const addr = parseIp(ip);
    // x.x.x.255 is the directed broadcast of the common /24s: chatter, not a peer.
    hit = addr === undefined || ranges.contains(addr) || (addr.version === 4 && (addr.value & 0xffn) === 0xffn);
    if (cache.size >= 65_536) cache.clear(); // bounded memo; recomputing is cheap
    cache.set(ip, hit);
    return hit;
  };
}
