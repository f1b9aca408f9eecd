import { z } from 'zod';
import type { Client, estypes } from '@elastic/elasticsearch';
import { Alert, severityRank, type Alert as AlertT, type TriageStatus } from '@soc/schema';
import { BackendUnavailableError, type RetryOptions } from '@soc/errors';
import type { Logger } from '@soc/telemetry';
import type { AggregationRequest, Aggregations, AlertQuery, AlertStore, Bucket, SearchResult, UpsertFailure, UpsertResult } from './port.ts';
import { RELATED_EVENTS_CAP, assertIpFilters, decodeCursor, encodeCursor, parseFreeText, validateBatch, type TextClause } from './query.ts';
import { ALERT_FIELDS, componentTemplate, fromEsDoc, ilmPolicy, indexTemplate, layoutNames, toEsDoc } from './es-layout.ts';
import { createEsClient, esReason, retriableStatus, withRetries, type EsConnectionOptions } from './es-transport.ts';

export interface ElasticsearchStoreOptions extends EsConnectionOptions {
  /** The rollover alias; indices are `<index>-000001`, … Default "soc-alerts". */
  index?: string;
  logger?: Logger;
  /** Injected client (tests); it should be built with `maxRetries: 0`. */
  client?: Client;
  /** Attempts per request, including the first. Default 5. */
  maxRetries?: number;
  retryInitialDelayMs?: number;
  /** Days an index is kept after rollover. Default 90. */
  retentionDays?: number;
  /** Default 'wait_for': a resolved upsert or triage is visible to the next search. */
  refresh?: boolean | 'wait_for';
}

export interface ElasticsearchAlertStore extends AlertStore {
  /** Installs the ILM policy, templates and the first write index; idempotent, also run lazily. */
  ensureSetup(): Promise<void>;
}

// ---------------------------------------------------------------- pure translation

const F = ALERT_FIELDS;
const SORT_FIELD: Record<AlertQuery['sort'], string> = {
  '@timestamp': F.timestamp,
  score: F.score,
  severity: F.severityRank,
  last_seen: F.lastSeen,
};
export const TEXT_FIELDS: string[] = [...F.text];

/** simple_query_string input built from parsed clauses, so user input never reaches its syntax. */
export function toSimpleQueryString(clauses: TextClause[]): string {
  return clauses.map((c) => (c.prefix ? `${c.words[0]}*` : c.words.length > 1 ? `"${c.words.join(' ')}"` : c.words[0])).join(' ');
}

/** Every AlertQuery filter as bool filter clauses (scoring is useless: results are sorted). */
export function toEsQuery(q: AlertQuery): estypes.QueryDslQueryContainer {
  const filter: estypes.QueryDslQueryContainer[] = [];
  const term = (field: string, v: string | undefined) => v !== undefined && filter.push({ term: { [field]: v } });
  const terms = (field: string, vs: readonly string[] | undefined) => vs !== undefined && filter.push({ terms: { [field]: [...vs] } });
  if (q.from !== undefined || q.to !== undefined) {
    filter.push({ range: { [F.timestamp]: { ...(q.from !== undefined ? { gte: q.from } : {}), ...(q.to !== undefined ? { lt: q.to } : {}) } } });
  }
  if (q.severity_min !== undefined) filter.push({ range: { [F.severityRank]: { gte: severityRank(q.severity_min) } } });
  term(F.host, q.host);
  term(F.sourceIp, q.source_ip);
  term(F.destinationIp, q.destination_ip);
  if (q.ip !== undefined) filter.push({ bool: { should: [{ term: { [F.sourceIp]: q.ip } }, { term: { [F.destinationIp]: q.ip } }], minimum_should_match: 1 } });
  terms(F.detector, q.detector);
  term(F.ruleId, q.rule_id);
  terms(F.status, q.status);
  term(F.origin, q.origin);
  terms(F.tlp, q.tlp);
  const clauses = q.q === undefined ? [] : parseFreeText(q.q);
  if (clauses.length > 0) {
    filter.push({ simple_query_string: { query: toSimpleQueryString(clauses), fields: TEXT_FIELDS, default_operator: 'and', flags: 'PHRASE|PREFIX|WHITESPACE' } });
  }
  return { bool: { filter } };
}

