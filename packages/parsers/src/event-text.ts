import { Observer } from '@soc/schema';
import { communityId, PROTOCOL_NUMBERS } from './community-id.ts';
import { ingestedOf, receivedAtOf } from './parse.ts';
import type { ParseContext } from './types.ts';
import { compact, hasEnumerableKey, isRecord, type Rec } from './util.ts';

/**
 * Pieces the direct encoders (`zeek/conn-json.ts`, `zeek/dns-json.ts`, `suricata-alert-json.ts`) write events from:
 * the schema's checks on a value as predicates, and JSON text in the schema's key order.
 */

/**
 * The line's JSON object, or undefined when it is none or when Object.prototype has an enumerable
 * key (for…in would visit it: the generic path copes with that, the encoders leave it to it).
 */
export function jsonRecord(line: string): Rec | undefined {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return undefined;
  }
  return isRecord(v) && !hasEnumerableKey(Object.prototype) ? v : undefined;
}

export const isPort = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 65535;
/** Absent, or a count the schema takes (`count` in util.ts would drop anything else: the generic path decides). */
export const countOrAbsent = (v: unknown): v is number | undefined => v === undefined || (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0);
/** Absent, or text a mapper carries whole: not empty (`str` drops it) and not over the schema's bound (`clip` cuts it). */
export const textOrAbsent = (v: unknown, max: number): v is string | undefined => v === undefined || (typeof v === 'string' && v.length > 0 && v.length <= max);
export const sum = (a: number | undefined, b: number | undefined): number | undefined => (a === undefined || b === undefined ? undefined : a + b);
/** `,"key":value` when there is a value (text already JSON); nothing when there is none, as compaction leaves it. */
export const member = (key: string, json: string | number | undefined): string => (json === undefined ? '' : `,"${key}":${json}`);
export const text = (v: string | undefined): string | undefined => (v === undefined ? undefined : JSON.stringify(v));

/**
 * The context's observer as JSON text, none, or null when the schema refuses it; worked out once
 * per request (its lines share the object), again when the object or one of its fields changes.
 */
let observerOf: ParseContext['observer'];
let observerFields: unknown[] = [];
let observerText: string | undefined | null;
export function observerJson(observer: ParseContext['observer']): string | undefined | null {
  if (observer !== observerOf || observer?.ip !== observerFields[0] || observer?.hostname !== observerFields[1] || observer?.name !== observerFields[2]) {
    observerOf = observer;
    observerFields = [observer?.ip, observer?.hostname, observer?.name];
    const c = observer && compact({ ...observer });
    const r = c && Object.keys(c).length ? Observer.safeParse(c) : undefined;
    observerText = r === undefined ? undefined : r.success ? JSON.stringify(r.data) : null;
  }
  return observerText;
}

/** `source` / `destination`: an address the schema takes (no escaping needed), a port, the optional counters and MAC. */
export function endpoint(ip: string, port: number | undefined, bytes?: number, packets?: number, mac?: string): string {
  return `{"ip":"${ip}"${member('port', port)}${member('bytes', bytes)}${member('packets', packets)}${member('mac', text(mac))}}`;
}

/** `"ingested"` and, unless turned off, `"original"`: what `finish` in parse.ts adds to every event, as members. */
export const ingestedAndOriginal = (line: string, ctx: ParseContext): string =>
  `,"ingested":"${ingestedOf(receivedAtOf(ctx))}"${ctx.preserveOriginal === false ? '' : member('original', JSON.stringify(line))}`;

/** `network.community_id` as text: the sensor's, else the flow's (Community ID v1), else none. */
export const communityText = (given: string | undefined, src: string, dst: string, transport: 'tcp' | 'udp', srcPort: number, dstPort: number): string | undefined =>
  text(given || communityId({ srcIp: src, dstIp: dst, proto: PROTOCOL_NUMBERS[transport]!, srcPort, dstPort }) || undefined);

/** `related.ip`: both addresses, once each. */
export const relatedIpJson = (src: string, dst: string): string => (src === dst ? `["${src}"]` : `["${src}","${dst}"]`);
