import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { unavailable } from '@soc/testkit';
import { storeConformance } from './conformance.ts';
import { ISM_COMPONENT, createOpenSearchStore, createOsClient } from './opensearch.ts';
import { layoutNames } from './es-layout.ts';
import { buildAlerts } from './fixtures.ts';

/**
 * The full store conformance suite (the same oracle the SQLite adapter answers to) against a real
 * OpenSearch node: OPENSEARCH_URL (+ OPENSEARCH_USERNAME/PASSWORD), as `pnpm test:real` sets it
 * after starting a node from the Maven Central jars; otherwise skipped with one line.
 */

const NODE = process.env.OPENSEARCH_URL;
if (!NODE) unavailable('opensearch', 'no OPENSEARCH_URL');
const { OPENSEARCH_USERNAME: username, OPENSEARCH_PASSWORD: password } = process.env;
const auth = username && password ? { username, password } : undefined;
const connection = { node: NODE ?? '', ...(auth ? { auth } : {}) };

const aliases: string[] = [];
/** A fresh alias, templates and policy per store, removed afterwards. */
function freshStore() {
  const index = `soc-alerts-test-${randomBytes(4).toString('hex')}`;
  aliases.push(index);
  return createOpenSearchStore({ ...connection, index, retentionDays: 1 });
}

afterAll(async () => {
  if (!NODE) return;
  const client = createOsClient(connection);
  for (const alias of aliases) {
    const n = layoutNames(alias);
    await client.indices.delete({ index: n.pattern, allow_no_indices: true }).catch(() => undefined);
    await client.indices.deleteIndexTemplate({ name: n.indexTemplate }).catch(() => undefined);
    await client.cluster.deleteComponentTemplate({ name: n.componentTemplate }).catch(() => undefined);
    await client.transport.request({ method: 'DELETE', path: `/_plugins/_ism/policies/${n.ismPolicy}` }).catch(() => undefined);
  }
  await client.close();
});

describe.skipIf(!NODE)('opensearch (real)', () => {
  storeConformance('opensearch', async () => {
    const store = freshStore();
    await store.ensureSetup();
    // The suite closes the store; its indices and templates go in afterAll.
    return { store, cleanup: async () => undefined };
  });

  it('maps detector-specific keys as flat_object and reports how indices age', async () => {
    const store = freshStore();
    const client = createOsClient(connection);
    try {
      await store.ensureSetup();
      const alias = aliases[aliases.length - 1]!;
      type Props = Record<string, { type?: string; properties?: Props }>;
      const mapping = (await client.indices.getMapping({ index: layoutNames(alias).firstIndex })).body as Record<string, { mappings: { properties: Props } }>;
      const props = Object.values(mapping)[0]!.mappings.properties;
      expect(props.labels?.type).toBe('flat_object');
      expect(props.soc?.properties?.explanation?.properties?.values?.type).toBe('flat_object');

      // Arbitrary label keys are accepted and the alert round-trips.
      const [a] = buildAlerts(1, 7);
      const labelled = { ...a!, labels: { 'site.zone': 'dmz', owner: 'netops' } };
      expect((await store.upsert([labelled])).failed).toEqual([]);
      expect((await store.get(labelled.id))?.labels).toEqual(labelled.labels);

      const plugins = (await client.cat.plugins({ format: 'json' })).body as unknown as { component: string }[];
      const ism = plugins.some((p) => p.component === ISM_COMPONENT);
      expect(store.lifecycle()).toBe(ism ? 'ism' : 'unmanaged');
      const template = (await client.indices.getIndexTemplate({ name: layoutNames(alias).indexTemplate })).body as { index_templates: { index_template: { template: { settings?: { index?: Record<string, unknown> } } } }[] };
      const settings = template.index_templates[0]!.index_template.template.settings?.index ?? {};
      expect('plugins' in settings || Object.keys(settings).some((k) => k.startsWith('plugins.index_state_management'))).toBe(ism);
    } finally {
      await store.close();
      await client.close();
    }
  });
});
