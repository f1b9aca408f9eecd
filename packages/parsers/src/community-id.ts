import { parseIp, parseV4Number, type IpAddr } from '@soc/netaddr';
import { digest } from '@soc/schema';

/**
 * Community ID flow hash, version 1 (corelight/community-id-spec): the same flow gets the same id
 * in Zeek, Suricata, Elastic and a partner's data, whichever direction a sensor saw it in.
 * sha1(seed, ordered addresses, protocol, 0, ordered ports) in base64, prefixed "1:". For ICMP
 * and ICMPv6 the type and code stand in for the ports; request/reply types pair up (the
 * counterpart type is the "port"), the other types are one-way and keep their order.
 */
export const PROTOCOL_NUMBERS: Record<string, number> = { icmp: 1, tcp: 6, udp: 17, 'ipv6-icmp': 58, icmpv6: 58, icmp6: 58, sctp: 132 };
const WITH_PORTS = new Set([1, 6, 17, 58, 132]);

const ICMP4_PAIRS: Record<number, number> = { 8: 0, 0: 8, 13: 14, 14: 13, 15: 16, 16: 15, 10: 9, 9: 10, 17: 18, 18: 17 };
const ICMP6_PAIRS: Record<number, number> = { 128: 129, 129: 128, 133: 134, 134: 133, 135: 136, 136: 135, 130: 131, 131: 130, 139: 140, 140: 139, 144: 145, 145: 144 };

/** Writes the address big-endian at `at` (4 or 16 bytes); returns the position after it. */
function writeAddr(buf: Buffer, at: number, ip: IpAddr | number): number {
  if (typeof ip === 'number') return buf.writeUInt32BE(ip, at);
  if (ip.version === 4) return buf.writeUInt32BE(Number(ip.value), at);
  buf.writeBigUInt64BE(ip.value >> 64n, at);
  return buf.writeBigUInt64BE(ip.value & 0xffff_ffff_ffff_ffffn, at + 8);
}

/** The hash input (seed, two IPv6 addresses, protocol, pad, ports) fits 40 bytes; one buffer is reused per call. */
const scratch = Buffer.alloc(40);
/** Views of its first n bytes, made once: a view per call costs more than the hash of 16 bytes. */
const views: Buffer[] = [];
const head = (n: number): Buffer => (views[n] ??= scratch.subarray(0, n));

/**
 * The two addresses as comparable values of one family: plain numbers for two dotted quads (every
 * IPv4 flow: no bigint work), else parsed addresses; undefined when either is none or they differ.
 */
function addressPair(src: string, dst: string): [number, number] | [IpAddr, IpAddr] | undefined {
  const s4 = parseV4Number(src), d4 = parseV4Number(dst);
  if (s4 !== undefined && d4 !== undefined) return [s4, d4];
  const s = parseIp(src), d = parseIp(dst);
  return s && d && s.version === d.version ? [s, d] : undefined;
}

export interface FlowTuple {
  srcIp: string;
  dstIp: string;
  /** IANA protocol number (6 tcp, 17 udp, 1 icmp, 58 ipv6-icmp, 132 sctp, ...). */
  proto: number;
  /** Ports, or ICMP type (src) and code (dst). */
  srcPort?: number;
  dstPort?: number;
}

export function communityId(t: FlowTuple, seed = 0): string | undefined {
  const pair = addressPair(t.srcIp, t.dstIp);
  if (!pair || !Number.isInteger(t.proto) || t.proto < 0 || t.proto > 255) return undefined;
  const ports = WITH_PORTS.has(t.proto);
  if (ports && (t.srcPort === undefined || t.dstPort === undefined)) return undefined;
  let sp = t.srcPort ?? 0;
  let dp = t.dstPort ?? 0;
  let oneWay = false;
  if (t.proto === 1 || t.proto === 58) {
    const counterpart = (t.proto === 1 ? ICMP4_PAIRS : ICMP6_PAIRS)[sp];
    if (counterpart === undefined) oneWay = true;
    else dp = counterpart;
  }
  // Same-family addresses compare as their big-endian bytes do: by value.
  let [a, b] = pair;
  const av = typeof a === 'number' ? a : a.value, bv = typeof b === 'number' ? b : b.value;
  if (!oneWay && (av > bv || (av === bv && sp > dp))) {
    [a, b] = [b, a];
    [sp, dp] = [dp, sp];
  }
  let at = scratch.writeUInt16BE(seed & 0xffff, 0);
  at = writeAddr(scratch, writeAddr(scratch, at, a), b);
  at = scratch.writeUInt8(t.proto, at);
  at = scratch.writeUInt8(0, at);
  if (ports) at = scratch.writeUInt16BE(dp & 0xffff, scratch.writeUInt16BE(sp & 0xffff, at));
  return `1:${digest('sha1', head(at), 'base64')}`;
}
