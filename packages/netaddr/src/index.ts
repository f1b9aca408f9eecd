/**
 * IPv4/IPv6 parsing, canonical formatting and CIDR matching on bigints. Strict on purpose:
 * a lenient parser (octal octets, short forms) would let "010.0.0.1" slip past an internal-range
 * check and leave the SOC unpseudonymised.
 */
export interface IpAddr {
  version: 4 | 6;
  value: bigint;
}

export interface Cidr {
  version: 4 | 6;
  network: bigint;
  prefix: number;
}

const V6_GROUP = /^[0-9a-fA-F]{1,4}$/;

/**
 * A strict dotted quad as a 32-bit number: four decimal octets 0-255, no leading zeros, ASCII
 * digits only. Scanned by character code (no split or regex): every event's addresses pass here.
 */
export function parseV4Number(s: string): number | undefined {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let parts = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 0x2e;
    if (c === 0x2e) {
      // An empty octet, or a multi-digit one starting with 0 (octal in some parsers), is refused.
      if (digits === 0 || octet > 255 || ++parts > 4) return undefined;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      if (digits === 1 && octet === 0) return undefined;
      if (++digits > 3) return undefined;
      octet = octet * 10 + (c - 0x30);
    } else return undefined;
  }
  return parts === 4 ? value : undefined;
}

function parseV4(s: string): bigint | undefined {
  const v = parseV4Number(s);
  return v === undefined ? undefined : BigInt(v);
}

function parseV6(input: string): bigint | undefined {
  let s = input;
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  // An embedded dotted IPv4 tail (::ffff:192.0.2.1) stands for the last two groups: rewrite it as hex.
  const lastColon = s.lastIndexOf(':');
  if (s.includes('.', lastColon)) {
    const v4 = parseV4(s.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    s = `${s.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const parse = (h: string): bigint[] | undefined => {
    if (h === '') return [];
    const groups = h.split(':');
    const out: bigint[] = [];
    for (const g of groups) {
      if (!V6_GROUP.test(g)) return undefined;
      out.push(BigInt(parseInt(g, 16)));
    }
    return out;
  };
  const head = parse(halves[0]!);
  const rest = halves.length === 2 ? parse(halves[1]!) : [];
  if (!head || !rest) return undefined;
  let groups: bigint[];
  if (halves.length === 2) {
    const missing = 8 - head.length - rest.length;
    if (missing < 1) return undefined;
    groups = [...head, ...Array<bigint>(missing).fill(0n), ...rest];
  } else {
    if (head.length !== 8) return undefined;
    groups = head;
  }
  return groups.reduce((acc, g) => (acc << 16n) | g, 0n);
}

/** Parses an address; IPv4-mapped IPv6 (::ffff:a.b.c.d) is returned as IPv4 so IPv4 ranges match it. */
export function parseIp(s: string): IpAddr | undefined {
  if (s.includes(':')) {
    const v = parseV6(s);
    if (v === undefined) return undefined;
    if (v >> 32n === 0xffffn) return { version: 4, value: v & 0xffffffffn };
    return { version: 6, value: v };
  }
  const v = parseV4(s);
  return v === undefined ? undefined : { version: 4, value: v };
}

/** Whether `s` is an address (what parseIp accepts), without building it: schema checks ask this of every event's addresses. */
export function isIp(s: string): boolean {
  return s.includes(':') ? parseV6(s) !== undefined : parseV4Number(s) !== undefined;
}

/** RFC 5952 text form for IPv6 (lowercase, longest zero run compressed), dotted quad for IPv4. */
export function formatIp(ip: IpAddr): string {
  if (ip.version === 4) return [24n, 16n, 8n, 0n].map((s) => String((ip.value >> s) & 0xffn)).join('.');
  const groups = Array.from({ length: 8 }, (_, i) => Number((ip.value >> BigInt(112 - 16 * i)) & 0xffffn));
  let best = -1;
  let bestLen = 1; // RFC 5952 §4.2.2: a single zero group is not compressed
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/** The canonical text of an address, or undefined when `s` is not one. */
export function normalizeIp(s: string): string | undefined {
  const ip = parseIp(s);
  return ip ? formatIp(ip) : undefined;
}

export function parseCidr(s: string): Cidr | undefined {
  const [addr, len, extra] = s.split('/');
  if (addr === undefined || extra !== undefined) return undefined;
  // parseV6 directly: a range written in IPv6 stays IPv6 even when it covers mapped addresses.
  const v6 = addr.includes(':') ? parseV6(addr) : undefined;
  const ip: IpAddr | undefined = v6 !== undefined ? { version: 6, value: v6 } : addr.includes(':') ? undefined : parseIp(addr);
  if (!ip) return undefined;
  const bits = ip.version === 4 ? 32 : 128;
  const prefix = len === undefined ? bits : /^\d{1,3}$/.test(len) ? Number(len) : NaN;
  if (!(prefix >= 0 && prefix <= bits)) return undefined;
  const shift = BigInt(bits - prefix);
  return { version: ip.version, network: (ip.value >> shift) << shift, prefix };
}

export function cidrContains(cidr: Cidr, ip: IpAddr): boolean {
  if (cidr.version !== ip.version) return false;
  const shift = BigInt((ip.version === 4 ? 32 : 128) - cidr.prefix);
  return ip.value >> shift === cidr.network >> shift;
}

/** A compiled set of ranges; `contains` answers "is this address one of ours?". */
export class CidrSet {
  private readonly cidrs: Cidr[];
  constructor(ranges: readonly string[]) {
    this.cidrs = ranges.map((r) => {
      const c = parseCidr(r);
      if (!c) throw new RangeError(`not a CIDR range: ${r}`);
      return c;
    });
  }
  contains(addr: string | IpAddr): boolean {
    const ip = typeof addr === 'string' ? parseIp(addr) : addr;
    return ip !== undefined && this.cidrs.some((c) => cidrContains(c, ip));
  }
}
