import type { estypes } from '@elastic/elasticsearch';
import type { Alert as AlertT, TriageStatus } from '@soc/schema';
import { BackendUnavailableError, type RetryOptions } from '@soc/errors';
import type { Logger } from '@soc/telemetry';
import type { Aggregations, AlertStore, SearchResult, UpsertFailure, UpsertResult } from './port.ts';
import { assertIpFilters, encodeCursor, validateBatch } from './query.ts';
import { bulkOutcomes, fromEsDoc, histogramBuckets, termsBuckets, toBulkOperations, toEsAggregations, toEsSearch, totalOf } from './es-dsl.ts';
import { layoutNames, type LayoutNames, type LayoutOptions } from './es-layout.ts';
import { withRetries } from './es-transport.ts';

/**
 * The alert store over a search engine of the Elasticsearch family, written once for
 * Elasticsearch and OpenSearch: validation, locating an alert's concrete index, bulk upserts with
 * per-item retries, search, aggregations and triage. Each engine supplies a `SearchEngine`: its
 * client's calling convention and its own index lifecycle (ILM or ISM); everything else is here.
 */

/** Response bodies as both engines send them, reduced to what the store reads. */
export interface SearchBody {
  hits: estypes.SearchHitsMetadata<unknown>;
  aggregations?: Record<string, unknown>;
}

export type Call = <T>(op: string, fn: () => Promise<T>) => Promise<T>;

/** One engine's client behind the common store: plain request and response bodies, no retries. */
export interface SearchEngine {
  readonly kind: 'elasticsearch' | 'opensearch';
  /** Lifecycle policy, component and index templates for `names` (idempotent), through `call`. */
  installLayout(names: LayoutNames, layout: LayoutOptions, call: Call): Promise<void>;
  aliasExists(alias: string): Promise<boolean>;
  /** Creates `index` as the write index of `alias`; rejects if it exists. */
  createWriteIndex(index: string, alias: string): Promise<void>;
  search(req: estypes.SearchRequest): Promise<SearchBody>;
  bulk(operations: object[], refresh: boolean | 'wait_for'): Promise<unknown>;
  /** Partial document update; resolves the updated source. */
  update(index: string, id: string, doc: object, refresh: boolean | 'wait_for'): Promise<unknown>;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export interface SearchStoreOptions {
  /** The rollover alias; indices are `<index>-000001`, … Default "soc-alerts". */
  index?: string;
  logger?: Logger;
  /** Attempts per request, including the first. Default 5. */
  maxRetries?: number;
  retryInitialDelayMs?: number;
  /** Days an index is kept after rollover. Default 90. */
  retentionDays?: number;
  /** Default 'wait_for': a resolved upsert or triage is visible to the next search. */
  refresh?: boolean | 'wait_for';
}

export interface SearchAlertStore extends AlertStore {
  /** Installs the lifecycle policy, templates and the first write index; idempotent, also run lazily. */
  ensureSetup(): Promise<void>;
}

/** Raised inside one bulk attempt when some items deserve another try. */
class ItemsPending extends BackendUnavailableError {}

export function createSearchStore(engine: SearchEngine, opts: SearchStoreOptions): SearchAlertStore {
  const alias = opts.index ?? 'soc-alerts';
  const names = layoutNames(alias);
  const refresh = opts.refresh ?? 'wait_for';
  const log = opts.logger?.child({ component: 'store', adapter: engine.kind, index: alias });
  const retryOpts: RetryOptions = {
    retries: opts.maxRetries ?? 5,
    initialDelayMs: opts.retryInitialDelayMs ?? 200,
    onRetry: (err, attempt, delayMs) => log?.warn({ err: (err as Error).message, attempt, delayMs }, `${engine.kind} retry`),
  };
  const call: Call = (op, fn) => withRetries(`${engine.kind} ${op}`, fn, retryOpts);

  let ready: Promise<void> | null = null;
  // Closing twice must not wait on a client that already closed (the OpenSearch client would).
  let closed: Promise<void> | undefined;
  const ensureSetup = (): Promise<void> => {
    ready ??= setup().catch((err) => {
      ready = null; // the next call tries again
      throw err;
    });
    return ready;
  };

  async function setup(): Promise<void> {
    const layout = { alias, retentionDays: opts.retentionDays ?? 90, rolloverMaxAge: '1d', rolloverMaxPrimaryShardSize: '50gb' };
    await engine.installLayout(names, layout, call);
    if (await call('check alias', () => engine.aliasExists(alias))) return;
    try {
      await call('create write index', () => engine.createWriteIndex(names.firstIndex, alias));
      log?.info({ index: names.firstIndex }, 'created first write index');
    } catch (err) {
      // Another instance bootstrapped it first: that is the state we wanted.
      if (!/resource_already_exists_exception/.test((err as Error).message)) throw err;
    }
  }

  /** Where each existing alert lives: updates must go to that index, not the current write index. */
  async function locate(ids: string[], withSource: boolean): Promise<Map<string, { index: string; source: unknown }>> {
    const res = await call('locate', () => engine.search({ index: alias, query: { ids: { values: ids } }, size: ids.length, _source: withSource }));
    return new Map(res.hits.hits.map((h) => [h._id as string, { index: h._index, source: h._source }]));
  }

  async function bulkWithRetries(alerts: AlertT[], indexOf: (id: string) => string): Promise<UpsertFailure[]> {
    const failed: UpsertFailure[] = [];
    let pending = alerts;
    let lastReasons = new Map<string, string>();
    try {
      await call('bulk', async () => {
        const outcomes = bulkOutcomes(await engine.bulk(toBulkOperations(pending, indexOf), refresh));
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
    kind: engine.kind,
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
      const res = await call('search', () => engine.search(toEsSearch(alias, q)));
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
      const res = await call('aggregate', () => engine.search(toEsAggregations(alias, q, req)));
      const aggs = res.aggregations ?? {};
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
      const source = await call('set status', () => engine.update(hit.index, id, { status }, refresh));
      return source ? fromEsDoc(source) : null;
    },

    async ping() {
      try {
        return await engine.ping();
      } catch {
        return false;
      }
    },

    close: () => (closed ??= engine.close()),
  };
}
