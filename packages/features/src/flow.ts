import { flowState, type ConnState, type EcsEvent } from '@soc/schema';

/** A finished connection as the detector sees it, whatever the sensor (Zeek conn.log, NetFlow). */
export interface Flow {
  /** Connection start, epoch seconds. */
  ts: number;
  srcIp: string;
  srcPort: number;
  dstIp: string;
  dstPort: number;
  proto: 'tcp' | 'udp' | 'icmp' | string;
  /** Sensor's application protocol name(s); '' or '-' when unknown. */
  service: string;
  connState: ConnState;
  /** Seconds. */
  duration: number;
  srcBytes: number;
  dstBytes: number;
  srcPkts?: number;
  dstPkts?: number;
  /** The sensor's own view of which endpoints are local (Zeek local_orig/local_resp via ECS network.direction). */
  localOrig?: boolean;
  localResp?: boolean;
  /** Sensor connection id (Zeek uid), to join per-flow labels and protocol logs. */
  uid?: string;
}

function icmp(e: EcsEvent, part: 'type' | 'code'): number | undefined {
  const zeek = (e.zeek?.connection as { icmp?: Record<string, unknown> } | undefined)?.icmp?.[part];
  const eve = (e.suricata?.eve as Record<string, unknown> | undefined)?.[`icmp_${part}`];
  const v = zeek ?? eve;
  return typeof v === 'number' && Number.isInteger(v) ? v : undefined;
}

function payload(e: EcsEvent, key: 'orig_bytes' | 'resp_bytes'): number | undefined {
  const v = (e.zeek?.connection as Record<string, unknown> | undefined)?.[key];
  return typeof v === 'number' && v >= 0 ? v : undefined;
}

/**
 * The flow carried by a normalised event, or null when the event is not a flow: it must be in the
 * `network` category and carry a connection state and both endpoint addresses.
 */
export function flowFromEvent(e: EcsEvent): Flow | null {
  const state = flowState(e);
  const srcIp = e.source?.ip;
  const dstIp = e.destination?.ip;
  if (!e.event.category.includes('network') || !state || !srcIp || !dstIp) return null;
  const ts = Date.parse(e['@timestamp']) / 1000;
  if (!Number.isFinite(ts)) return null;
  const flow: Flow = {
    ts,
    srcIp,
    // ICMP has no ports; Zeek's convention (type as source port, code as destination port) is
    // what the KDD service table reads, so the type and code stand in for them.
    srcPort: e.source?.port ?? icmp(e, 'type') ?? 0,
    dstIp,
    dstPort: e.destination?.port ?? icmp(e, 'code') ?? 0,
    proto: (e.network?.transport ?? '').toLowerCase(),
    service: e.network?.protocol ?? '',
    connState: state,
    duration: (e.event.duration ?? 0) / 1e9,
    // NSL-KDD src_bytes/dst_bytes are payload bytes: Zeek's orig_bytes/resp_bytes where the sensor
    // gives them (source.bytes is IP-level, as ECS and Elastic's integration define it).
    srcBytes: payload(e, 'orig_bytes') ?? e.source?.bytes ?? 0,
    dstBytes: payload(e, 'resp_bytes') ?? e.destination?.bytes ?? 0,
  };
  if (e.source?.packets !== undefined) flow.srcPkts = e.source.packets;
  if (e.destination?.packets !== undefined) flow.dstPkts = e.destination.packets;
  // ECS network.direction carries the sensor's local_orig/local_resp (Zeek Site::local_nets).
  const dir = e.network?.direction;
  if (dir === 'internal' || dir === 'outbound' || dir === 'inbound' || dir === 'external') {
    flow.localOrig = dir === 'internal' || dir === 'outbound';
    flow.localResp = dir === 'internal' || dir === 'inbound';
  }
  const uid = (e.zeek as { session_id?: unknown } | undefined)?.session_id;
  if (typeof uid === 'string') flow.uid = uid;
  return flow;
}
