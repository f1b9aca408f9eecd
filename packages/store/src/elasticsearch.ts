import type { Client, estypes } from '@elastic/elasticsearch';
import { componentTemplate, ilmPolicy, indexTemplate } from './es-layout.ts';
import { createEsClient, type EsConnectionOptions } from './es-transport.ts';
import { createSearchStore, type SearchAlertStore, type SearchEngine, type SearchStoreOptions } from './search-store.ts';

export * from './es-dsl.ts';

export interface ElasticsearchStoreOptions extends EsConnectionOptions, SearchStoreOptions {
  /** Injected client (tests); it should be built with `maxRetries: 0`. */
  client?: Client;
}

export type ElasticsearchAlertStore = SearchAlertStore;

/** Elasticsearch 8 behind the common search store: the official client, ILM for the lifecycle. */
export function elasticsearchEngine(client: Client, owned: boolean): SearchEngine {
  return {
    kind: 'elasticsearch',
    async installLayout(names, layout, call) {
      await call('put ILM policy', () => client.ilm.putLifecycle({ name: names.policy, policy: ilmPolicy(layout) }));
      await call('put component template', () => client.cluster.putComponentTemplate({ name: names.componentTemplate, template: componentTemplate('flattened') }));
      await call('put index template', () =>
        client.indices.putIndexTemplate({
          name: names.indexTemplate,
          ...indexTemplate(layout.alias, { 'index.lifecycle.name': names.policy, 'index.lifecycle.rollover_alias': layout.alias }),
        }),
      );
    },
    aliasExists: (alias) => client.indices.existsAlias({ name: alias }),
    async createWriteIndex(index, alias) {
      await client.indices.create({ index, aliases: { [alias]: { is_write_index: true } } });
    },
    search: (req) => client.search(req) as Promise<estypes.SearchResponse<unknown, Record<string, unknown>>>,
    bulk: (operations, refresh) => client.bulk({ operations: operations as estypes.BulkOperationContainer[], refresh }),
    async update(index, id, doc, refresh) {
      return (await client.update({ index, id, doc, refresh, _source: true })).get?._source;
    },
    ping: () => client.ping(),
    // An injected client belongs to the caller.
    close: async () => {
      if (owned) await client.close();
    },
  };
}

export function createElasticsearchStore(opts: ElasticsearchStoreOptions): ElasticsearchAlertStore {
  return createSearchStore(elasticsearchEngine(opts.client ?? createEsClient(opts), !opts.client), opts);
}
