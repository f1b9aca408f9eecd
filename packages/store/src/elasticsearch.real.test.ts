import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { randomBytes } from 'node:crypto';
import { afterAll, describe } from 'vitest';
import { storeConformance } from './conformance.ts';
import { createElasticsearchStore } from './elasticsearch.ts';
import { createEsClient } from './es-transport.ts';
import { layoutNames } from './es-layout.ts';

/**
 * The full conformance suite against a real Elasticsearch: ELASTICSEARCH_URL if set (with
 * ELASTICSEARCH_API_KEY optional), else a throw-away single-node container when a Docker engine
 * answers; otherwise skipped with one line.
 */

/** Whether a Docker engine answers on its socket within a second. */
function dockerAnswers(): Promise<boolean> {
  const host = process.env.DOCKER_HOST;
  const socketPath = host?.startsWith('unix://') ? host.slice('unix://'.length) : host ? undefined : '/var/run/docker.sock';
  if (socketPath === undefined || !existsSync(socketPath)) return Promise.resolve(false);
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/_ping', timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

const URL_FROM_ENV = process.env.ELASTICSEARCH_URL;
const HAVE_DOCKER = URL_FROM_ENV === undefined && (await dockerAnswers());
const ENABLED = URL_FROM_ENV !== undefined || HAVE_DOCKER;
if (!ENABLED) console.warn('elasticsearch: skipped — no ELASTICSEARCH_URL and no Docker engine');

let container: { stop(): Promise<unknown>; getHost(): string; getMappedPort(p: number): number } | undefined;
let nodeUrl: Promise<string> | undefined;

function elasticsearchUrl(): Promise<string> {
  nodeUrl ??= (async () => {
    if (URL_FROM_ENV !== undefined) return URL_FROM_ENV;
    const { GenericContainer, Wait } = await import('testcontainers');
    container = await new GenericContainer('docker.elastic.co/elasticsearch/elasticsearch:8.19.0')
      .withEnvironment({ 'discovery.type': 'single-node', 'xpack.security.enabled': 'false', ES_JAVA_OPTS: '-Xms512m -Xmx512m' })
      .withExposedPorts(9200)
      .withWaitStrategy(Wait.forHttp('/_cluster/health?wait_for_status=yellow', 9200))
      .withStartupTimeout(180_000)
      .start();
    return `http://${container.getHost()}:${container.getMappedPort(9200)}`;
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
