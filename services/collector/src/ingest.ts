import { BackendUnavailableError, SocError } from '@soc/errors';
import type { Producer, ProducerRecord } from '@soc/bus';
import type { CidrSet } from '@soc/netaddr';
import { encodeLine, type Format, type ParseContext, type ZeekTsvHeader } from '@soc/parsers';
import { TOPICS, deadLetterRecord, makeDeadLetter } from '@soc/schema';
import type { Logger, Metrics } from '@soc/telemetry';

export interface RawLine {
  raw: string;
  /** 1-based line number in the request or file, for the dead letter. */
  line?: number;
  /** Set by a source that already knows the line is unacceptable (e.g. oversize). */
  rejectReason?: string;
}

export interface IngestContext {
  /** Who sent it: `http:<sensor name>`, `syslog:udp`, `file:<path>`. */
  source: string;
  format: Format;
  observer?: { ip?: string; hostname?: string; name?: string };
  zeekTsv?: ZeekTsvHeader;
  zeekPath?: string;
}

export interface IngestResult {
  accepted: number;
  rejected: number;
  /** The first rejections, for the sender. */
  errors: { line: number; reason: string }[];
}

export interface Ingest {
  /**
   * Resolves once every accepted event and every dead letter of the call is durable on the bus.
   * Rejects with a retriable error when the bus cannot take them: then the sender must treat
   * the whole call as not delivered and send it again (event ids make that idempotent).
   */
  submit(lines: RawLine[], ctx: IngestContext): Promise<IngestResult>;
}

const MAX_REPORTED_ERRORS = 100;

/** How this deployment parses every call's lines (`collector.preserveOriginal`, the internal networks). */
export interface ParseSettings {
  internal?: CidrSet;
  preserveOriginal?: boolean;
}

/** A call's lines parsed and validated: bus records ready to append, and what was rejected. */
export interface ParsedLines {
  events: ProducerRecord[];
  dead: ProducerRecord[];
  /** The first rejections, for the sender. */
  errors: IngestResult['errors'];
  /** Rejections by reason prefix, for the metrics. */
  reasons: [string, number][];
}

/**
 * Parses and validates each line (a pure function: no I/O, so a worker thread can run it): an
 * event becomes its bus record (keyed, serialised once), a rejection its dead letter.
 */
export function parseLines(lines: RawLine[], ctx: IngestContext, settings: ParseSettings = {}): ParsedLines {
  const events: ProducerRecord[] = [];
  const dead: ProducerRecord[] = [];
  const errors: IngestResult['errors'] = [];
  const reasons = new Map<string, number>();
  const parseCtx: ParseContext = { format: ctx.format, source: ctx.source, observer: ctx.observer, zeekTsv: ctx.zeekTsv, zeekPath: ctx.zeekPath, receivedAt: new Date(), internal: settings.internal, preserveOriginal: settings.preserveOriginal };
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    const lineNo = l.line ?? i + 1;
    const outcome = l.rejectReason ? ({ ok: false, reason: l.rejectReason } as const) : encodeLine(l.raw, parseCtx);
    if (outcome.ok) {
      events.push({ key: outcome.key, value: outcome.json });
      continue;
    }
    dead.push(deadLetterRecord(makeDeadLetter('collector', ctx.source, outcome.reason, l.raw, lineNo)));
    if (errors.length < MAX_REPORTED_ERRORS) errors.push({ line: lineNo, reason: outcome.reason });
    const kind = outcome.reason.split(':')[0]!.slice(0, 48);
    reasons.set(kind, (reasons.get(kind) ?? 0) + 1);
  }
  return { events, dead, errors, reasons: [...reasons] };
}

/**
 * Where a call's lines are parsed: in this thread (`parseLines`) or in a pool of worker threads
 * that run the same function, so that parsing uses another core than the HTTP server and the
 * bus appends. It rejects with a retriable error when it cannot parse (a worker died): the call
 * is then not acknowledged and the sender sends it again.
 */
export type LineParser = (lines: RawLine[], ctx: IngestContext) => Promise<ParsedLines>;

/** Parses and validates each line, then writes events and dead letters to the bus; acknowledges only once both are durable. */
export class BusIngest implements Ingest {
  private readonly parse: LineParser;

  constructor(
    private readonly producer: Producer,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    /** This SOC's internal networks (for `network.direction`; none configured: none derived) and whether lines are kept. */
    settings: ParseSettings = {},
    /** A parser pool (started with the same settings); by default lines are parsed in this thread. */
    parser?: LineParser,
  ) {
    this.parse = parser ?? (async (lines, ctx) => parseLines(lines, ctx, settings));
  }

  async submit(lines: RawLine[], ctx: IngestContext): Promise<IngestResult> {
    const { events, dead, errors, reasons } = await this.parse(lines, ctx);
    try {
      await Promise.all([
        events.length ? this.producer.send(TOPICS.events, events) : undefined,
        dead.length ? this.producer.send(TOPICS.deadLetter, dead) : undefined,
      ]);
    } catch (err) {
      this.logger.warn({ err, source: ctx.source, lines: lines.length }, 'bus did not accept a batch');
      throw err instanceof SocError ? err : new BackendUnavailableError('bus did not accept the events', { cause: err });
    }
    const sourceLabel = ctx.source.split(':')[0]!;
    this.metrics.eventsIn.inc({ source: sourceLabel, format: ctx.format }, events.length);
    for (const [reason, n] of reasons) this.metrics.eventsRejected.inc({ source: sourceLabel, reason }, n);
    return { accepted: events.length, rejected: dead.length, errors };
  }
}