export function toEsSearch(index: string, q: AlertQuery): estypes.SearchRequest {
  const field = SORT_FIELD[q.sort];
  return {
    index,
    query: toEsQuery(q),
    sort: [{ [field]: { order: q.order } }, { [F.id]: { order: q.order } }],
    // One more than asked tells whether another page exists.
    size: q.limit + 1,
    track_total_hits: true,
    ...(q.cursor !== undefined ? { search_after: decodeCursor(q.cursor) } : {}),
  };
}

export function toEsAggregations(index: string, q: AlertQuery, req: AggregationRequest): estypes.SearchRequest {
  const terms = (field: string) => ({ terms: { field, size: req.size, order: [{ _count: 'desc' as const }, { _key: 'asc' as const }] } });
  return {
    index,
    query: toEsQuery(q),
    size: 0,
    track_total_hits: true,
    aggs: {
      by_severity: terms(F.severity),
      by_detector: terms(F.detector),
      by_rule: terms(F.ruleId),
      by_host: terms(F.host),
      over_time: { date_histogram: { field: F.timestamp, fixed_interval: req.interval, min_doc_count: 1 } },
    },
  };
}

/**
 * The merge rules, run by Elasticsearch on an existing document (the `upsert` body is used as is
 * for a new one). Instants are compared as instants: timestamps may carry offsets.
 */
export const MERGE_SCRIPT = `
Map o = ctx._source; Map n = params.doc;
Map os = o.soc; Map oe = o.event;
Map soc = new HashMap(n.soc); Map ev = new HashMap(n.event);
long count = Math.max(((Number) os.count).longValue(), ((Number) soc.count).longValue());
String first = ZonedDateTime.parse(ev.start).toInstant().toEpochMilli() < ZonedDateTime.parse(oe.start).toInstant().toEpochMilli() ? ev.start : oe.start;
String last = ZonedDateTime.parse(ev.end).toInstant().toEpochMilli() > ZonedDateTime.parse(oe.end).toInstant().toEpochMilli() ? ev.end : oe.end;
List related = new ArrayList(); Set seen = new HashSet();
for (def list : [os.related_events, soc.related_events]) {
  if (list != null) { for (def e : list) { if (related.size() < params.cap && seen.add(e)) { related.add(e); } } }
}
soc.status = os.status; soc.count = count; soc.related_events = related;
ev.start = first; ev.end = last;
Map merged = new HashMap(n);
merged.soc = soc; merged.event = ev;
ctx._source.clear(); ctx._source.putAll(merged);
`.trim();

export { toEsDoc, fromEsDoc };

/** Bulk body: one scripted update with an upsert document per alert, to its concrete index if known. */
export function toBulkOperations(alerts: AlertT[], indexOf: (id: string) => string): object[] {
  return alerts.flatMap((a) => {
    const doc = toEsDoc(a);
    return [
      { update: { _index: indexOf(a.id), _id: a.id, retry_on_conflict: 3 } },
      { script: { source: MERGE_SCRIPT, lang: 'painless', params: { doc, cap: RELATED_EVENTS_CAP } }, upsert: doc },
    ];
  });
}

const BulkItem = z.object({ _id: z.string().nullish(), status: z.number(), error: z.unknown().optional() });
const BulkResponse = z.object({ errors: z.boolean(), items: z.array(z.record(z.string(), BulkItem)) });
const TermsAgg = z.object({ buckets: z.array(z.object({ key: z.union([z.string(), z.number()]), key_as_string: z.string().optional(), doc_count: z.number() })) });

export type ItemOutcome = { kind: 'ok' } | { kind: 'retry'; reason: string } | { kind: 'failed'; reason: string };

