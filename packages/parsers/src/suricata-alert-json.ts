import { eventId, isIpAddress } from '@soc/schema';
import { communityText, endpoint, ingestedAndOriginal, isPort, jsonRecord, member, observerJson, relatedIpJson, text, textOrAbsent } from './event-text.ts';
import { siteDirection } from './network.ts';
import { canonicalTime } from './time.ts';
import type { EncodedEvent, ParseContext } from './types.ts';
import { isRecord, type Rec } from './util.ts';

/**
 * Suricata EVE alerts written straight to their bus form, as `zeek/conn-json.ts` does for conn
 * lines: an alert storm (a scan, a worm) is all of them. Only an alert of the common shape is
 * taken: TCP or UDP with both ports, the alert object's fields of the types Suricata writes, no
 * value the mapper would cut, and nothing under `suricata.eve` that compaction would change (an
 * empty object, a `__proto__` key). Anything else gives undefined and takes `parseLine`. The text
 * is what `JSON.stringify` of `parseLine`'s event gives: `suricata-alert-json.fuzz.test.ts` holds them
 * against each other.
 */

/** EVE fields that go to ECS whole (the mapper's MOVED); an alert's action and severity (MOVED_WITHIN). */
const MOVED = new Set(['timestamp', 'src_ip', 'dest_ip', 'src_port', 'dest_port', 'proto']);
const TYPE: Record<string, string> = { blocked: '["denied"]', allowed: '["allowed"]' };

/** Whether compaction leaves the value as it is: no empty object and no `__proto__` key at any depth. */
function compactAlready(v: unknown): boolean {
  if (Array.isArray(v)) return v.every(compactAlready);
  if (!isRecord(v)) return true;
  let empty = true;
  for (const k in v) {
    if (k === '__proto__' || !compactAlready(v[k])) return false;
    empty = false;
  }
  return !empty;
}

const severityOrAbsent = (v: unknown): v is number | undefined => v === undefined || (Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 1000);

/** The line as its bus record, or undefined when it is not an alert of the common shape. `line` has no trailing CR. */
export function encodeSuricataAlertJson(line: string, ctx: ParseContext): EncodedEvent | undefined {
  const e = jsonRecord(line);
  // `@timestamp` could make auto-detection call it ECS; `host` goes to observer.hostname over the context's.
  if (!e || e.event_type !== 'alert' || e['@timestamp'] !== undefined || e.host !== undefined) return undefined;
  const a = e.alert;
  if (!isRecord(a) || ctx.observer?.hostname !== undefined) return undefined;
  const { src_ip: sh, dest_ip: dh, src_port: sp, dest_port: dp, app_proto: app, community_id: cid } = e;
  const transport = typeof e.proto === 'string' ? e.proto.toLowerCase() : undefined;
  if ((transport !== 'tcp' && transport !== 'udp') || !isIpAddress(sh) || !isIpAddress(dh) || !isPort(sp) || !isPort(dp)) return undefined;
  const protocol = typeof app === 'string' ? app.toLowerCase() : undefined;
  if (!textOrAbsent(protocol, 64) || (app !== undefined && typeof app !== 'string') || !textOrAbsent(cid, 128)) return undefined;
  const { action, severity, signature_id: sid, signature, category } = a;
  const ruleId = typeof sid === 'number' || typeof sid === 'string' ? String(sid) : sid === undefined ? undefined : null;
  if (!textOrAbsent(action, 256) || !severityOrAbsent(severity) || ruleId === null || !textOrAbsent(ruleId, 128) || !textOrAbsent(signature, 1024) || !textOrAbsent(category, 256)) return undefined;
  const at = canonicalTime(e.timestamp);
  if (at === undefined) return undefined;
  const observer = observerJson(ctx.observer);
  if (observer === null) return undefined;

  // suricata.eve: the record less what went to ECS whole, in its own order.
  const eve: Rec = {};
  for (const k in e) {
    // The mapper keeps a record with its own `__proto__` key whole; assigning one here would set the prototype.
    if (k === '__proto__') return undefined;
    if (MOVED.has(k)) continue;
    if (k !== 'alert') {
      eve[k] = e[k];
      continue;
    }
    const rest: Rec = {};
    for (const ak in a) {
      if (ak === '__proto__') return undefined;
      if (ak !== 'action' && ak !== 'severity') rest[ak] = a[ak];
    }
    eve.alert = rest;
  }
  if (!compactAlready(eve)) return undefined;
  const rule = `${member('id', text(ruleId))}${member('name', text(signature))}${member('category', text(category))}`;
  const json =
    `{"@timestamp":"${at}","event":{"id":"${eventId('suricata.alert', line)}","kind":"alert","category":["network","intrusion_detection"],"type":${(action !== undefined && TYPE[action]) || '["info"]'}` +
    `,"dataset":"suricata.alert","module":"suricata"${member('severity', severity)}${member('action', text(action))}${ingestedAndOriginal(line, ctx)}}` +
    `${member('message', text(signature))}` +
    `,"source":${endpoint(sh, sp)},"destination":${endpoint(dh, dp)}` +
    `,"network":{"transport":"${transport}"${member('protocol', text(protocol))}${member('direction', text(siteDirection(ctx.internal, sh, dh)))}${member('community_id', communityText(cid, sh, dh, transport, sp, dp))}}` +
    `${member('observer', observer)}${rule && `,"rule":{${rule.slice(1)}}`},"related":{"ip":${relatedIpJson(sh, dh)}}` +
    `,"suricata":{"eve":${JSON.stringify(eve)}}}`;
  // The bus key of eventKey: destination.ip.
  return { ok: true, json, key: dh };
}
