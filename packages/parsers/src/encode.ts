import type { EcsEvent } from '@soc/schema';
import { MAX_LINE_CHARS, parseLine } from './parse.ts';
import type { EncodeOutcome, ParseContext } from './types.ts';
import { encodeZeekConnJson } from './zeek/conn-json.ts';

/** The bus key of an event: its destination address, so the detector's per-host windows see it in order. */
export const eventKey = (e: EcsEvent): string | null => e.destination?.ip ?? e.source?.ip ?? e.host?.name ?? null;

/**
 * One input line to its bus record (the event as JSON text and its key) or a rejection: what
 * `JSON.stringify` of `parseLine`'s event gives, with Zeek conn JSON lines of the common shape
 * written straight to text (`zeek/conn-json.ts`). Never throws.
 */
export function encodeLine(line: string, ctx: ParseContext): EncodeOutcome {
  // A cheap look before JSON.parse: the other lines (DNS, alerts) would be parsed twice.
  if ((ctx.format === 'auto' || ctx.format === 'zeek') && typeof line === 'string' && line.charCodeAt(0) === 0x7b && line.length <= MAX_LINE_CHARS && line.includes('"conn_state"')) {
    try {
      const fast = encodeZeekConnJson(line.endsWith('\r') ? line.slice(0, -1) : line, ctx);
      if (fast) return fast;
    } catch {
      // An encoder bug must not cost the line: parseLine decides, and reports.
    }
  }
  const o = parseLine(line, ctx);
  return o.ok ? { ok: true, json: JSON.stringify(o.event), key: eventKey(o.event) } : o;
}
