export * from './port.ts';
export { openEmbeddedStore } from './embedded.ts';
export { createElasticsearchStore, type ElasticsearchAlertStore, type ElasticsearchStoreOptions } from './elasticsearch.ts';
export { benchEmbeddedStore, type EmbeddedBenchResult } from './bench.ts';
export { ALERT_MAPPINGS } from './es-layout.ts';
export { toEsDoc } from './elasticsearch.ts';
export { esMappingViolations } from './es-mapping-check.ts';
