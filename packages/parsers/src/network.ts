import type { CidrSet } from '@soc/netaddr';
import { communityId, PROTOCOL_NUMBERS } from './community-id.ts';
import type { Draft } from './types.ts';
import { isRecord } from './util.ts';

/**
 * Completes the draft in place with what every network event gets whatever its sensor: `network.community_id` (Community ID v1)
 * when the sensor did not send one, so an analyst can pivot between Zeek, Suricata and partner
 * data; `network.direction` from the configured internal networks when the sensor did not state
 * it (ECS values: internal, outbound, inbound, external), as Elastic's network_direction does.
 */
export function enrichNetwork(draft: Draft, internal?: CidrSet): void {
  const src = draft.source?.ip, dst = draft.destination?.ip;
  if (!src || !dst) return;
  // In place: the draft is the mapper's own. A network object left empty is dropped by compact.
  const network = (draft.network ??= {});
  if (!network.community_id) {
    const id = flowCommunityId(draft, src, dst);
    if (id) network.community_id = id;
  }
  if (!network.direction && internal) network.direction = siteDirection(internal, src, dst);
}

/** ECS `network.direction` from whether each end is internal. */
export const directionOf = (srcInternal: boolean, dstInternal: boolean): 'internal' | 'outbound' | 'inbound' | 'external' =>
  srcInternal ? (dstInternal ? 'internal' : 'outbound') : dstInternal ? 'inbound' : 'external';

/** `network.direction` from this SOC's internal networks, when they are configured. */
export const siteDirection = (internal: CidrSet | undefined, src: string, dst: string): ReturnType<typeof directionOf> | undefined =>
  internal ? directionOf(internal.contains(src), internal.contains(dst)) : undefined;

function icmpOf(draft: Draft): { type?: unknown; code?: unknown } | undefined {
  const zeek = draft.zeek && Object.values(draft.zeek).find((v) => isRecord(v) && isRecord(v.icmp));
  if (zeek) return (zeek as { icmp: { type?: unknown; code?: unknown } }).icmp;
  const eve = draft.suricata?.eve;
  return isRecord(eve) && eve.icmp_type !== undefined ? { type: eve.icmp_type, code: eve.icmp_code } : undefined;
}

function flowCommunityId(draft: Draft, src: string, dst: string): string | undefined {
  const t = draft.network?.transport?.toLowerCase();
  if (!t) return undefined;
  let proto = PROTOCOL_NUMBERS[t];
  if (proto === undefined) return undefined;
  // Zeek says "icmp" for ICMPv6 too; the address family tells them apart.
  if (proto === 1 && src.includes(':')) proto = 58;
  if (proto === 1 || proto === 58) {
    const icmp = icmpOf(draft);
    const type = Number(icmp?.type), code = Number(icmp?.code);
    if (!Number.isInteger(type) || !Number.isInteger(code)) return undefined;
    return communityId({ srcIp: src, dstIp: dst, proto, srcPort: type, dstPort: code });
  }
  return communityId({ srcIp: src, dstIp: dst, proto, srcPort: draft.source?.port, dstPort: draft.destination?.port });
}
