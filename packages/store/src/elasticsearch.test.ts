import { createRequire } from 'node:module';
import type { MockPattern } from '@elastic/elasticsearch-mock';
import { Client } from '@elastic/elasticsearch';
import { describe, expect, it } from 'vitest';
import { BackendUnavailableError } from '@soc/errors';
import type { Alert } from '@soc/schema';
import { AlertQuery } from './port.ts';
import { MERGE_SCRIPT, createElasticsearchStore, fromEsDoc, toEsDoc } from './elasticsearch.ts';
import { leafPaths, mappedPaths } from './es-fields.ts';
import { ALERT_MAPPINGS, ANALYSIS } from './es-layout.ts';
import { buildAlerts } from './fixtures.ts';
import { encodeCursor } from './query.ts';

/**
 * Contract tests: the exact requests the adapter sends and its handling of Elasticsearch's
 * response shapes (as documented for the bulk, search and update APIs), over the official mock.
 */

// CommonJS both: the mock recognises error responses by the class of its own copy of the client.
const require = createRequire(import.meta.url);
const { errors } = require('@elastic/elasticsearch') as typeof import('@elastic/elasticsearch');
const Mock = require('@elastic/elasticsearch-mock') as new () => {
  add(pattern: MockPattern, resolver: (params: MockPattern) => object | string): unknown;
  getConnection(): ConstructorParameters<typeof Client>[0]['Connection'];
};

interface Seen {
  method: string;
  path: string;
  querystring: Record<string, string>;
  body: unknown;
}

const INDEX = 'soc-alerts-000001';
const ok = (body: object) => body;
const shards = { total: 1, successful: 1, skipped: 0, failed: 0 };

function harness(opts: { aliasExists?: boolean } = {}) {
  const mock = new Mock();
  const seen: Seen[] = [];
  const record = (p: Seen) => {
    seen.push({ method: p.method, path: p.path, querystring: p.querystring, body: p.body });
  };
  const route = (method: string, path: string, fn: (p: Seen) => object | string) =>
    mock.add({ method, path }, (p) => {
      record(p as unknown as Seen);
      return fn(p as unknown as Seen);
    });
  route('PUT', '/_ilm/policy/:name', () => ok({ acknowledged: true }));
  route('PUT', '/_component_template/:name', () => ok({ acknowledged: true }));
  route('PUT', '/_index_template/:name', () => ok({ acknowledged: true }));
  route('HEAD', '/_alias/:name', () =>
    opts.aliasExists ? '' : new errors.ResponseError({ body: '', statusCode: 404, headers: {}, warnings: null, meta: {} as never }),
  );
  for (const index of ['/soc-alerts-audit', '/soc-alerts-cases']) {
    route('HEAD', index, () => (opts.aliasExists ? '' : new errors.ResponseError({ body: '', statusCode: 404, headers: {}, warnings: null, meta: {} as never })));
  }
  route('PUT', '/:index', () => ok({ acknowledged: true, shards_acknowledged: true, index: INDEX }));
  const client = new Client({ node: 'http://127.0.0.1:9200', Connection: mock.getConnection(), maxRetries: 0 });
  const store = createElasticsearchStore({ node: 'http://127.0.0.1:9200', client, maxRetries: 3, retryInitialDelayMs: 1, retentionDays: 30 });
  const searchHits = (hits: { _id: string; _index?: string; _source?: object; sort?: unknown[] }[], total = hits.length) => ({
    took: 2,
    timed_out: false,
    _shards: shards,
    hits: { total: { value: total, relation: 'eq' }, max_score: null, hits: hits.map((h) => ({ _index: INDEX, _score: null, ...h })) },
  });
  return { mock, seen, route, store, searchHits, of: (method: string, path: string) => seen.filter((s) => s.method === method && s.path === path) };
}

const updated = (id: string) => ({ update: { _index: INDEX, _id: id, _version: 1, result: 'created', _shards: { total: 2, successful: 1, failed: 0 }, _seq_no: 0, _primary_term: 1, status: 201 } });

