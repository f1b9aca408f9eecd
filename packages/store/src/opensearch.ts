import type { Client as EsClient } from '@elastic/elasticsearch';
import type { Client } from '@opensearch-project/opensearch';
import { ConfigError } from '@soc/errors';
import type { Logger } from '@soc/telemetry';
import { createElasticsearchStore, type Call, type ElasticsearchAlertStore, type ElasticsearchStoreOptions, type EngineFlavor } from './elasticsearch.ts';
import { ismPolicy, type LayoutNames, type LayoutOptions } from './es-layout.ts';
import { loadClientLibrary, tlsOptions, type EsConnectionOptions } from './es-transport.ts';

/**
 * The OpenSearch adapter. OpenSearch speaks the same search, aggregation, bulk and painless
 * dialect as Elasticsearch for everything the store uses, so the store is the Elasticsearch one
 * (queries, merge script, triage, audit, cases), run through `esShapedClient`: the few calls it
 * makes, mapped onto `@opensearch-project/opensearch` (request bodies under `body`, responses
 * unwrapped). What differs is the flavor: `flat_object` for detector-specific keys, and Index
 * State Management instead of ILM. A cluster without the ISM plugin still works: its indices are
 * then neither rolled over nor deleted, which set-up logs once and `lifecycle()` reports.
 */

export interface OpenSearchConnectionOptions extends Omit<EsConnectionOptions, 'auth'> {
  /** Basic auth (the security plugin's internal users or an LDAP/SAML-backed user). */
  auth?: { username: string; password: string };
}

export interface OpenSearchStoreOptions extends OpenSearchConnectionOptions, Omit<ElasticsearchStoreOptions, 'client' | 'auth' | 'node'> {
  /** Injected client (tests); it should be built with `maxRetries: 0`. */
  client?: Client;
}

/** 'ism' once the ISM policy is installed; 'unmanaged' on a cluster without the ISM plugin. */
export type Lifecycle = 'ism' | 'unmanaged';

export interface OpenSearchAlertStore extends ElasticsearchAlertStore {
  /** How indices age, known after set-up (undefined before). */
  lifecycle(): Lifecycle | undefined;
}

export const ISM_COMPONENT = 'opensearch-index-management';

/** Same conventions as the Elasticsearch client: no retries of its own, every retry goes through @soc/errors. */
export function createOsClient(o: OpenSearchConnectionOptions): Client {
  const auth = (o as EsConnectionOptions).auth;
  if (auth && 'apiKey' in auth) throw new ConfigError('OpenSearch takes a username and password, not an API key', 'auth');
  const ssl = tlsOptions(o, 'OpenSearch');
  const { Client: OsClient } = loadClientLibrary<typeof import('@opensearch-project/opensearch')>('@opensearch-project/opensearch');
  return new OsClient({ node: o.node, maxRetries: 0, requestTimeout: o.requestTimeoutMs ?? 30_000, ...(auth ? { auth } : {}), ...(ssl ? { ssl } : {}) });
}

type Params = Record<string, unknown>;
const body = async (p: Promise<{ body: unknown }>) => (await p).body;

/**
 * The subset of the Elasticsearch 8 client surface the store calls, over the OpenSearch client.
 * Errors pass through unchanged: both clients name them alike (es-transport classifies them).
 */
export function esShapedClient(os: Client): EsClient {
  const api = os as unknown as Record<string, (p: Params) => Promise<{ body: unknown }>> & { indices: Record<string, (p: Params) => Promise<{ body: unknown }>>; cluster: Record<string, (p: Params) => Promise<{ body: unknown }>> };
  const withBody = (keep: string[]) => (p: Params) => {
    const top: Params = {};
    const rest: Params = {};
    for (const [k, v] of Object.entries(p)) (keep.includes(k) ? top : rest)[k] = v;
    return { ...top, body: rest };
  };
  const search = withBody(['index']);
  const doc = ({ document, ...p }: Params) => ({ ...p, body: document });
  const shaped = {
    search: (p: Params) => body(api.search!(search(p))),
    bulk: ({ operations, ...p }: Params) => body(api.bulk!({ ...p, body: operations })),
    index: (p: Params) => body(api.index!(doc(p))),
    create: (p: Params) => body(api.create!(doc(p))),
    ping: () => body(api.ping!({})),
    close: () => os.close(),
    indices: {
      exists: (p: Params) => body(api.indices.exists!(p)),
      existsAlias: (p: Params) => body(api.indices.existsAlias!(p)),
      create: (p: Params) => body(api.indices.create!(withBody(['index'])(p))),
      putIndexTemplate: (p: Params) => body(api.indices.putIndexTemplate!(withBody(['name'])(p))),
    },
    cluster: { putComponentTemplate: (p: Params) => body(api.cluster.putComponentTemplate!(withBody(['name'])(p))) },
  };
  return shaped as unknown as EsClient;
}

/** Whether the ISM plugin answers on this cluster, from the node plugin list. */
async function hasIsm(os: Client): Promise<boolean> {
  const res = await os.cat.plugins({ format: 'json' });
  return (res.body as unknown as { component?: string }[]).some((p) => p.component === ISM_COMPONENT);
}

/** PUT of an ISM policy is create-only unless the current version is named; this makes it idempotent. */
async function putIsmPolicy(os: Client, name: string, policy: object): Promise<void> {
  const path = `/_plugins/_ism/policies/${encodeURIComponent(name)}`;
  try {
    await os.transport.request({ method: 'PUT', path, body: { policy } });
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode !== 409) throw err;
    const current = (await os.transport.request({ method: 'GET', path })).body as { _seq_no: number; _primary_term: number };
    await os.transport.request({ method: 'PUT', path, querystring: { if_seq_no: current._seq_no, if_primary_term: current._primary_term }, body: { policy } });
  }
}

function opensearchFlavor(os: Client, logger: Logger | undefined, seen: (l: Lifecycle) => void): EngineFlavor {
  return {
    kind: 'opensearch',
    flat: 'flat_object',
    async lifecycle(names: LayoutNames, layout: LayoutOptions, call: Call): Promise<Record<string, string>> {
      const ism = await call('list plugins', () => hasIsm(os));
      seen(ism ? 'ism' : 'unmanaged');
      if (!ism) {
        logger?.warn({ retentionDays: layout.retentionDays }, 'OpenSearch has no ISM plugin: alert indices are neither rolled over nor deleted by the cluster');
        return {};
      }
      await call('put ISM policy', () => putIsmPolicy(os, names.ismPolicy, ismPolicy(layout, names.pattern)));
      return { 'plugins.index_state_management.rollover_alias': layout.alias };
    },
  };
}

export function createOpenSearchStore(opts: OpenSearchStoreOptions): OpenSearchAlertStore {
  const os = opts.client ?? createOsClient(opts);
  const log = opts.logger?.child({ component: 'store', adapter: 'opensearch' });
  let lifecycle: Lifecycle | undefined;
  const { auth: _auth, node: _node, ...rest } = opts;
  const store = createElasticsearchStore({ ...rest, node: opts.node, client: esShapedClient(os), flavor: () => opensearchFlavor(os, log, (l) => (lifecycle = l)) });
  // Closing twice must not wait on a client that already closed (the OpenSearch client would).
  let closed: Promise<void> | undefined;
  return {
    ...store,
    lifecycle: () => lifecycle,
    close: () =>
      (closed ??= (async () => {
        await store.close();
        // An injected client belongs to the caller.
        if (!opts.client) await os.close();
      })()),
  };
}
