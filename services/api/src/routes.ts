import { z } from 'zod';
import type { Bus } from '@soc/bus';
import { HttpError, assertKnownParams, parseQuery, readJson, sendJson, type Route } from '@soc/http';
import { DeadLetter, TOPICS, TriageStatus } from '@soc/schema';
import { AggregationRequest, AlertQuery, type AlertStore } from '@soc/store';
import type { Metrics } from '@soc/telemetry';

const AGG_KEYS = new Set(Object.keys(AggregationRequest.shape));

function splitAggParams(params: URLSearchParams): { query: URLSearchParams; agg: URLSearchParams } {
  const query = new URLSearchParams();
  const agg = new URLSearchParams();
  for (const [k, v] of params) (AGG_KEYS.has(k) ? agg : query).append(k, v);
  return { query, agg };
}

const StatusUpdate = z.object({ status: TriageStatus });
const DeadLetterQuery = z.object({
  partition: z.coerce.number().int().min(0).default(0),
  from_offset: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

export interface ApiOptions {
  store: AlertStore;
  bus: Bus;
  metrics: Metrics;
  /** Model versions with their metrics and which is active (the registry in DATA_DIR/models). */
  models?: () => Promise<unknown[]>;
}

/** The analysts' API: search, read, triage and aggregate alerts; inspect dead letters. */
export function apiRoutes(o: ApiOptions): Route[] {
  const timed = <T>(op: string, fn: () => Promise<T>) => o.metrics.time(o.metrics.storeLatency, op, fn);
  return [
    ...(o.models
      ? [{ method: 'GET', path: '/v1/models', roles: ['analyst'], handler: async ({ res, query }) => {
            assertKnownParams(query, []);
            sendJson(res, 200, { models: await o.models!() });
          } } satisfies Route]
      : []),
    {
      method: 'GET',
      path: '/v1/alerts',
      roles: ['analyst'],
      handler: async ({ res, query }) => {
        const q = parseQuery(AlertQuery, query);
        sendJson(res, 200, await timed('search', () => o.store.search(q)));
      },
    },
    {
      method: 'GET',
      path: '/v1/alerts/aggregations',
      roles: ['analyst'],
      handler: async ({ res, query }) => {
        assertKnownParams(query, [...Object.keys(AlertQuery.shape), ...AGG_KEYS]);
        const { query: qp, agg } = splitAggParams(query);
        const q = parseQuery(AlertQuery, qp);
        const a = parseQuery(AggregationRequest, agg);
        sendJson(res, 200, await timed('aggregate', () => o.store.aggregate(q, a)));
      },
    },
    {
      method: 'GET',
      path: '/v1/alerts/:id',
      roles: ['analyst'],
      handler: async ({ res, params, query }) => {
        assertKnownParams(query, []);
        const alert = await timed('get', () => o.store.get(params.id!));
        if (!alert) throw new HttpError(404, `no alert ${params.id}`);
        sendJson(res, 200, alert);
      },
    },
    {
      method: 'PATCH',
      path: '/v1/alerts/:id',
      roles: ['analyst'],
      handler: async ({ req, res, params, query }) => {
        assertKnownParams(query, []);
        const { status } = await readJson(req, StatusUpdate);
        const alert = await timed('set_status', () => o.store.setStatus(params.id!, status));
        if (!alert) throw new HttpError(404, `no alert ${params.id}`);
        sendJson(res, 200, alert);
      },
    },
    {
      method: 'GET',
      path: '/v1/deadletters',
      roles: ['analyst'],
      handler: async ({ res, query }) => {
        const q = parseQuery(DeadLetterQuery, query);
        const records = await o.bus.read(TOPICS.deadLetter, { partition: q.partition, fromOffset: q.from_offset, limit: q.limit });
        const items = records.map((r) => {
          const d = DeadLetter.safeParse(JSON.parse(r.value));
          return { partition: r.partition, offset: r.offset, ...(d.success ? d.data : { reason: 'unreadable dead letter', raw: r.value }) };
        });
        const last = records.at(-1);
        sendJson(res, 200, { items, next_offset: last ? last.offset + 1 : q.from_offset });
      },
    },
  ];
}
