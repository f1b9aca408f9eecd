import { z } from 'zod';
import type { Client, estypes } from '@elastic/elasticsearch';
import { Alert, severityRank, type Alert as AlertT } from '@soc/schema';
import { BackendUnavailableError, SocError, type RetryOptions } from '@soc/errors';
import type { Logger } from '@soc/telemetry';
import type { AggregationRequest, Aggregations, AlertQuery, AlertStore, Bucket, SearchResult, UpsertFailure, UpsertResult } from './port.ts';
import { RELATED_EVENTS_CAP, TIES_BY_TIME, assertIpFilters, decodeCursor, encodeCursor, queryTree, validateBatch } from './query.ts';
import { ALERT_FIELDS, AUDIT_MAPPINGS, CASE_MAPPINGS, componentTemplate, fromEsDoc, ilmPolicy, ilmSettings, indexTemplate, layoutNames, toEsDoc, type FlatType, type LayoutNames, type LayoutOptions } from './es-layout.ts';
import { toEsDsl } from './es-query.ts';
import { AuditEntry, Case, applyCasePatch, applyTriage, newCase, type CaseQuery } from './triage.ts';
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
/** Every AlertQuery filter as bool filter clauses (scoring is useless: results are sorted). */
export function toEsQuery(q: AlertQuery, nowMs: number): estypes.QueryDslQueryContainer {
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
  const tree = queryTree(q);
  if (tree.kind !== 'all') filter.push(toEsDsl(tree, nowMs));
  return { bool: { filter } };
}

const cursorAfter = (c: { keys: number[]; id: string }): estypes.FieldValue[] => [...c.keys, c.id];

export function toEsSearch(index: string, q: AlertQuery, nowMs: number): estypes.SearchRequest {
  const field = SORT_FIELD[q.sort];
  return {
    index,
    query: toEsQuery(q, nowMs),
    sort: [{ [field]: { order: q.order } }, ...(TIES_BY_TIME[q.sort] ? [{ [F.timestamp]: { order: q.order } }] : []), { [F.id]: { order: q.order } }],
    // One more than asked tells whether another page exists.
    size: q.limit + 1,
    track_total_hits: true,
    ...(q.cursor !== undefined ? { search_after: cursorAfter(decodeCursor(q.cursor, q.sort)) } : {}),
  };
}

