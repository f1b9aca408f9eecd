import type { EcsEvent } from '@soc/schema';
import { MAX_LINE_CHARS, parseLine } from './parse.ts';
import { encodeSuricataAlertJson } from './suricata-alert-json.ts';
import type { EncodedEvent, EncodeOutcome, ParseContext } from './types.ts';
import { encodeZeekConnJson } from './zeek/conn-json.ts';
import { encodeZeekDnsJson } from './zeek/dns-json.ts';

type Encoder = (line: string, ctx: ParseContext) => EncodedEvent | undefined;

/**
 * The direct encoder a JSON line may be for, by a cheap look (a substring, before JSON.parse:
 * the other lines would be parsed twice); the encoder itself decides.
 */
function directEncoder(line: string, format: ParseContext['format']): Encoder | undefined {
  if ((format === 'auto' || format === 'zeek') && line.includes('"conn_state"')) return encodeZeekConnJson;
  if ((format === 'auto' || format === 'zeek') && line.includes('"trans_id"')) return encodeZeekDnsJson;
  if ((format === 'auto' || format === 'suricata') && line.includes('"event_type":"alert"')) return encodeSuricataAlertJson;
  return undefined;
}

/** The bus key of an event: its destination address, so the detector's per-host windows see it in order. */
export const eventKey = (e: EcsEvent): string | null => e.destination?.ip ?? e.source?.ip ?? e.host?.name ?? null;

/**
 * One input line to its bus record (the event as JSON text and its key) or a rejection: what
 * `JSON.stringify` of `parseLine`'s event gives, with Zeek conn and dns lines and Suricata alerts
 * of the common shape written straight to text (`zeek/conn-json.ts`, `zeek/dns-json.ts`,
 * `suricata-alert-json.ts`). Never throws.
 */
export function encodeLine(line: string, ctx: ParseContext): EncodeOutcome {
  const direct = typeof line === 'string' && line.charCodeAt(0) === 0x7b && line.length <= MAX_LINE_CHARS ? directEncoder(line, ctx.format) : undefined;
  if (direct) {
    try {
      const fast = direct(line.endsWith('\r') ? line.slice(0, -1) : line, ctx);
      if (fast) return fast;
    } catch {
      // An encoder bug must not cost the line: parseLine decides, and reports.
    }
  }
  const o = parseLine(line, ctx);
  return o.ok ? { ok: true, json: JSON.stringify(o.event), key: eventKey(o.event) } : o;
}
