import { z } from 'zod';
import type { Bus, ConsumedRecord } from '@soc/bus';
import { evaluate, parseEventQuery, type EventNode } from '@soc/query';
import { TOPICS } from '@soc/schema';
import { HISTOGRAM_INTERVALS, INTERVAL_MS, type Bucket } from '@soc/store';

/**
 * Hunting over raw events. The stores index alerts, not every event (at tens of thousands of
 * events per second that is the search engine's job, not this product's), so a hunt reads the
 * newest records of the events topic through the bus port (the embedded log or Kafka) and
 * filters them in memory with the query language (`EVENT_FIELDS`). It is bounded: at most
 * `scan` records, newest first, within a time budget, and it says how many it read and which
 * span of time they cover, so "no hit" is never mistaken for "never happened".
 */

const Ids = z
  .string()
  .max(64 * 1024)
  .transform((s) => s.split(',').filter((x) => x !== ''))
  .pipe(z.array(z.string().min(1).max(128)).min(1).max(1000));

export const EventHuntQuery = z
  .object({
    q: z.string().max(2048).default(''),
    /** Comma-separated `event.id`s: an alert's related events. Replaces `q`. */
    ids: Ids.optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    scan: z.coerce.number().int().min(1).max(500_000).default(50_000),
    interval: z.enum(HISTOGRAM_INTERVALS).default('1h'),
  })
  .strict();
export type EventHuntQuery = z.infer<typeof EventHuntQuery>;

export interface EventHuntResult {
  /** Matching events, newest first (by `@timestamp`), at most `limit`. */
  events: unknown[];
  /** Every match among the records scanned, not only those returned. */
  matched: number;
  scanned: number;
  /** Records that were not JSON objects (never expected: the collector validated them). */
  unreadable: number;
  /** True when the scan stopped before the start of the log (the `scan` bound or the time budget). */
  partial: boolean;
  /** `@timestamp` span of the records scanned. */
  oldest: string | null;
  newest: string | null;
  /** Matches over time, bucket starts ascending (as the alert aggregations' `over_time`). */
  over_time: Bucket[];
}

export interface HuntLimits {
  /** Records per bus read. */
  chunk?: number;
  /** Wall-clock budget of one hunt. */
  budgetMs?: number;
}

/** The offsets are read without a consumer group's commits: this group never commits. */
const HUNT_GROUP = 'soc-api-hunt';

type Matcher = (doc: Record<string, unknown>) => boolean;

function matcherOf(q: EventHuntQuery, nowMs: number): Matcher {
  if (q.ids) {
    const want = new Set(q.ids);
    return (doc) => {
      const id = (doc.event as { id?: unknown } | undefined)?.id;
      return typeof id === 'string' && want.has(id);
    };
  }
  const tree: EventNode = parseEventQuery(q.q);
  return (doc) => evaluate(tree, doc, nowMs);
}

/** `@timestamp` in ms; -Infinity when absent or unreadable, so such events sort last and have no bucket. */
const timeOf = (doc: Record<string, unknown>): number => {
  const t = doc['@timestamp'];
  const ms = typeof t === 'string' ? Date.parse(t) : NaN;
  return Number.isFinite(ms) ? ms : -Infinity;
};

/** Runs one hunt; a bad query throws `QueryError` (400 with its position at the API). */
export async function huntEvents(bus: Bus, q: EventHuntQuery, limits: HuntLimits = {}, nowMs = Date.now()): Promise<EventHuntResult> {
  const match = matcherOf(q, nowMs);
  const chunk = limits.chunk ?? 5000;
  const deadline = Date.now() + (limits.budgetMs ?? 10_000);
  const ends = (await bus.lag(HUNT_GROUP, TOPICS.events)).filter((p) => p.end > 0);
  const share = Math.ceil(q.scan / Math.max(1, ends.length));
  const step = INTERVAL_MS[q.interval];
  const buckets = new Map<number, number>();
  const hits: { t: number; doc: unknown }[] = [];
  let matched = 0;
  let scanned = 0;
  let unreadable = 0;
  let partial = false;
  let oldest = Infinity;
  let newest = -Infinity;
  const pending = q.ids ? new Set(q.ids) : undefined;

  const take = (r: ConsumedRecord, kept: { n: number }) => {
    scanned++;
    let doc: unknown;
    try {
      doc = JSON.parse(r.value);
    } catch {
      doc = undefined;
    }
    if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
      unreadable++;
      return;
    }
    const d = doc as Record<string, unknown>;
    const t = timeOf(d);
    if (Number.isFinite(t)) {
      oldest = Math.min(oldest, t);
      newest = Math.max(newest, t);
    }
    if (!match(d)) return;
    matched++;
    if (Number.isFinite(t)) {
      const bucket = Math.floor(t / step) * step;
      buckets.set(bucket, (buckets.get(bucket) ?? 0) + 1);
    }
    pending?.delete((d.event as { id: string }).id);
    // Each partition is read newest first, so the overall newest `limit` are among each one's first `limit`.
    if (kept.n < q.limit) {
      hits.push({ t, doc });
      kept.n++;
    }
  };

  for (const p of ends) {
    const kept = { n: 0 };
    let pos = p.end;
    let left = share;
    while (left > 0 && pos > 0) {
      if (pending?.size === 0) break;
      if (Date.now() > deadline) {
        partial = true;
        break;
      }
      const from = Math.max(0, pos - Math.min(chunk, left));
      const recs = (await bus.read(TOPICS.events, { partition: p.partition, fromOffset: from, limit: pos - from }))
        .filter((r) => r.offset < pos)
        .sort((a, b) => a.offset - b.offset);
      // Nothing below `pos`: the start of the log (offset 0, or what retention left).
      if (recs.length === 0) {
        pos = 0;
        break;
      }
      for (let i = recs.length - 1; i >= 0; i--) take(recs[i]!, kept);
      left -= recs.length;
      pos = recs[0]!.offset;
    }
    if (pos > 0 && left <= 0) partial = true;
  }
  // Every id asked for was found: nothing is missing, however much was left unread.
  if (pending?.size === 0) partial = false;

  hits.sort((a, b) => b.t - a.t || 0); // `|| 0`: two events without a time (-Infinity - -Infinity is NaN)
  return {
    events: hits.slice(0, q.limit).map((h) => h.doc),
    matched,
    scanned,
    unreadable,
    partial,
    oldest: Number.isFinite(oldest) ? new Date(oldest).toISOString() : null,
    newest: Number.isFinite(newest) ? new Date(newest).toISOString() : null,
    over_time: [...buckets.entries()].sort((a, b) => a[0] - b[0]).map(([k, count]) => ({ key: new Date(k).toISOString(), count })),
  };
}