describe('elasticsearch adapter: setup', () => {
  it('installs the ILM policy, the mapping template, the index template and the write index', async () => {
    const h = harness();
    await h.store.ensureSetup();
    await h.store.ensureSetup(); // memoised
    expect(h.seen.map((s) => `${s.method} ${s.path}`)).toEqual([
      'PUT /_ilm/policy/soc-alerts-ilm',
      'PUT /_component_template/soc-alerts-mappings',
      'PUT /_index_template/soc-alerts',
      'HEAD /soc-alerts-audit',
      'PUT /soc-alerts-audit',
      'HEAD /soc-alerts-cases',
      'PUT /soc-alerts-cases',
      'HEAD /_alias/soc-alerts',
      `PUT /${INDEX}`,
    ]);
    expect((h.seen[4]?.body as { mappings: { dynamic: string } }).mappings.dynamic).toBe('strict');
    expect(h.seen[0]?.body).toEqual({
      policy: {
        phases: {
          hot: { actions: { rollover: { max_age: '1d', max_primary_shard_size: '50gb' } } },
          delete: { min_age: '30d', actions: { delete: {} } },
        },
      },
    });
    const component = h.seen[1]?.body as { template: { mappings: typeof ALERT_MAPPINGS; settings: object } };
    expect(component.template.settings).toEqual({ analysis: ANALYSIS });
    expect(component.template.mappings.dynamic).toBe('strict');
    const props = component.template.mappings.properties as Record<string, { type?: string; properties?: Record<string, { type?: string }> }>;
    expect(props['source']?.properties?.['ip']?.type).toBe('ip');
    expect(props['@timestamp']?.type).toBe('date');
    expect(props['event']?.properties?.['severity']?.type).toBe('long');
    expect(props['message']).toEqual({ type: 'match_only_text' });
    expect(h.seen[2]?.body).toEqual({
      index_patterns: ['soc-alerts-*'],
      composed_of: ['soc-alerts-mappings'],
      priority: 200,
      template: { settings: { 'index.lifecycle.name': 'soc-alerts-ilm', 'index.lifecycle.rollover_alias': 'soc-alerts' } },
    });
    expect(h.seen[8]?.body).toEqual({ aliases: { 'soc-alerts': { is_write_index: true } } });
  });

  it('maps every field of the stored document explicitly, and the document reads back as the alert', () => {
    const [a] = buildAlerts(1, 3);
    const full: Alert = { ...(a as Alert), network: { transport: 'tcp' }, federation: { message_id: 'm', received_at: a!.last_seen, hops: 1, path: ['soc-lv'] }, links: [{ type: 't', alert_id: 'x' }] };
    const mapped = new Set(mappedPaths(ALERT_MAPPINGS.properties ?? {}));
    for (const key of leafPaths(toEsDoc(full))) expect(mapped, key).toContain(key);
    expect(fromEsDoc(toEsDoc(full))).toEqual(full);
  });

  it('leaves an existing alias alone', async () => {
    const h = harness({ aliasExists: true });
    await h.store.ensureSetup();
    expect(h.of('PUT', `/${INDEX}`)).toEqual([]);
  });
});

