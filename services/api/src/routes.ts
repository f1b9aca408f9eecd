import { z } from 'zod';
import type { Bus } from '@soc/bus';
import { AuthError } from '@soc/errors';
import { roleAllows, type Principal } from '@soc/config';
import { HttpError, assertKnownParams, parseQuery, readJson, sendJson, type RequestContext, type Route } from '@soc/http';
import { QueryError } from '@soc/query';
import { DeadLetter, TOPICS, type Alert } from '@soc/schema';
import { AggregationRequest, AlertQuery, AuditQuery, ConflictError, TriageChange, isReopen, type AlertStore, type TriageGuard } from '@soc/store';
import type { Metrics } from '@soc/telemetry';
import { EventHuntQuery, huntEvents } from './hunt.ts';


const AGG_KEYS = new Set(Object.keys(AggregationRequest.shape));

function splitAggParams(params: URLSearchParams): { query: URLSearchParams; agg: URLSearchParams } {
  const query = new URLSearchParams();
  const agg = new URLSearchParams();
  for (const [k, v] of params) (AGG_KEYS.has(k) ? agg : query).append(k, v);
  return { query, agg };
}

/**
 * The console's and the API's one answer to a bad request: 400 with the reason, plus the
 * character position for a query-language error; 409 for a workflow conflict.
 */
export async function answering(res: RequestContext['res'], fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof QueryError) return sendJson(res, 400, { error: err.message, reason: err.reason, position: err.position });
    if (err instanceof ConflictError) return sendJson(res, 409, { error: err.message });
    throw err;
  }
}

/**
 * What an analyst may not do that a lead may: reopen a closed alert, and assign an alert to
 * someone else or take it from someone else. Runs on the stored alert, inside the store's
 * atomic section.
 */
export function triagePolicy(who: Principal): TriageGuard {
  return (current: Alert, change: TriageChange) => {
    if (roleAllows(who.role, ['lead'])) return;
    if (change.status !== undefined && isReopen(current.status, change.status)) throw new AuthError('only a lead may reopen an alert', 403);
    if (change.assignee !== undefined) {
      const mine = (v: string | null | undefined) => v === undefined || v === null || v === who.name;
      if (!mine(change.assignee) || !mine(current.assignee)) throw new AuthError('an analyst may only assign an alert to themselves; ask a lead', 403);
    }
  };
}

const BulkTriage = z.object({ ids: z.array(z.string().min(1).max(128)).min(1).max(500), change: TriageChange }).strict();
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

/** The analysts' API: search, read, triage and aggregate alerts; hunt over raw events; inspect dead letters. */
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
      handler: async ({ res, query }) =>
        answering(res, async () => {
          const q = parseQuery(AlertQuery, query);
          sendJson(res, 200, await timed('search', () => o.store.search(q)));
        }),
    },
    {
      method: 'GET',
      path: '/v1/hunt/events',
      roles: ['analyst'],
      handler: async ({ res, query }) =>
        answering(res, async () => {
          const q = parseQuery(EventHuntQuery, query);
          sendJson(res, 200, await timed('hunt_events', () => huntEvents(o.bus, q)));
        }),
    },
    {
      method: 'GET',
      path: '/v1/alerts/aggregations',
      roles: ['analyst'],
      handler: async ({ res, query }) =>
        answering(res, async () => {
          assertKnownParams(query, [...Object.keys(AlertQuery.shape), ...AGG_KEYS]);
          const { query: qp, agg } = splitAggParams(query);
          const q = parseQuery(AlertQuery, qp);
          const a = parseQuery(AggregationRequest, agg);
          const aggs = await timed('aggregate', () => o.store.aggregate(q, a));
          // Rules are counted by id (names may change between rule revisions); analysts read names.
          const by_rule = await Promise.all(
            aggs.by_rule.map(async (b) => ({ ...b, name: (await o.store.search(AlertQuery.parse({ rule_id: b.key, limit: 1 }))).alerts[0]?.rule.name ?? b.key })),
          );
          sendJson(res, 200, { ...aggs, by_rule });
        }),
    },
    {
      method: 'POST',
      path: '/v1/alerts/triage',
      roles: ['analyst'],
      handler: async ({ req, res, principal }) => {
        const { ids, change } = await readJson(req, BulkTriage);
        const results = [];
        for (const id of [...new Set(ids)]) {
          try {
            const r = await timed('triage', () => o.store.triage(id, change, principal.name, triagePolicy(principal)));
            results.push(r ? { id, ok: true, status: r.alert.status } : { id, ok: false, error: 'no such alert' });
          } catch (err) {
            if (!(err instanceof ConflictError) && !(err instanceof AuthError)) throw err;
            results.push({ id, ok: false, error: err.message });
          }
        }
        sendJson(res, 200, { results });
      },
    },
    {
      method: 'GET',
      path: '/v1/audit',
      roles: ['analyst'],
      handler: async ({ res, query }) => sendJson(res, 200, { entries: await timed('audit', () => o.store.audit(parseQuery(AuditQuery, query))) }),
    },
    {
      method: 'GET',
      path: '/v1/alerts/:id/audit',
      roles: ['analyst'],
      handler: async ({ res, params, query }) => {
        assertKnownParams(query, []);
        sendJson(res, 200, { entries: await timed('audit', () => o.store.audit({ target_kind: 'alert', target_id: params.id!, limit: 1000 })) });
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
      handler: async ({ req, res, params, principal, query }) =>
        answering(res, async () => {
          assertKnownParams(query, []);
          const change = await readJson(req, TriageChange);
          const r = await timed('triage', () => o.store.triage(params.id!, change, principal.name, triagePolicy(principal)));
          if (!r) throw new HttpError(404, `no alert ${params.id}`);
          sendJson(res, 200, { ...r.alert, audit: r.entries });
        }),
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
