import { eventId, isIpAddress, type ConnState } from '@soc/schema';
import { communityText, countOrAbsent, endpoint, ingestedAndOriginal, isPort, jsonRecord, member, observerJson, relatedIpJson, sum, text, textOrAbsent } from '../event-text.ts';
import { directionOf, siteDirection } from '../network.ts';
import { canonicalTime, secondsToNanos } from '../time.ts';
import type { EncodedEvent, ParseContext } from '../types.ts';
import { CONN_STATE_TYPES } from './map.ts';
import { zeekPathOf } from './record.ts';

/**
 * Zeek conn JSON lines, most of what a SOC's sensors send, written straight to their bus form:
 * the checks `EcsEvent` makes on these fields, then the event's JSON text put together in the
 * schema's key order, without the draft objects, compaction, zod's copy and a full
 * `JSON.stringify` (together about half of the parser thread's time on the realistic mix).
 *
 * Only a line of the common shape is taken: every field one conn.log writes, of the type Zeek
 * writes it, TCP or UDP, a known conn_state. Anything else (ICMP, nested `id`, a null, an
 * unknown field, a value the schema would refuse or a mapper would cut) gives undefined, and the
 * line takes `parseLine`, which decides. The result is the same text `JSON.stringify` of
 * `parseLine`'s event gives, byte for byte: `conn-json.fuzz.test.ts` holds the two against each other.
 */

/** conn.log fields kept under `zeek.connection` as Zeek wrote them (scalars). */
const KEPT = new Set(['orig_bytes', 'resp_bytes', 'missed_bytes', 'history', 'local_orig', 'local_resp', 'vlan', 'inner_vlan', 'ip_proto', 'community_id']);
/** event.type per conn_state, as JSON text. */
const TYPES = new Map<string, string>(Object.entries(CONN_STATE_TYPES).map(([state, types]) => [state, JSON.stringify(types)]));

/** The line as its bus record, or undefined when it is not a conn line of the common shape. `line` has no trailing CR. */
export function encodeZeekConnJson(line: string, ctx: ParseContext): EncodedEvent | undefined {
  const o = jsonRecord(line);
  if (!o) return undefined;
  let ts, uid, sh, sp, dh, dp, proto, service, duration, state, ob, rb, op, rp, smac, dmac, lo, lr, cid;
  let kept = '';
  for (const k in o) {
    const v = o[k];
    switch (k) {
      case 'ts': ts = v; break;
      case 'uid': uid = v; break;
      case 'id.orig_h': sh = v; break;
      case 'id.orig_p': sp = v; break;
      case 'id.resp_h': dh = v; break;
      case 'id.resp_p': dp = v; break;
      case 'proto': proto = v; break;
      case 'service': service = v; break;
      case 'duration': duration = v; break;
      case 'orig_ip_bytes': ob = v; break;
      case 'resp_ip_bytes': rb = v; break;
      case 'orig_pkts': op = v; break;
      case 'resp_pkts': rp = v; break;
      case 'orig_l2_addr': smac = v; break;
      case 'resp_l2_addr': dmac = v; break;
      case '_path': break;
      case '_write_ts': if (typeof v !== 'string') return undefined; break;
      case 'conn_state':
        // Elastic's name for it, in place.
        if (typeof v !== 'string') return undefined;
        state = v;
        kept += `,"state":${JSON.stringify(v)}`;
        break;
      case 'tunnel_parents':
        // A set of uids; Zeek writes it empty as [].
        if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) return undefined;
        kept += `,"tunnel_parents":${JSON.stringify(v)}`;
        break;
      default: {
        if (!KEPT.has(k)) return undefined;
        if (typeof v === 'string') kept += `,"${k}":${JSON.stringify(v)}`;
        else if (typeof v === 'number' || typeof v === 'boolean') kept += `,"${k}":${v}`;
        else return undefined;
        if (k === 'local_orig') lo = v;
        else if (k === 'local_resp') lr = v;
        else if (k === 'community_id') cid = v;
      }
    }
  }
  if (zeekPathOf(o, ctx.zeekPath) !== 'conn') return undefined;
  const types = typeof state === 'string' ? TYPES.get(state as ConnState) : undefined;
  if (types === undefined || typeof uid !== 'string' || uid === '' || (proto !== 'tcp' && proto !== 'udp')) return undefined;
  if (!isIpAddress(sh) || !isIpAddress(dh) || !isPort(sp) || !isPort(dp)) return undefined;
  if (!countOrAbsent(ob) || !countOrAbsent(rb) || !countOrAbsent(op) || !countOrAbsent(rp)) return undefined;
  if (!textOrAbsent(service, 64) || !textOrAbsent(smac, 64) || !textOrAbsent(dmac, 64)) return undefined;
  if ((lo !== undefined && typeof lo !== 'boolean') || (lr !== undefined && typeof lr !== 'boolean') || (cid !== undefined && (typeof cid !== 'string' || cid.length > 128))) return undefined;
  const at = canonicalTime(ts);
  const nanos = duration === undefined ? undefined : secondsToNanos(duration);
  const bytes = sum(ob, rb), packets = sum(op, rp);
  if (at === undefined || (duration !== undefined && (nanos === undefined || nanos > Number.MAX_SAFE_INTEGER))) return undefined;
  if ((bytes !== undefined && !Number.isSafeInteger(bytes)) || (packets !== undefined && !Number.isSafeInteger(packets))) return undefined;
  const observer = observerJson(ctx.observer);
  if (observer === null) return undefined;

  const direction = lo !== undefined && lr !== undefined ? directionOf(lo, lr) : siteDirection(ctx.internal, sh, dh);
  // Addresses, ports, counts, the protocol and a computed Community ID need no escaping; text from the sensor does.
  const json =
    `{"@timestamp":"${at}","event":{"id":"${eventId('zeek.conn', line)}","kind":"event","category":["network"],"type":${types},"dataset":"zeek.conn","module":"zeek"` +
    `${member('duration', nanos)}${ingestedAndOriginal(line, ctx)}}` +
    `,"source":${endpoint(sh, sp, ob, op, smac)},"destination":${endpoint(dh, dp, rb, rp, dmac)}` +
    `,"network":{"transport":"${proto}"${member('protocol', text(service))}${member('direction', text(direction))}${member('bytes', bytes)}${member('packets', packets)}${member('community_id', communityText(cid, sh, dh, proto, sp, dp))}}` +
    `${member('observer', observer)},"related":{"ip":${relatedIpJson(sh, dh)}}` +
    `,"zeek":{"session_id":${JSON.stringify(uid)},"connection":{${kept.slice(1)}}}}`;
  // The bus key of eventKey: destination.ip, which a conn line always has here.
  return { ok: true, json, key: dh };
}