describe('elasticsearch adapter: upsert', () => {
  it('sends one scripted update with an upsert document per alert, to the index the alert already lives in', async () => {
    const h = harness({ aliasExists: true });
    const alerts = buildAlerts(3, 21);
    const [a0, a1, a2] = alerts as [Alert, Alert, Alert];
    h.route('POST', '/soc-alerts/_search', () => h.searchHits([{ _id: a1.id, _index: 'soc-alerts-000007' }]));
    h.route('POST', '/_bulk', (p) => ({ took: 5, errors: false, items: (p.body as unknown[]).filter((_, i) => i % 2 === 0).map((op) => updated((op as { update: { _id: string } }).update._id)) }));

    expect(await h.store.upsert(alerts)).toEqual({ upserted: 3, failed: [] });
    expect(h.of('POST', '/soc-alerts/_search')[0]?.body).toEqual({ query: { ids: { values: [a0.id, a1.id, a2.id] } }, size: 3, _source: false });
    const [bulk] = h.of('POST', '/_bulk');
    expect(bulk?.querystring).toEqual({ refresh: 'wait_for' });
    const script = (a: Alert) => ({ script: { source: MERGE_SCRIPT, lang: 'painless', params: { doc: toEsDoc(a), cap: 1000 } }, upsert: toEsDoc(a) });
    expect(bulk?.body).toEqual([
      { update: { _index: 'soc-alerts', _id: a0.id, retry_on_conflict: 3 } },
      script(a0),
      { update: { _index: 'soc-alerts-000007', _id: a1.id, retry_on_conflict: 3 } },
      script(a1),
      { update: { _index: 'soc-alerts', _id: a2.id, retry_on_conflict: 3 } },
      script(a2),
    ]);
    expect((toEsDoc(a0).event as { severity: number }).severity).toBe(['low', 'medium', 'high', 'critical'].indexOf(a0.severity) + 1);
  });

  it('retries a 429 item, reports a mapping error as non-retriable, keeps the rest', async () => {
    const h = harness({ aliasExists: true });
    const alerts = buildAlerts(3, 22);
    const [a0, a1, a2] = alerts as [Alert, Alert, Alert];
    h.route('POST', '/soc-alerts/_search', () => h.searchHits([]));
    let call = 0;
    h.route('POST', '/_bulk', () => {
      call++;
      if (call > 1) return { took: 1, errors: false, items: [updated(a1.id)] };
      return {
        took: 4,
        errors: true,
        items: [
          updated(a0.id),
          { update: { _index: INDEX, _id: a1.id, status: 429, error: { type: 'es_rejected_execution_exception', reason: 'rejected execution of coordinating operation [coordinating_and_primary_bytes=0]' } } },
          {
            update: {
              _index: INDEX,
              _id: a2.id,
              status: 400,
              error: {
                type: 'mapper_parsing_exception',
                reason: `failed to parse field [source.port] of type [integer] in document with id '${a2.id}'`,
                caused_by: { type: 'input_coercion_exception', reason: 'Numeric value out of range of int' },
              },
            },
          },
        ],
      };
    });

    const res = await h.store.upsert(alerts);
    expect(res.upserted).toBe(2);
    expect(res.failed).toEqual([{ id: a2.id, retriable: false, reason: expect.stringMatching(/^HTTP 400 mapper_parsing_exception: failed to parse field \[source\.port\]/) }]);
    const bulks = h.of('POST', '/_bulk');
    expect(bulks).toHaveLength(2);
    expect((bulks[1]?.body as { update?: { _id: string } }[]).flatMap((l) => (l.update ? [l.update._id] : []))).toEqual([a1.id]);
  });

  it('retries a 503 on the whole request, then surfaces BackendUnavailableError', async () => {
    const h = harness({ aliasExists: true });
    h.route('POST', '/soc-alerts/_search', () => h.searchHits([]));
    h.route('POST', '/_bulk', () => new errors.ResponseError({ body: { error: { type: 'unavailable_shards_exception', reason: 'primary shard is not active' }, status: 503 }, statusCode: 503, headers: {}, warnings: null, meta: {} as never }));
    const err = await h.store.upsert(buildAlerts(2, 23)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendUnavailableError);
    expect((err as Error).message).toMatch(/503 unavailable_shards_exception/);
    expect(h.of('POST', '/_bulk')).toHaveLength(3);
  });

  it('does not call Elasticsearch for a batch of invalid alerts only', async () => {
    const h = harness({ aliasExists: true });
    const res = await h.store.upsert([{ id: 'bad-alert-0001' } as unknown as Alert]);
    expect(res).toEqual({ upserted: 0, failed: [{ id: 'bad-alert-0001', retriable: false, reason: expect.stringMatching(/^invalid alert/) }] });
    expect(h.seen).toEqual([]);
  });
});

