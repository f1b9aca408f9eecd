/**
 * Internal versus internet addresses. "Internal" means not routable on the internet: RFC 1918,
 * loopback, link-local, CGNAT, multicast, broadcast, IPv6 ULA/link-local/multicast, plus any CIDRs
 * the SOC declares (a site's public ranges). Rarity and beaconing only treat internet peers as
 * candidates for command and control.
 */

export interface Cidr {
  v6: boolean;
  /** Network address as a bigint, already masked. */
  net: bigint;
  bits: number;
}

const BUILTIN = [
  '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '127.0.0.0/8', '169.254.0.0/16', '100.64.0.0/10',
  '224.0.0.0/4', '240.0.0.0/4', '0.0.0.0/8', 'fc00::/7', 'fe80::/10', 'ff00::/8', '::1/128', '::/128',
];

function v4ToBig(ip: string): bigint | null {
  const parts = ip.split('.');
  if (parts.length !== 4) return null;
  let n = 0n;
  for (const p of parts) {
    const v = Number(p);
    if (!/^\d{1,3}$/.test(p) || v > 255) return null;
    n = (n << 8n) | BigInt(v);
  }
  return n;
}

function v6ToBig(ip: string): bigint | null {
  const zone = ip.indexOf('%');
  const addr = zone >= 0 ? ip.slice(0, zone) : ip;
  const halves = addr.split('::');
  if (halves.length > 2) return null;
  const groups = (s: string) => (s === '' ? [] : s.split(':'));
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  // An embedded IPv4 tail (::ffff:1.2.3.4) counts as two groups.
  const last = tail.length ? tail : head;
  if (last.length && last[last.length - 1]!.includes('.')) {
    const v4 = v4ToBig(last.pop()!);
    if (v4 === null) return null;
    last.push((v4 >> 16n).toString(16), (v4 & 0xffffn).toString(16));
  }
  const missing = 8 - head.length - tail.length;
  if ((halves.length === 1 && missing !== 0) || missing < 0) return null;
  let n = 0n;
  for (const g of [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail]) {
    if (!/^[0-9a-f]{1,4}$/i.test(g)) return null;
    n = (n << 16n) | BigInt(parseInt(g, 16));
  }
  return n;
}

/** Parses `a.b.c.d/n` or `v6::/n`; throws on a malformed CIDR (configuration error). */
export function parseCidr(cidr: string): Cidr {
  const [addr, len] = cidr.split('/');
  const v6 = addr!.includes(':');
  const n = v6 ? v6ToBig(addr!) : v4ToBig(addr!);
  const max = v6 ? 128 : 32;
  const bits = len === undefined ? max : Number(len);
  if (n === null || !Number.isInteger(bits) || bits < 0 || bits > max) throw new Error(`invalid CIDR ${cidr}`);
  const shift = BigInt(max - bits);
  return { v6, net: (n >> shift) << shift, bits };
}

function contains(c: Cidr, v6: boolean, n: bigint): boolean {
  if (c.v6 !== v6) return false;
  const shift = BigInt((v6 ? 128 : 32) - c.bits);
  return n >> shift === c.net >> shift;
}

/** A classifier of addresses; unparsable addresses count as internal (never a C2 candidate). */
export function internalClassifier(extraCidrs: readonly string[] = []): (ip: string) => boolean {
  const cidrs = [...BUILTIN, ...extraCidrs].map(parseCidr);
  const cache = new Map<string, boolean>();
  return (ip) => {
    let hit = cache.get(ip);
    if (hit !== undefined) return hit;
    const v6 = ip.includes(':');
    const n = v6 ? v6ToBig(ip) : v4ToBig(ip);
    // x.x.x.255 is the directed broadcast of the common /24s: chatter, not a peer.
    hit = n === null || cidrs.some((c) => contains(c, v6, n)) || (!v6 && (n & 0xffn) === 0xffn);
    if (cache.size >= 65_536) cache.clear(); // bounded memo; recomputing is cheap
    cache.set(ip, hit);
    return hit;
  };
}
