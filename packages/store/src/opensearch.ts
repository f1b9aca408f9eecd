import { Client } from '@opensearch-project/opensearch';
import { ConfigError } from '@soc/errors';
import type { Logger } from '@soc/telemetry';
import { componentTemplate, indexTemplate, ismPolicy } from './es-layout.ts';
import { tlsOptions, type EsConnectionOptions } from './es-transport.ts';
import { createSearchStore, type SearchAlertStore, type SearchBody, type SearchEngine, type SearchStoreOptions } from './search-store.ts';

/**
 * The OpenSearch adapter: the common search store (same query DSL, bulk merge script and index
 * layout as Elasticsearch) over the `@opensearch-project/opensearch` client, with `flat_object`
 * for detector-specific keys and Index State Management for rollover and retention. A cluster
 * without the ISM plugin still works: its indices are then neither rolled over nor deleted, which
 * the adapter logs once at set-up and reports through `lifecycle()`.
 */

export interface OpenSearchConnectionOptions extends Omit<EsConnectionOptions, 'auth'> {
  /** Basic auth (the security plugin's internal users or an LDAP/SAML-backed user). */
  auth?: { username: string; password: string };
}

export interface OpenSearchStoreOptions extends OpenSearchConnectionOptions, SearchStoreOptions {
  /** Injected client (tests); it should be built with `maxRetries: 0`. */
  client?: Client;
}

/** 'ism' once the ISM policy is installed; 'unmanaged' on a cluster without the ISM plugin. */
export type Lifecycle = 'ism' | 'unmanaged';

export interface OpenSearchAlertStore extends SearchAlertStore {
  /** How indices age, known after set-up (undefined before). */
  lifecycle(): Lifecycle | undefined;
}

export const ISM_COMPONENT = 'opensearch-index-management';

/** Same conventions as the Elasticsearch client: no retries of its own, every retry goes through @soc/errors. */
export function createOsClient(o: OpenSearchConnectionOptions): Client {
  const auth = (o as EsConnectionOptions).auth;
  if (auth && 'apiKey' in auth) throw new ConfigError('OpenSearch takes a username and password, not an API key', 'auth');
  const ssl = tlsOptions(o, 'OpenSearch');
  return new Client({
    node: o.node,
    maxRetries: 0,
    requestTimeout: o.requestTimeoutMs ?? 30_000,
    ...(auth ? { auth } : {}),
    ...(ssl ? { ssl } : {}),
  });
}

/** Whether the ISM plugin answers on this cluster, from the node plugin list. */
async function hasIsm(client: Client): Promise<boolean> {
  const res = await client.cat.plugins({ format: 'json' });
  return (res.body as unknown as { component?: string }[]).some((p) => p.component === ISM_COMPONENT);
}

/** PUT of an ISM policy is create-only unless the current version is named; this makes it idempotent. */
async function putIsmPolicy(client: Client, name: string, policy: object): Promise<void> {
  const path = `/_plugins/_ism/policies/${encodeURIComponent(name)}`;
  try {
    await client.transport.request({ method: 'PUT', path, body: { policy } });
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode !== 409) throw err;
    const current = (await client.transport.request({ method: 'GET', path })).body as { _seq_no: number; _primary_term: number };
    await client.transport.request({ method: 'PUT', path, querystring: { if_seq_no: current._seq_no, if_primary_term: current._primary_term }, body: { policy } });
  }
}

export function opensearchEngine(client: Client, owned: boolean, logger?: Logger): SearchEngine & { lifecycle(): Lifecycle | undefined } {
  let lifecycle: Lifecycle | undefined;
  const body = <T>(p: Promise<{ body: unknown }>) => p.then((r) => r.body as T);
  return {
    kind: 'opensearch',
    lifecycle: () => lifecycle,
    async installLayout(names, layout, call) {
      const ism = await call('list plugins', () => hasIsm(client));
      if (ism) await call('put ISM policy', () => putIsmPolicy(client, names.ismPolicy, ismPolicy(layout, names.pattern)));
      else logger?.warn({ retentionDays: layout.retentionDays }, 'OpenSearch has no ISM plugin: alert indices are neither rolled over nor deleted by the cluster');
      await call('put component template', () => client.cluster.putComponentTemplate({ name: names.componentTemplate, body: { template: componentTemplate('flat_object') } as never }));
      const settings: Record<string, string> = ism ? { 'plugins.index_state_management.rollover_alias': layout.alias } : {};
      await call('put index template', () => client.indices.putIndexTemplate({ name: names.indexTemplate, body: indexTemplate(layout.alias, settings) as never }));
      lifecycle = ism ? 'ism' : 'unmanaged';
    },
    aliasExists: (alias) => body<boolean>(client.indices.existsAlias({ name: alias })),
    async createWriteIndex(index, alias) {
      await client.indices.create({ index, body: { aliases: { [alias]: { is_write_index: true } } } });
    },
    search: ({ index, ...request }) => body<SearchBody>(client.search({ index: index as string, body: request as never })),
    bulk: (operations, refresh) => body(client.bulk({ body: operations as never, refresh })),
    async update(index, id, doc, refresh) {
      const res = await body<{ get?: { _source?: unknown } }>(client.update({ index, id, body: { doc }, refresh, _source: true }));
      return res.get?._source;
    },
    ping: () => body<boolean>(client.ping()),
    // An injected client belongs to the caller.
    close: async () => {
      if (owned) await client.close();
    },
  };
}

export function createOpenSearchStore(opts: OpenSearchStoreOptions): OpenSearchAlertStore {
  const log = opts.logger?.child({ component: 'store', adapter: 'opensearch' });
  const engine = opensearchEngine(opts.client ?? createOsClient(opts), !opts.client, log);
  return { ...createSearchStore(engine, opts), lifecycle: engine.lifecycle };
}
