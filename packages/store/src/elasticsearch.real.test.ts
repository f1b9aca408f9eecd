import { randomBytes } from 'node:crypto';
import { afterAll, describe } from 'vitest';
import { dockerAnswers, startElasticsearch } from '@soc/testkit';
import { storeConformance } from './conformance.ts';
import { createElasticsearchStore } from './elasticsearch.ts';
import { createEsClient } from './es-transport.ts';
import { layoutNames } from './es-layout.ts';

/**
 * The full conformance suite against a real Elasticsearch: ELASTICSEARCH_URL if set (with
 * ELASTICSEARCH_API_KEY optional), else a throw-away single-node container when a Docker engine
 * answers; otherwise skipped with one line.
 */

const URL_FROM_ENV = process.env.ELASTICSEARCH_URL;
const HAVE_DOCKER = URL_FROM_ENV === undefined && (await dockerAnswers());
const ENABLED = URL_FROM_ENV !== undefined || HAVE_DOCKER;
if (!ENABLED) console.warn('elasticsearch: skipped — no ELASTICSEARCH_URL and no Docker engine');

let container: { stop(): Promise<unknown>; url: string } | undefined;
let nodeUrl: Promise<string> | undefined;

function elasticsearchUrl(): Promise<string> {
  nodeUrl ??= (async () => {
    if (URL_FROM_ENV !== undefined) return URL_FROM_ENV;
    container = await startElasticsearch();
    return container.url;
  })();
  return nodeUrl;
}

afterAll(async () => {
  await container?.stop();
});

describe.skipIf(!ENABLED)('elasticsearch (real)', () => {
  storeConformance('elasticsearch', async () => {
    const node = await elasticsearchUrl();
    const auth = process.env.ELASTICSEARCH_API_KEY ? { apiKey: process.env.ELASTICSEARCH_API_KEY } : undefined;
    // A fresh alias, templates and policy per store, removed afterwards.
    const index = `soc-alerts-test-${randomBytes(4).toString('hex')}`;
    const store = createElasticsearchStore({ node, ...(auth ? { auth } : {}), index, retentionDays: 1 });
    await store.ensureSetup();
    return {
      store,
      cleanup: async () => {
        const client = createEsClient({ node, ...(auth ? { auth } : {}) });
        const n = layoutNames(index);
        await client.indices.delete({ index: n.pattern, allow_no_indices: true });
        await client.indices.deleteIndexTemplate({ name: n.indexTemplate });
        await client.cluster.deleteComponentTemplate({ name: n.componentTemplate });
        await client.ilm.deleteLifecycle({ name: n.policy });
        await client.close();
      },
    };
  });
});
