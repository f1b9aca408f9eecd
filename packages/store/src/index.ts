export * from './port.ts';
export { openEmbeddedStore } from './embedded.ts';
export { createElasticsearchStore, type ElasticsearchAlertStore, type ElasticsearchStoreOptions } from './elasticsearch.ts';
export { createOpenSearchStore, type OpenSearchAlertStore, type OpenSearchStoreOptions } from './opensearch.ts';
export { benchEmbeddedStore, type EmbeddedBenchResult } from './bench.ts';
