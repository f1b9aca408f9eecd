import { eventId, isIpAddress } from '@soc/schema';
import { communityText, endpoint, ingestedAndOriginal, isPort, jsonRecord, member, observerJson, relatedIpJson, text, textOrAbsent } from '../event-text.ts';
import { siteDirection } from '../network.ts';
import { detectJsonKind } from '../parse.ts';
import { canonicalTime } from '../time.ts';
import type { EncodedEvent, ParseContext } from '../types.ts';
import { str, type Rec } from '../util.ts';
import { TIME_FIELDS, zeekPathOf } from './record.ts';

/**
 * Zeek dns JSON lines, a SOC's second most common record after conn, written straight to their
 * bus form as `conn-json.ts` does: the mapper's `dns.*` promotions (`zeek/map.ts`), every field
 * but the connection's under `zeek.dns`, as Zeek wrote it. Only a line of the common shape is
 * taken: TCP or UDP, fields that are scalars or arrays of scalars, a numeric `trans_id`. Anything
 * else gives undefined and takes `parseLine`. `dns-json.fuzz.test.ts` holds the text to the generic path's.
 */

/** What the mapper promotes to source, destination and the session: left out of `zeek.dns`. */
const PROMOTED = new Set(['ts', 'uid', 'id.orig_h', 'id.orig_p', 'id.resp_h', 'id.resp_p']);
const WRITER = new Set(['_path', '_write_ts']);
const isScalar = (v: unknown): boolean => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';

/** The line as its bus record, or undefined when it is not a dns line of the common shape. `line` has no trailing CR. */
export function encodeZeekDnsJson(line: string, ctx: ParseContext): EncodedEvent | undefined {
  const o = jsonRecord(line);
  if (!o || (ctx.format === 'auto' && detectJsonKind(o) !== 'zeek')) return undefined;
  if (zeekPathOf(o, ctx.zeekPath) !== 'dns') return undefined;
  const kept: Rec = {};
  let any = false;
  for (const k in o) {
    const v = o[k];
    // A time field is converted, a nested object flattened, an unset one dropped, a `__proto__` key kept whole: parseLine's.
    if (k === '__proto__' || (TIME_FIELDS.has(k) && k !== 'ts')) return undefined;
    if (WRITER.has(k)) {
      if (!isScalar(v)) return undefined;
    } else if (!PROMOTED.has(k)) {
      if (!isScalar(v) && !(Array.isArray(v) && v.every(isScalar))) return undefined;
      kept[k] = v;
      any = true;
    }
  }
  const { uid, 'id.orig_h': sh, 'id.orig_p': sp, 'id.resp_h': dh, 'id.resp_p': dp, proto, trans_id: tid, answers, community_id: cid } = o;
  if (typeof uid !== 'string' || uid === '' || (proto !== 'tcp' && proto !== 'udp') || !isIpAddress(sh) || !isIpAddress(dh) || !isPort(sp) || !isPort(dp)) return undefined;
  if ((tid !== undefined && typeof tid !== 'number') || !textOrAbsent(cid, 128)) return undefined;
  const at = canonicalTime(o.ts);
  if (at === undefined) return undefined;
  const observer = observerJson(ctx.observer);
  if (observer === null) return undefined;

  const question = `${member('name', text(str(o.query)))}${member('type', text(str(o.qtype_name)))}${member('class', text(str(o.qclass_name)))}`;
  const dns =
    `${member('id', text(tid === undefined ? undefined : String(tid)))}${question && `,"question":{${question.slice(1)}}`}` +
    `${member('response_code', text(str(o.rcode_name)))}${Array.isArray(answers) ? `,"answers":${JSON.stringify(answers.map((data) => ({ data })))}` : ''}`;
  const json =
    `{"@timestamp":"${at}","event":{"id":"${eventId('zeek.dns', line)}","kind":"event","category":["network"],"type":["connection","protocol","info"],"dataset":"zeek.dns","module":"zeek"` +
    `${ingestedAndOriginal(line, ctx)}}` +
    `,"source":${endpoint(sh, sp)},"destination":${endpoint(dh, dp)}` +
    `,"network":{"transport":"${proto}","protocol":"dns"${member('direction', text(siteDirection(ctx.internal, sh, dh)))}${member('community_id', communityText(cid, sh, dh, proto, sp, dp))}}` +
    `${member('observer', observer)},"related":{"ip":${relatedIpJson(sh, dh)}}` +
    `${dns && `,"dns":{${dns.slice(1)}}`},"zeek":{"session_id":${JSON.stringify(uid)}${any ? `,"dns":${JSON.stringify(kept)}` : ''}}}`;
  // The bus key of eventKey: destination.ip.
  return { ok: true, json, key: dh };
}