export function toEsAggregations(index: string, q: AlertQuery, req: AggregationRequest, nowMs: number): estypes.SearchRequest {
  const terms = (field: string) => ({ terms: { field, size: req.size, order: [{ _count: 'desc' as const }, { _key: 'asc' as const }] } });
  return {
    index,
    query: toEsQuery(q, nowMs),
    size: 0,
    track_total_hits: true,
    aggs: {
      by_severity: terms(F.severity),
      by_detector: terms(F.detector),
      by_rule: terms(F.ruleId),
      by_host: terms(F.host),
      by_source: terms(F.sourceIp),
      by_destination: terms(F.destinationIp),
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
long oc = ((Number) os.count).longValue(); long nc = ((Number) soc.count).longValue();
long count = oc > nc ? oc : nc;
String first = ZonedDateTime.parse(ev.start).toInstant().toEpochMilli() < ZonedDateTime.parse(oe.start).toInstant().toEpochMilli() ? ev.start : oe.start;
String last = ZonedDateTime.parse(ev.end).toInstant().toEpochMilli() > ZonedDateTime.parse(oe.end).toInstant().toEpochMilli() ? ev.end : oe.end;
List related = new ArrayList(); Set seen = new HashSet();
for (def list : [os.related_events, soc.related_events]) {
  if (list != null) { for (def e : list) { if (related.size() < params.cap && seen.add(e)) { related.add(e); } } }
}
soc.status = os.status; if (os.assignee != null) { soc.assignee = os.assignee; } else { soc.remove('assignee'); }
soc.count = count; soc.related_events = related;
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

export type Call = <T>(op: string, fn: () => Promise<T>) => Promise<T>;

/**
 * What differs between the engines this store runs on; everything else (queries, bulk merge,
 * triage, audit, cases) is the code below, run by OpenSearch through an Elasticsearch-shaped
 * client (see opensearch.ts).
 */
export interface EngineFlavor {
  kind: 'elasticsearch' | 'opensearch';
  /** Field type for detector-specific keys (`labels`, `soc.explanation.values`). */
  flat: FlatType;
  /** Installs the lifecycle policy (idempotent); resolves the index settings binding new indices to it. */
  lifecycle(names: LayoutNames, layout: LayoutOptions, call: Call): Promise<Record<string, string>>;
}

export const ELASTICSEARCH_FLAVOR = (client: Client): EngineFlavor => ({
  kind: 'elasticsearch',
  flat: 'flattened',
  async lifecycle(names, layout, call) {
    await call('put ILM policy', () => client.ilm.putLifecycle({ name: names.policy, policy: ilmPolicy(layout) }));
    return ilmSettings(layout.alias);
  },
});

export function createElasticsearchStore(opts: ElasticsearchStoreOptions & { flavor?: (client: Client) => EngineFlavor }): ElasticsearchAlertStore {
  const client = opts.client ?? createEsClient(opts);
  const flavor = (opts.flavor ?? ELASTICSEARCH_FLAVOR)(client);
  const alias = opts.index ?? 'soc-alerts';
  const names = layoutNames(alias);
  const refresh = opts.refresh ?? 'wait_for';
  const log = opts.logger?.child({ component: 'store', adapter: flavor.kind, index: alias });
  const retryOpts: RetryOptions = {
    retries: opts.maxRetries ?? 5,
    initialDelayMs: opts.retryInitialDelayMs ?? 200,
    onRetry: (err, attempt, delayMs) => log?.warn({ err: (err as Error).message, attempt, delayMs }, `${flavor.kind} retry`),
  };
  const call: Call = (op, fn) => withRetries(`${flavor.kind} ${op}`, fn, retryOpts);

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
    const lifecycle = await flavor.lifecycle(names, layout, call);
    await call('put component template', () => client.cluster.putComponentTemplate({ name: names.componentTemplate, template: componentTemplate(flavor.flat) }));
    await call('put index template', () => client.indices.putIndexTemplate({ name: names.indexTemplate, ...indexTemplate(alias, lifecycle) }));
    for (const [index, mappings] of [[names.audit, AUDIT_MAPPINGS], [names.cases, CASE_MAPPINGS]] as const) {
      if (await call('check index', () => client.indices.exists({ index }))) continue;
      await createIfAbsent(() => call('create index', () => client.indices.create({ index, mappings })));
    }
    const exists = await call('check alias', () => client.indices.existsAlias({ name: alias }));
    if (exists) return;
    await createIfAbsent(async () => {
      await call('create write index', () => client.indices.create({ index: names.firstIndex, aliases: { [alias]: { is_write_index: true } } }));
      log?.info({ index: names.firstIndex }, 'created first write index');
    });
  }

  async function createIfAbsent(create: () => Promise<unknown>): Promise<void> {
    try {
      await create();
    } catch (err) {
      // Another instance created it first: that is the state we wanted.
      if (!/resource_already_exists_exception/.test((err as Error).message)) throw err;
    }
  }

  /** One document by id with its concurrency token, from an alias or index. */
  async function fetchVersioned(index: string, id: string): Promise<{ index: string; source: unknown; seqNo: number; primaryTerm: number } | null> {
    const res = await call('get', () => client.search({ index, query: { ids: { values: [id] } }, size: 1, seq_no_primary_term: true }));
    const hit = res.hits.hits[0];
    if (!hit || hit._seq_no === undefined || hit._primary_term === undefined) return null;
    return { index: hit._index, source: hit._source, seqNo: hit._seq_no, primaryTerm: hit._primary_term };
  }

  /**
   * Read, change, write back only if nobody wrote in between (if_seq_no/if_primary_term); a
   * concurrent writer makes it read again, so the workflow check always sees the stored state.
   */
  async function compareAndSet<T>(index: string, id: string, change: (source: unknown) => { doc: object; result: T } | { skip: T }): Promise<T | null> {
    for (let attempt = 0; ; attempt++) {
      const cur = await fetchVersioned(index, id);
      if (!cur) return null;
      const c = change(cur.source);
      if ('skip' in c) return c.skip;
      try {
        await call('write', () => client.index({ index: cur.index, id, document: c.doc, if_seq_no: cur.seqNo, if_primary_term: cur.primaryTerm, refresh }));
        return c.result;
      } catch (err) {
        const status = (err as SocError).cause instanceof Error ? ((err as SocError).cause as { statusCode?: number }).statusCode : undefined;
        if (status !== 409 || attempt >= 10) throw err;
      }
    }
  }

  /** Appends audit entries; create-only, so a retried request can never overwrite one. */
  async function appendAudit(entries: AuditEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const res = await call('audit', () => client.bulk({ operations: entries.flatMap((e) => [{ create: { _index: names.audit, _id: e.id } }, e]), refresh }));
    const failed = bulkOutcomes(res).filter((o) => o.kind !== 'ok');
    if (failed.length > 0) throw new BackendUnavailableError(`audit trail write failed: ${failed.map((f) => ('reason' in f ? f.reason : '')).join('; ')}`);
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
    kind: flavor.kind,
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
      const res = await call('search', () => client.search(toEsSearch(alias, q, Date.now())));
      const hits = res.hits.hits;
      const page = hits.slice(0, q.limit);
      const last = page[page.length - 1];
      return {
        alerts: page.map((h) => fromEsDoc(h._source)),
        total: totalOf(res.hits),
        next_cursor: hits.length > q.limit && last?.sort ? encodeCursor(last.sort.slice(0, -1).map(Number), String(last.sort.at(-1))) : null,
      };
    },

    async aggregate(q, req): Promise<Aggregations> {
      assertIpFilters(q);
      await ensureSetup();
      const res = await call('aggregate', () => client.search(toEsAggregations(alias, q, req, Date.now())));
      const aggs = (res.aggregations ?? {}) as Record<string, unknown>;
      return {
        total: totalOf(res.hits),
        by_severity: termsBuckets(aggs.by_severity),
        by_detector: termsBuckets(aggs.by_detector),
        by_rule: termsBuckets(aggs.by_rule),
        by_host: termsBuckets(aggs.by_host),
        by_source: termsBuckets(aggs.by_source),
        by_destination: termsBuckets(aggs.by_destination),
        over_time: histogramBuckets(aggs.over_time),
      };
    },

    async triage(id, change, actor, guard) {
      await ensureSetup();
      const result = await compareAndSet<{ alert: AlertT; entries: AuditEntry[] }>(alias, id, (source) => {
        const current = fromEsDoc(source);
        guard?.(current, change);
        const r = applyTriage(current, change, actor, Date.now());
        return r.entries.length === 0 ? { skip: r } : { doc: toEsDoc(r.alert), result: r };
      });
      // After the alert: an entry is never written for a change that lost a race.
      if (result) await appendAudit(result.entries);
      return result;
    },

    async audit(q) {
      await ensureSetup();
      const filter: estypes.QueryDslQueryContainer[] = [];
      if (q.target_kind !== undefined) filter.push({ term: { 'target.kind': q.target_kind } });
      if (q.target_id !== undefined) filter.push({ term: { 'target.id': q.target_id } });
      if (q.actor !== undefined) filter.push({ term: { actor: q.actor } });
      const res = await call('audit', () =>
        client.search({ index: names.audit, query: { bool: { filter } }, sort: [{ at: { order: 'desc' } }, { id: { order: 'desc' } }], size: q.limit }),
      );
      return res.hits.hits.map((h) => AuditEntry.parse(h._source)).reverse();
    },

    async createCase(input, actor) {
      await ensureSetup();
      const { kase, entries } = newCase(input, actor, Date.now());
      await call('create case', () => client.create({ index: names.cases, id: kase.id, document: kase, refresh }));
      await appendAudit(entries);
      return kase;
    },

    async getCase(id) {
      await ensureSetup();
      const cur = await fetchVersioned(names.cases, id);
      return cur ? Case.parse(cur.source) : null;
    },

    async listCases(q: CaseQuery) {
      await ensureSetup();
      const res = await call('list cases', () =>
        client.search({
          index: names.cases,
          query: { bool: { filter: q.status === undefined ? [] : [{ term: { status: q.status } }] } },
          sort: [{ updated_at: { order: 'desc' } }, { id: { order: 'desc' } }],
          size: q.limit,
        }),
      );
      return res.hits.hits.map((h) => Case.parse(h._source));
    },

    async updateCase(id, patch, actor) {
      await ensureSetup();
      const result = await compareAndSet<{ kase: Case; entries: AuditEntry[] }>(names.cases, id, (source) => {
        const r = applyCasePatch(Case.parse(source), patch, actor, Date.now());
        return r.entries.length === 0 ? { skip: r } : { doc: r.kase, result: r };
      });
      if (!result) return null;
      await appendAudit(result.entries);
      return result.kase;
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
