import { z } from 'zod';
import type { estypes } from '@elastic/elasticsearch';
import { Alert, severityRank, type Alert as AlertT } from '@soc/schema';
import type { AggregationRequest, AlertQuery, Bucket } from './port.ts';
import { RELATED_EVENTS_CAP, decodeCursor, parseFreeText, type TextClause } from './query.ts';
import { esReason, retriableStatus } from './es-transport.ts';

/**
 * The query DSL shared by the Elasticsearch and OpenSearch adapters (OpenSearch speaks the same
 * search, aggregation, bulk and painless dialect for everything used here): pure functions from
 * the port's queries to request bodies and from response bodies back to the port's types.
 * The request types are Elasticsearch's, the more precise of the two clients' typings.
 */

const SORT_FIELD: Record<AlertQuery['sort'], string> = {
  '@timestamp': '@timestamp',
  score: 'score',
  severity: 'severity_rank',
  last_seen: 'last_seen',
};
export const TEXT_FIELDS = ['message', 'rule.name', 'explanation.summary'];

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
    filter.push({ range: { '@timestamp': { ...(q.from !== undefined ? { gte: q.from } : {}), ...(q.to !== undefined ? { lt: q.to } : {}) } } });
  }
  if (q.severity_min !== undefined) filter.push({ range: { severity_rank: { gte: severityRank(q.severity_min) } } });
  term('host.name', q.host);
  term('source.ip', q.source_ip);
  term('destination.ip', q.destination_ip);
  if (q.ip !== undefined) filter.push({ bool: { should: [{ term: { 'source.ip': q.ip } }, { term: { 'destination.ip': q.ip } }], minimum_should_match: 1 } });
  terms('detector', q.detector);
  term('rule.id', q.rule_id);
  terms('status', q.status);
  term('origin.soc', q.origin);
  terms('tlp', q.tlp);
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
    sort: [{ [field]: { order: q.order } }, { id: { order: q.order } }],
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
      by_severity: terms('severity'),
      by_detector: terms('detector'),
      by_rule: terms('rule.id'),
      by_host: terms('host.name'),
      over_time: { date_histogram: { field: '@timestamp', fixed_interval: req.interval, min_doc_count: 1 } },
    },
  };
}

/**
 * The merge rules, run by Elasticsearch on an existing document (the `upsert` body is used as is
 * for a new one). Instants are compared as instants: timestamps may carry offsets. Painless
 * resolves methods by arity, not by argument type, so `Math.max` is the double overload only:
 * counts are compared with `>` to stay longs.
 */
export const MERGE_SCRIPT = `
Map o = ctx._source; Map n = params.doc;
String status = o.status;
long oc = ((Number) o.count).longValue(); long nc = ((Number) n.count).longValue();
long count = oc > nc ? oc : nc;
String first = ZonedDateTime.parse(n.first_seen).toInstant().toEpochMilli() < ZonedDateTime.parse(o.first_seen).toInstant().toEpochMilli() ? n.first_seen : o.first_seen;
String last = ZonedDateTime.parse(n.last_seen).toInstant().toEpochMilli() > ZonedDateTime.parse(o.last_seen).toInstant().toEpochMilli() ? n.last_seen : o.last_seen;
List related = new ArrayList(); Set seen = new HashSet();
for (def list : [o.related_events, n.related_events]) {
  if (list != null) { for (def e : list) { if (related.size() < params.cap && seen.add(e)) { related.add(e); } } }
}
Map merged = new HashMap(n);
merged.status = status; merged.count = count; merged.first_seen = first; merged.last_seen = last; merged.related_events = related;
ctx._source.clear(); ctx._source.putAll(merged);
`.trim();

/** The stored document: the alert plus the numeric severity rank used for ranges and sorting. */
export const toEsDoc = (a: AlertT) => ({ ...a, severity_rank: severityRank(a.severity) });

export function fromEsDoc(source: unknown): AlertT {
  const { severity_rank: _rank, ...alert } = source as Record<string, unknown>;
  return Alert.parse(alert);
}

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

export const termsBuckets = (agg: unknown): Bucket[] => TermsAgg.parse(agg).buckets.map((b) => ({ key: String(b.key), count: b.doc_count }));
export const histogramBuckets = (agg: unknown): Bucket[] =>
  TermsAgg.parse(agg).buckets.map((b) => ({ key: new Date(Number(b.key)).toISOString(), count: b.doc_count }));

export const totalOf = (hits: estypes.SearchHitsMetadata<unknown>): number => (typeof hits.total === 'number' ? hits.total : (hits.total?.value ?? 0));