/** Classifies each item of a bulk response, in request order. */
export function bulkOutcomes(response: unknown): ItemOutcome[] {
  return BulkResponse.parse(response).items.map((entry): ItemOutcome => {
    const item = Object.values(entry)[0];
    if (!item || (item.status < 300 && item.error === undefined)) return { kind: 'ok' };
    const reason = `HTTP ${item.status} ${esReason({ error: item.error })}`;
    return retriableStatus(item.status) ? { kind: 'retry', reason } : { kind: 'failed', reason };
  });
}

const termsBuckets = (agg: unknown): Bucket[] => TermsAgg.parse(agg).buckets.map((b) => ({ key: String(b.key), count: b.doc_count }));
const histogramBuckets = (agg: unknown): Bucket[] =>
  TermsAgg.parse(agg).buckets.map((b) => ({ key: new Date(Number(b.key)).toISOString(), count: b.doc_count }));

const totalOf = (hits: estypes.SearchHitsMetadata<unknown>): number => (typeof hits.total === 'number' ? hits.total : (hits.total?.value ?? 0));

// ---------------------------------------------------------------- the adapter

/** Raised inside one bulk attempt when some items deserve another try. */
class ItemsPending extends BackendUnavailableError {}

export function createElasticsearchStore(opts: ElasticsearchStoreOptions): ElasticsearchAlertStore {
  const client = opts.client ?? createEsClient(opts);
  const alias = opts.index ?? 'soc-alerts';
  const names = layoutNames(alias);
  const refresh = opts.refresh ?? 'wait_for';
  const log = opts.logger?.child({ component: 'store', adapter: 'elasticsearch', index: alias });
  const retryOpts: RetryOptions = {
    retries: opts.maxRetries ?? 5,
    initialDelayMs: opts.retryInitialDelayMs ?? 200,
    onRetry: (err, attempt, delayMs) => log?.warn({ err: (err as Error).message, attempt, delayMs }, 'elasticsearch retry'),
  };
  const call = <T>(op: string, fn: () => Promise<T>) => withRetries(op, fn, retryOpts);

  let ready: Promise<void> | null = null;
  const ensureSetup = (): Promise<void> => {
    ready ??= setup().catch((err) => {
      ready = null; // the next call tries again
      throw err;
    });
    return ready;
  };

  async function setup(): Promise<void> {
    const layout = { alias, retentionDays: opts.retentionDays ?? 90, rolloverMaxAge: '1d', rolloverMaxPrimaryShardSize: '50gb' };
    await call('put ILM policy', () => client.ilm.putLifecycle({ name: names.policy, policy: ilmPolicy(layout) }));
    await call('put component template', () => client.cluster.putComponentTemplate({ name: names.componentTemplate, template: componentTemplate() }));
    await call('put index template', () => client.indices.putIndexTemplate({ name: names.indexTemplate, ...indexTemplate(alias) }));
    const exists = await call('check alias', () => client.indices.existsAlias({ name: alias }));
    if (exists) return;
    try {
      await call('create write index', () => client.indices.create({ index: names.firstIndex, aliases: { [alias]: { is_write_index: true } } }));
      log?.info({ index: names.firstIndex }, 'created first write index');
    } catch (err) {
      // Another instance bootstrapped it first: that is the state we wanted.
      if (!/resource_already_exists_exception/.test((err as Error).message)) throw err;
    }
  }

  /** Where each existing alert lives: updates must go to that index, not the current write index. */
  async function locate(ids: string[], withSource: boolean): Promise<Map<string, { index: string; source: unknown }>> {
    const res = await call('locate', () =>
      client.search({ index: alias, query: { ids: { values: ids } }, size: ids.length, _source: withSource }),
    );
    return new Map(res.hits.hits.map((h) => [h._id as string, { index: h._index, source: h._source }]));
  }

  async function bulkWithRetries(alerts: AlertT[], indexOf: (id: string) => string): Promise<UpsertFailure[]> {
    const failed: UpsertFailure[] = [];
    let pending = alerts;
    let lastReasons = new Map<string, string>();
    try {
      await call('bulk', async () => {
        const res = await client.bulk({ operations: toBulkOperations(pending, indexOf) as estypes.BulkOperationContainer[], refresh });
        const outcomes = bulkOutcomes(res);
        const again: AlertT[] = [];
        lastReasons = new Map();
        pending.forEach((a, i) => {
          const o = outcomes[i] ?? { kind: 'retry', reason: 'missing from bulk response' };
          if (o.kind === 'failed') failed.push({ id: a.id, reason: o.reason, retriable: false });
          if (o.kind === 'retry') {
            again.push(a);
            lastReasons.set(a.id, o.reason);
          }
        });
        pending = again;
        if (pending.length > 0) throw new ItemsPending(`${pending.length} bulk items rejected, retrying`);
      });
    } catch (err) {
      if (!(err instanceof ItemsPending)) throw err;
      // Still rejected after every attempt: reported as retriable, the caller decides.
      for (const a of pending) failed.push({ id: a.id, reason: lastReasons.get(a.id) ?? err.message, retriable: true });
    }
    return failed;
  }

  return {
    kind: 'elasticsearch',
    ensureSetup,

    async upsert(input): Promise<UpsertResult> {
      const { valid, failed } = validateBatch(input);
      if (valid.length === 0) return { upserted: 0, failed };
      await ensureSetup();
      const where = await locate([...new Set(valid.map((a) => a.id))], false);
      const itemFailures = await bulkWithRetries(valid, (id) => where.get(id)?.index ?? alias);
      const failedIds = new Set(itemFailures.map((f) => f.id));
      if (itemFailures.length > 0) log?.warn({ failed: itemFailures.length }, 'bulk items not indexed');
      return { upserted: valid.filter((a) => !failedIds.has(a.id)).length, failed: [...failed, ...itemFailures] };
    },

    async get(id) {
      await ensureSetup();
      const hit = (await locate([id], true)).get(id);
      return hit ? fromEsDoc(hit.source) : null;
    },

    async search(q): Promise<SearchResult> {
      assertIpFilters(q);
      await ensureSetup();
      const res = await call('search', () => client.search(toEsSearch(alias, q)));
      const hits = res.hits.hits;
      const page = hits.slice(0, q.limit);
      const last = page[page.length - 1];
      return {
        alerts: page.map((h) => fromEsDoc(h._source)),
        total: totalOf(res.hits),
        next_cursor: hits.length > q.limit && last?.sort ? encodeCursor(Number(last.sort[0]), String(last.sort[1])) : null,
      };
    },

    async aggregate(q, req): Promise<Aggregations> {
      assertIpFilters(q);
      await ensureSetup();
      const res = await call('aggregate', () => client.search(toEsAggregations(alias, q, req)));
      const aggs = (res.aggregations ?? {}) as Record<string, unknown>;
      return {
        total: totalOf(res.hits),
        by_severity: termsBuckets(aggs.by_severity),
        by_detector: termsBuckets(aggs.by_detector),
        by_rule: termsBuckets(aggs.by_rule),
        by_host: termsBuckets(aggs.by_host),
        over_time: histogramBuckets(aggs.over_time),
      };
    },

    async setStatus(id, status: TriageStatus) {
      await ensureSetup();
      const hit = (await locate([id], false)).get(id);
      if (!hit) return null;
      const res = await call('set status', () => client.update({ index: hit.index, id, doc: { soc: { status } }, refresh, _source: true }));
      return res.get?._source ? fromEsDoc(res.get._source) : null;
    },

    async ping() {
      try {
        return await client.ping();
      } catch {
        return false;
      }
    },

    async close() {
      // An injected client belongs to the caller.
      if (!opts.client) await client.close();
    },
  };
}
