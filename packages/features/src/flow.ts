import type { ConnState, EcsEvent } from '@soc/schema';

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
  /** The sensor's own view of which endpoints are local (Zeek local_orig/local_resp), when it has one. */
  localOrig?: boolean;
  localResp?: boolean;
  /** Sensor connection id (Zeek uid), to join per-flow labels and protocol logs. */
  uid?: string;
}

/**
 * The flow carried by a normalised event, or null when the event is not a flow: it must be in the
 * `network` category and carry a connection state and both endpoint addresses.
 */
export function flowFromEvent(e: EcsEvent): Flow | null {
  const state = e.connection?.state;
  const srcIp = e.source?.ip;
  const dstIp = e.destination?.ip;
  if (!e.event.category.includes('network') || !state || !srcIp || !dstIp) return null;
  const ts = Date.parse(e['@timestamp']) / 1000;
  if (!Number.isFinite(ts)) return null;
  const flow: Flow = {
    ts,
    srcIp,
    srcPort: e.source?.port ?? 0,
    dstIp,
    dstPort: e.destination?.port ?? 0,
    proto: (e.network?.transport ?? '').toLowerCase(),
    service: e.network?.protocol ?? '',
    connState: state,
    duration: (e.event.duration ?? 0) / 1e9,
    srcBytes: e.source?.bytes ?? 0,
    dstBytes: e.destination?.bytes ?? 0,
  };
  if (e.source?.packets !== undefined) flow.srcPkts = e.source.packets;
  if (e.destination?.packets !== undefined) flow.dstPkts = e.destination.packets;
  if (e.connection?.local_orig !== undefined) flow.localOrig = e.connection?.local_orig;
  if (e.connection?.local_resp !== undefined) flow.localResp = e.connection?.local_resp;
  const uid = (e.zeek as { session_id?: unknown } | undefined)?.session_id;
  if (typeof uid === 'string') flow.uid = uid;
  return flow;
}
