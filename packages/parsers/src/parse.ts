import { EcsEvent, eventId } from '@soc/schema';
import { enrichNetwork } from './network.ts';
import { mapSuricata } from './suricata.ts';
import { mapSyslog } from './syslog.ts';
import type { Draft, DraftOutcome, ParseContext, ParseOutcome } from './types.ts';
import { reject } from './types.ts';
import { jsonDepthExceeds } from './lines.ts';
import { compact, isRecord, type Rec } from './util.ts';
import { mapZeek } from './zeek/map.ts';
import { zeekRecordFromJson } from './zeek/record.ts';
import { parseZeekTsvRow, ZeekTsvReader } from './zeek/tsv.ts';

/** The schema's limit on event.original; longer lines are refused rather than cut. */
export const MAX_LINE_CHARS = 1_048_576;
/** JSON nesting deeper than this is refused before parsing (mapping and serialising recurse). */
const MAX_JSON_DEPTH = 64;

type JsonKind = 'ecs' | 'suricata' | 'zeek';

/** Which sensor wrote a JSON object, by the fields only that sensor writes. */
export function detectJsonKind(obj: Rec): JsonKind | undefined {
  const ev = obj.event;
  if (obj['@timestamp'] !== undefined && isRecord(ev) && (ev.dataset !== undefined || ev.kind !== undefined)) return 'ecs';
  if (typeof obj.event_type === 'string') return 'suricata';
  if (obj.ts !== undefined && (obj.uid !== undefined || obj._path !== undefined || obj['id.orig_h'] !== undefined || isRecord(obj.id))) return 'zeek';
  if (obj.ts !== undefined) return 'zeek'; // x509, software, known_services… have no uid
  return undefined;
}

function parseJsonObject(line: string): { ok: true; obj: Rec } | { ok: false; reason: string } {
  if (jsonDepthExceeds(line, MAX_JSON_DEPTH)) return reject(`JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    return reject(`invalid JSON: ${(err as Error).message.slice(0, 200)}`);
  }
  return isRecord(value) ? { ok: true, obj: value } : reject('JSON line is not an object');
}

function zeekJson(obj: Rec, ctx: ParseContext): DraftOutcome {
  const r = zeekRecordFromJson(obj, ctx.zeekPath);
  return r.ok ? mapZeek(r.record) : r;
}

function zeekTsv(line: string, ctx: ParseContext): DraftOutcome {
  if (line.startsWith('#')) return reject('zeek TSV: header line, not an event (feed headers to ZeekTsvReader)');
  if (!ctx.zeekTsv) return reject('zeek TSV: row without a #fields/#types header');
  const r = parseZeekTsvRow(ctx.zeekTsv, line);
  return r.ok ? mapZeek(r.record) : r;
}

/** An already-normalised event (re-sent by another collector) keeps its id and original. */
function ecsPassthrough(obj: Rec): DraftOutcome {
  const r = EcsEvent.safeParse(obj);
  return r.success ? { ok: true, draft: r.data } : reject(`ecs: ${issueText(r.error.issues)}`);
}

function fromJson(line: string, ctx: ParseContext): DraftOutcome {
  const parsed = parseJsonObject(line);
  if (!parsed.ok) return parsed;
  const kind = ctx.format === 'auto' ? detectJsonKind(parsed.obj) : ctx.format;
  switch (kind) {
    case 'ecs': return ecsPassthrough(parsed.obj);
    case 'suricata': return mapSuricata(parsed.obj);
    case 'zeek': return zeekJson(parsed.obj, ctx);
    default: return reject('auto: JSON object is neither ECS, Suricata EVE nor Zeek');
  }
}

function draftFor(line: string, ctx: ParseContext, receivedAt: Date): DraftOutcome {
  const trimmed = line.trimStart();
  switch (ctx.format) {
    case 'syslog': return mapSyslog(line, receivedAt);
    case 'suricata':
    case 'ecs': return fromJson(trimmed, ctx);
    case 'zeek': return trimmed.startsWith('{') ? fromJson(trimmed, ctx) : zeekTsv(line, ctx);
    case 'auto':
      if (trimmed.startsWith('{')) return fromJson(trimmed, ctx);
      if (line.startsWith('<')) return mapSyslog(line, receivedAt);
      if (ctx.zeekTsv) return zeekTsv(line, ctx);
      return reject('auto: not JSON, not syslog (<PRI>) and no Zeek TSV header given');
    default: return reject(`unknown format ${JSON.stringify(ctx.format)}`);
  }
}

function issueText(issues: readonly { path: PropertyKey[]; message: string }[]): string {
  return issues.slice(0, 3).map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`).join('; ');
}