describe('elasticsearch adapter: queries', () => {
  it('translates filters, free text, sort and cursor into the search DSL, and hits back into alerts', async () => {
    const h = harness({ aliasExists: true });
    const alerts = buildAlerts(3, 24) as [Alert, Alert, Alert];
    h.route('POST', '/soc-alerts/_search', () =>
      h.searchHits(alerts.map((a) => ({ _id: a.id, _source: toEsDoc(a), sort: [a.score, Date.parse(a['@timestamp']), a.id] })), 57),
    );
    const cursor = encodeCursor([0.5, 1709251200000], 'abc-cursor-id');
    const res = await h.store.search(
      AlertQuery.parse({
        from: '2024-03-01T00:00:00Z',
        to: '2024-03-02T00:00:00+02:00',
        severity_min: 'high',
        host: 'web-01',
        ip: '10.0.0.1',
        detector: 'rules,sigma',
        status: 'new',
        tlp: 'RED',
        origin: 'soc-lv',
        rule_id: 'rules-1',
        q: 'Port "lateral movement" exfil* foo-bar',
        sort: 'score',
        order: 'asc',
        limit: 2,
        cursor,
      }),
    );
    expect(h.of('POST', '/soc-alerts/_search')[0]?.body).toEqual({
      query: {
        bool: {
          filter: [
            { range: { '@timestamp': { gte: '2024-03-01T00:00:00Z', lt: '2024-03-02T00:00:00+02:00' } } },
            { range: { 'event.severity': { gte: 3 } } },
            { term: { 'host.name': 'web-01' } },
            { bool: { should: [{ term: { 'source.ip': '10.0.0.1' } }, { term: { 'destination.ip': '10.0.0.1' } }], minimum_should_match: 1 } },
            { terms: { 'soc.detector': ['rules', 'sigma'] } },
            { term: { 'rule.id': 'rules-1' } },
            { terms: { 'soc.status': ['new'] } },
            { term: { 'soc.origin.soc': 'soc-lv' } },
            { terms: { 'soc.tlp': ['RED'] } },
            {
              bool: {
                filter: ['port', '"lateral movement"', 'exfil*', '"foo bar"'].map((query) => ({
                  simple_query_string: { query, fields: ['message', 'rule.name.text', 'soc.explanation.summary'], default_operator: 'and', flags: 'PHRASE|PREFIX|WHITESPACE' },
                })),
              },
            },
          ],
        },
      },
      sort: [{ 'soc.score': { order: 'asc' } }, { '@timestamp': { order: 'asc' } }, { 'event.id': { order: 'asc' } }],
      size: 3,
      track_total_hits: true,
      search_after: [0.5, 1709251200000, 'abc-cursor-id'],
    });
    expect(res.total).toBe(57);
    expect(res.alerts).toEqual(alerts.slice(0, 2));
    expect(res.next_cursor).toBe(encodeCursor([alerts[1].score, Date.parse(alerts[1]['@timestamp'])], alerts[1].id));
  });

  it('sends the aggregation DSL and maps terms and histogram buckets', async () => {
    const h = harness({ aliasExists: true });
    const hour = Date.parse('2024-03-01T05:00:00Z');
    h.route('POST', '/soc-alerts/_search', () => ({
      took: 3,
      timed_out: false,
      _shards: shards,
      hits: { total: { value: 9, relation: 'eq' }, max_score: null, hits: [] },
      aggregations: {
        by_severity: { doc_count_error_upper_bound: 0, sum_other_doc_count: 0, buckets: [{ key: 'high', doc_count: 6 }, { key: 'low', doc_count: 3 }] },
        by_detector: { doc_count_error_upper_bound: 0, sum_other_doc_count: 0, buckets: [{ key: 'rules', doc_count: 9 }] },
        by_rule: { doc_count_error_upper_bound: 0, sum_other_doc_count: 2, buckets: [{ key: 'rules-1', doc_count: 7 }] },
        by_host: { doc_count_error_upper_bound: 0, sum_other_doc_count: 0, buckets: [] },
        by_source: { doc_count_error_upper_bound: 0, sum_other_doc_count: 0, buckets: [{ key: '10.0.0.1', doc_count: 9 }] },
        by_destination: { doc_count_error_upper_bound: 0, sum_other_doc_count: 0, buckets: [] },
        over_time: {
          buckets: [
            { key_as_string: '2024-03-01T05:00:00.000Z', key: hour, doc_count: 4 },
            { key_as_string: '2024-03-01T07:00:00.000Z', key: hour + 7_200_000, doc_count: 5 },
          ],
        },
      },
    }));
    const res = await h.store.aggregate(AlertQuery.parse({ detector: 'rules' }), { interval: '1h', size: 5 });
    const terms = (field: string) => ({ terms: { field, size: 5, order: [{ _count: 'desc' }, { _key: 'asc' }] } });
    expect(h.of('POST', '/soc-alerts/_search')[0]?.body).toEqual({
      query: { bool: { filter: [{ terms: { 'soc.detector': ['rules'] } }] } },
      size: 0,
      track_total_hits: true,
      aggs: {
        by_severity: terms('soc.severity'),
        by_detector: terms('soc.detector'),
        by_rule: terms('rule.id'),
        by_host: terms('host.name'),
        by_source: terms('source.ip'),
        by_destination: terms('destination.ip'),
        over_time: { date_histogram: { field: '@timestamp', fixed_interval: '1h', min_doc_count: 1 } },
      },
    });
    expect(res).toEqual({
      total: 9,
      by_severity: [{ key: 'high', count: 6 }, { key: 'low', count: 3 }],
      by_detector: [{ key: 'rules', count: 9 }],
      by_rule: [{ key: 'rules-1', count: 7 }],
      by_host: [],
      by_source: [{ key: '10.0.0.1', count: 9 }],
      by_destination: [],
      over_time: [{ key: '2024-03-01T05:00:00.000Z', count: 4 }, { key: '2024-03-01T07:00:00.000Z', count: 5 }],
    });
  });

  it('triages with optimistic concurrency on the concrete index, retries a conflict, then appends the audit entries', async () => {
    const h = harness({ aliasExists: true });
    const [a] = buildAlerts(1, 25) as [Alert];
    const stored = { ...a, status: 'new' as const };
    let seqNo = 5;
    h.route('POST', '/soc-alerts/_search', (p) => {
      const ids = (p.body as { query: { ids: { values: string[] } } }).query.ids.values;
      return h.searchHits(ids.includes(a.id) ? [{ _id: a.id, _index: 'soc-alerts-000002', _source: toEsDoc(stored), _seq_no: seqNo, _primary_term: 1 } as never] : []);
    });
    let writes = 0;
    h.route('PUT', '/:index/_doc/:id', () => {
      writes++;
      if (writes === 1) {
        seqNo = 6; // someone else wrote in between
        return new errors.ResponseError({ body: { error: { type: 'version_conflict_engine_exception', reason: 'conflict' }, status: 409 }, statusCode: 409, headers: {}, warnings: null, meta: {} as never });
      }
      return { _index: 'soc-alerts-000002', _id: a.id, _version: 3, result: 'updated', _shards: { total: 2, successful: 1, failed: 0 }, _seq_no: 7, _primary_term: 1 };
    });
    h.route('POST', '/_bulk', (p) => ({ took: 1, errors: false, items: (p.body as unknown[]).filter((_, i) => i % 2 === 0).map(() => ({ create: { _index: 'soc-alerts-audit', status: 201 } })) }));

    const res = await h.store.triage(a.id, { status: 'acknowledged', comment: 'mine' }, 'alice');
    expect(res?.alert).toEqual({ ...stored, status: 'acknowledged' });
    const puts = h.of('PUT', `/soc-alerts-000002/_doc/${a.id}`);
    expect(puts.map((p) => p.querystring)).toEqual([
      { if_seq_no: '5', if_primary_term: '1', refresh: 'wait_for' },
      { if_seq_no: '6', if_primary_term: '1', refresh: 'wait_for' },
    ]);
    expect(puts[1]?.body).toEqual(toEsDoc({ ...stored, status: 'acknowledged' }));
    const [bulk] = h.of('POST', '/_bulk');
    const lines = bulk?.body as object[];
    expect(lines.filter((_, i) => i % 2 === 0)).toEqual(res!.entries.map((e) => ({ create: { _index: 'soc-alerts-audit', _id: e.id } })));
    expect(lines.filter((_, i) => i % 2 === 1)).toEqual(res!.entries);
    expect(res!.entries.map((e) => e.action)).toEqual(['status', 'comment']);

    await expect(h.store.triage(a.id, { status: 'resolved' }, 'alice')).rejects.toThrow(/cannot go from new to resolved/);
    expect(await h.store.triage('missing-alert-id', { status: 'acknowledged' }, 'alice')).toBeNull();
  });

  it('reads the audit trail newest-first from the index and returns it oldest-first', async () => {
    const h = harness({ aliasExists: true });
    const e = (n: number) => ({ id: `0000000${n}-0001-aa`, at: `2024-03-01T00:00:0${n}.000Z`, actor: 'alice', target: { kind: 'alert', id: 'x' }, action: 'comment', text: `c${n}` });
    h.route('POST', '/soc-alerts-audit/_search', () => h.searchHits([{ _id: 'b', _source: e(2) }, { _id: 'a', _source: e(1) }]));
    expect((await h.store.audit({ target_kind: 'alert', target_id: 'x', limit: 2 })).map((x) => x.text)).toEqual(['c1', 'c2']);
    expect(h.of('POST', '/soc-alerts-audit/_search')[0]?.body).toEqual({
      query: { bool: { filter: [{ term: { 'target.kind': 'alert' } }, { term: { 'target.id': 'x' } }] } },
      sort: [{ at: { order: 'desc' } }, { id: { order: 'desc' } }],
      size: 2,
    });
  });

  it('pings', async () => {
    const h = harness({ aliasExists: true });
    expect(await h.store.ping()).toBe(false);
    h.route('HEAD', '/', () => '');
    expect(await h.store.ping()).toBe(true);
  });
});
