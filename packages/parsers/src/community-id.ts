import { createHash } from 'node:crypto';
import { parseIp, type IpAddr } from '@soc/netaddr';

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

function addrBytes(ip: IpAddr): Buffer {
  if (ip.version === 4) {
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32BE(Number(ip.value));
    return b;
  }
  const b = Buffer.allocUnsafe(16);
  b.writeBigUInt64BE(ip.value >> 64n);
  b.writeBigUInt64BE(ip.value & 0xffff_ffff_ffff_ffffn, 8);
  return b;
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
  const s = parseIp(t.srcIp);
  const d = parseIp(t.dstIp);
  if (!s || !d || s.version !== d.version || !Number.isInteger(t.proto) || t.proto < 0 || t.proto > 255) return undefined;
  const ports = WITH_PORTS.has(t.proto);
  if (ports && (t.srcPort === undefined || t.dstPort === undefined)) return undefined;
  let sp = t.srcPort ?? 0;
  let dp = t.dstPort ?? 0;
  let oneWay = false;
  if (t.proto === 1 || t.proto === 58) {
    const pair = (t.proto === 1 ? ICMP4_PAIRS : ICMP6_PAIRS)[sp];
    if (pair === undefined) oneWay = true;
    else dp = pair;
  }
  let a = addrBytes(s), b = addrBytes(d);
  const cmp = Buffer.compare(a, b);
  if (!oneWay && (cmp > 0 || (cmp === 0 && sp > dp))) {
    [a, b] = [b, a];
    [sp, dp] = [dp, sp];
  }
  const head = Buffer.from([(seed >> 8) & 0xff, seed & 0xff]);
  const parts = [head, a, b, Buffer.from([t.proto, 0])];
  if (ports) parts.push(Buffer.from([(sp >> 8) & 0xff, sp & 0xff, (dp >> 8) & 0xff, dp & 0xff]));
  return `1:${createHash('sha1').update(Buffer.concat(parts)).digest('base64')}`;
}