/** `receivedAt` as ISO text, rendered once per batch: every line of a batch has the same. */
let ingestedAt = NaN;
let ingestedText = '';
export function ingestedOf(receivedAt: Date): string {
  const t = receivedAt.getTime();
  if (t !== ingestedAt) {
    ingestedText = receivedAt.toISOString();
    ingestedAt = t;
  }
  return ingestedText;
}

/**
 * Adds what every event carries (id, original unless turned off, ingested, observer) and validates the result. The
 * draft is the mapper's own (a fresh object per line), so it is completed in place.
 */
function finish(draft: Draft, line: string, ctx: ParseContext, receivedAt: Date): ParseOutcome {
  enrichNetwork(draft, ctx.internal);
  const ev = draft.event;
  const original = ev.original ?? line;
  ev.id ??= eventId(ev.dataset, original);
  if (ctx.preserveOriginal === false) delete ev.original;
  else ev.original = original;
  ev.ingested = ingestedOf(receivedAt);
  if (ctx.observer || draft.observer) draft.observer = { ...ctx.observer, ...draft.observer };
  const r = EcsEvent.safeParse(compact(draft));
  return r.success ? { ok: true, event: r.data } : reject(`${ev.dataset}: ${issueText(r.error.issues)}`);
}

/** When the line arrived: the context's time, else now. */
export const receivedAtOf = (ctx: ParseContext): Date => (ctx.receivedAt && !Number.isNaN(ctx.receivedAt.getTime()) ? ctx.receivedAt : new Date());

/** One input line to a normalised event or a rejection with its reason. Never throws. */
export function parseLine(line: string, ctx: ParseContext): ParseOutcome {
  try {
    if (typeof line !== 'string') return reject('line is not a string');
    if (line.length > MAX_LINE_CHARS) return reject(`line exceeds ${MAX_LINE_CHARS} characters`);
    const clean = line.endsWith('\r') ? line.slice(0, -1) : line;
    if (clean === '') return reject('empty line');
    // Unicode White_Space: what trim() removes, plus NEL (U+0085), which it does not.
    if (/^[\s\u0085]*$/.test(clean)) return reject('line holds only whitespace');
    const receivedAt = receivedAtOf(ctx);
    const d = draftFor(clean, ctx, receivedAt);
    return d.ok ? finish(d.draft, clean, ctx, receivedAt) : d;
  } catch (err) {
    // A parser bug must cost one line, not the batch: the line is dead-lettered with the cause.
    return reject(`internal parser error: ${(err as Error)?.message ?? String(err)}`);
  }
}

export interface ParseStats {
  lines: number;
  parsed: number;
  rejected: number;
  /** Zeek TSV `#` lines consumed as header (neither event nor rejection). */
  directives: number;
  /** Rejections by reason prefix (the text before the first ':'). */
  reasons: Record<string, number>;
}

export interface BatchResult {
  /** One entry per input line; `null` for a Zeek TSV directive line that updated the header. */
  outcomes: (ParseOutcome | null)[];
  stats: ParseStats;
}

/**
 * Parses a sequence of lines that belong together (one file, one request body): Zeek TSV `#`
 * header lines are consumed and apply to the rows after them.
 */
export function normaliseBatch(lines: Iterable<string>, ctx: ParseContext): BatchResult {
  const reader = new ZeekTsvReader(ctx.zeekTsv);
  const tsvCapable = ctx.format === 'zeek' || ctx.format === 'auto';
  const stats: ParseStats = { lines: 0, parsed: 0, rejected: 0, directives: 0, reasons: {} };
  const outcomes: (ParseOutcome | null)[] = [];
  for (const line of lines) {
    stats.lines++;
    if (tsvCapable && typeof line === 'string' && line.startsWith('#') && reader.accept(line) === 'directive') {
      stats.directives++;
      outcomes.push(null);
      continue;
    }
    const o = parseLine(line, reader.header ? { ...ctx, zeekTsv: reader.header } : ctx);
    outcomes.push(o);
    if (o.ok) stats.parsed++;
    else {
      stats.rejected++;
      const key = o.reason.split(':')[0]!.slice(0, 48);
      stats.reasons[key] = (stats.reasons[key] ?? 0) + 1;
    }
  }
  return { outcomes, stats };
}
