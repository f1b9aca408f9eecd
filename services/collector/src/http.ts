import { BackendUnavailableError, ValidationError } from '@soc/errors';
import { HttpError, RateLimiter, parseQuery, readBody, sendJson, type Route } from '@soc/http';
import { z } from 'zod';
import { FORMATS, ZeekTsvReader, isEmptyLine, jsonArrayElements, type ZeekTsvHeader } from '@soc/parsers';
import type { Producer } from '@soc/bus';
import { TOPICS, deadLetterRecord, makeDeadLetter } from '@soc/schema';
import type { Ingest, IngestContext, IngestResult, RawLine } from './ingest.ts';
import { admitted, type Backpressure } from './backpressure.ts';

const EventsQuery = z.object({
  format: z.enum(FORMATS as [string, ...string[]]).default('auto').transform((f) => f as IngestContext['format']),
  /** Zeek log type of JSON lines without `_path` (e.g. `conn`). */
  zeek_path: z.string().max(64).optional(),
});

export interface CollectorHttpOptions {
  ingest: Ingest;
  /** Dead-letters a body that cannot even be split into lines, so nothing sent is lost. */
  producer: Producer;
  maxBodyBytes: number;
  maxLineBytes: number;
  maxLinesPerRequest: number;
  eventsPerSecond: number;
  burst: number;
  /** Admission control (503 + Retry-After when the pipeline is behind); without it every request is taken. */
  backpressure?: Backpressure;
}

/**
 * Splits a request body into lines: a JSON array (one element per event, its source text kept)
 * or NDJSON / text lines (CRLF tolerated). Only lines without any character are skipped; every
 * other line is counted, as an event or as a rejection (see @soc/parsers lines.ts). Zeek TSV
 * bodies keep their `#` header lines; the parser consumes them.
 */
export function splitBody(text: string, maxLineBytes: number): RawLine[] {
  const start = text.trimStart();
  if (start.startsWith('[')) {
    let items: unknown;
    try {
      items = JSON.parse(start);
    } catch (err) {
      throw new ValidationError(`body starts like a JSON array but is not valid JSON: ${(err as Error).message}`);
    }
    if (!Array.isArray(items)) throw new ValidationError('body is not a JSON array');
    return jsonArrayElements(start).map((item, i) => lineOf(item, i + 1, maxLineBytes));
  }
  const out: RawLine[] = [];
  const parts = text.split('\n');
  for (let i = 0; i < parts.length; i++) {
    let l = parts[i]!;
    if (isEmptyLine(l)) continue;
    if (l.endsWith('\r')) l = l.slice(0, -1);
    out.push(lineOf(l, i + 1, maxLineBytes));
  }
  return out;
}

function lineOf(raw: string, line: number, maxLineBytes: number): RawLine {
  // Length in UTF-16 units bounds bytes from below; only long lines pay for the exact count.
  if (raw.length * 3 > maxLineBytes && Buffer.byteLength(raw) > maxLineBytes) {
    return { raw: raw.slice(0, maxLineBytes), line, rejectReason: `line exceeds ${maxLineBytes} bytes` };
  }
  return { raw, line };
}

/**
 * Zeek TSV bodies carry their `#` header lines; each run of rows is parsed with the header in
 * force before it, and the header lines are counted as `directives`. Only formats that can be
 * Zeek TSV (zeek, auto) have header lines: in any other format a `#` line is a line like any
 * other, and is rejected with its reason rather than dropped.
 */
export function zeekTsvSegments(lines: RawLine[], format: IngestContext['format']): { segments: { header?: ZeekTsvHeader; lines: RawLine[] }[]; directives: number } {
  const isHeader = (l: RawLine) => l.rejectReason === undefined && l.raw.startsWith('#');
  if ((format !== 'zeek' && format !== 'auto') || !lines.some(isHeader)) return { segments: [{ lines }], directives: 0 };
  const reader = new ZeekTsvReader();
  const segments: { header?: ZeekTsvHeader; lines: RawLine[] }[] = [];
  let directives = 0;
  for (const l of lines) {
    if (isHeader(l) && reader.accept(l.raw) === 'directive') {
      directives++;
      continue;
    }
    const last = segments.at(-1);
    if (last && last.header === reader.header) last.lines.push(l);
    else segments.push({ header: reader.header, lines: [l] });
  }
  return { segments, directives };
}

export function collectorRoutes(o: CollectorHttpOptions): Route[] {
  const limiter = new RateLimiter(o.eventsPerSecond, o.burst);
  return [
    {
      method: 'POST',
      path: '/v1/events',
      roles: ['sensor'],
      handler: admitted(o.backpressure, async ({ req, res, query, principal }) => {
        const q = parseQuery(EventsQuery, query);
        const source = `http:${principal.name}`;
        const body = (await readBody(req, o.maxBodyBytes)).toString('utf8');
        let lines: RawLine[];
        try {
          lines = splitBody(body, o.maxLineBytes);
        } catch (err) {
          // The whole body is refused, but kept: an operator can recover it from the dead letters.
          await o.producer.send(TOPICS.deadLetter, [deadLetterRecord(makeDeadLetter('collector', source, (err as Error).message, body))]).catch((e: unknown) => {
            throw new BackendUnavailableError('bus did not accept the dead letter', { cause: e });
          });
          throw err;
        }
        if (lines.length > o.maxLinesPerRequest) {
          throw new HttpError(413, `request has ${lines.length} lines; at most ${o.maxLinesPerRequest} per request`);
        }
        const wait = limiter.take(principal.name, lines.length);
        if (wait > 0) throw new HttpError(429, 'event rate limit exceeded', { 'retry-after': String(wait) });
        const ctx: IngestContext = { source, format: q.format, zeekPath: q.zeek_path, observer: { ip: req.socket.remoteAddress } };
        const total: IngestResult = { accepted: 0, rejected: 0, errors: [] };
        const { segments, directives } = zeekTsvSegments(lines, q.format);
        for (const seg of segments) {
          const r = await o.ingest.submit(seg.lines, seg.header ? { ...ctx, zeekTsv: seg.header } : ctx);
          total.accepted += r.accepted;
          total.rejected += r.rejected;
          total.errors.push(...r.errors.slice(0, 100 - total.errors.length));
        }
        // accepted + rejected (+ Zeek header lines) = the body's non-empty lines, always.
        sendJson(res, 202, directives ? { ...total, directives } : total);
      }),
    },
  ];
}
