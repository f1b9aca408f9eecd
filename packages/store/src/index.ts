export * from './port.ts';
export * from './triage.ts';
export { openEmbeddedStore } from './embedded.ts';
export { createElasticsearchStore, type ElasticsearchAlertStore, type ElasticsearchStoreOptions } from './elasticsearch.ts';
export { createOpenSearchStore, type OpenSearchAlertStore, type OpenSearchStoreOptions } from './opensearch.ts';
export { toEsDsl } from './es-query.ts';
export { benchEmbeddedStore, type EmbeddedBenchResult } from './bench.ts';
export { buildAlerts, FIXTURE_START_MS } from './fixtures.ts';
