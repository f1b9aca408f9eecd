/**
 * The end-to-end pipeline against the production adapters: Suricata EVE alerts pushed to the
 * collector travel through real Kafka and come back from a real OpenSearch or Elasticsearch
 * through the API.
 *
 * Backends (see @soc/testkit): the broker and node `pnpm test:real` starts (KAFKA_BROKERS,
 * OPENSEARCH_URL), or an operator's KAFKA_BROKERS / ELASTICSEARCH_URL (+ ELASTICSEARCH_USERNAME/
 * PASSWORD or ELASTICSEARCH_API_KEY); whichever is missing is started with testcontainers when a
 * Docker engine answers; otherwise the suite is skipped with one line.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findKafka, findSearchEngine, unavailable, type Started } from '@soc/testkit';
import { api, eveAlert, metricSum, startSoc, waitFor, type SocProcess } from '../helpers/soc-process.ts';

const kafkaSource = await findKafka();
const searchSource = await findSearchEngine();
const ENABLED = kafkaSource !== null && searchSource !== null;
if (!ENABLED) unavailable('real backends', 'no KAFKA_BROKERS/OPENSEARCH_URL/ELASTICSEARCH_URL and no Docker engine');

/** Authorization for a cluster given by the environment, as the services read it. */
function esAuthHeader(): Record<string, string> {
  const { ELASTICSEARCH_API_KEY: key, ELASTICSEARCH_USERNAME: user, ELASTICSEARCH_PASSWORD: pass } = process.env;
  if (key) return { authorization: `ApiKey ${key}` };
  if (user && pass) return { authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}` };
  return {};
}

/**
 * Removes what this run created on a cluster that outlives it (containers are simply discarded):
 * the run's indices, templates and lifecycle policy, all named after its own index alias.
 */
async function dropIndexLayout(esUrl: string, alias: string): Promise<void> {
  const base = esUrl.split(',')[0]!.replace(/\/$/, '');
  const policies = [`/_ilm/policy/${alias}-ilm`, `/_plugins/_ism/policies/${alias}-ism`];
  for (const path of [`/${alias}-*?allow_no_indices=true`, `/_index_template/${alias}*`, `/_component_template/${alias}*`, ...policies]) {
    await fetch(base + path, { method: 'DELETE', headers: esAuthHeader() }).catch(() => undefined);
  }
}

describe.skipIf(!ENABLED)('soc start on Kafka + a search engine: ingest -> bus -> detector -> indexer -> store -> API', () => {
  const started: Started[] = [];
  // Unique per run, so a shared broker or cluster with earlier data cannot satisfy the assertions.
  const sid = randomInt(10_000_000, 90_000_000);
  const alias = `soc-alerts-e2e-${randomBytes(4).toString('hex')}`;
  let dir: string;
  let soc: SocProcess;
  let search: Awaited<ReturnType<NonNullable<typeof searchSource>>>;

  beforeAll(async () => {
    const [kafka, node] = await Promise.all([kafkaSource!(), searchSource!()]);
    started.push(kafka, node);
    search = node;
    dir = mkdtempSync(join(tmpdir(), 'soc-e2e-real-'));
    const storeEnv =
      node.kind === 'opensearch'
        ? { OPENSEARCH_URL: node.url, OPENSEARCH_INDEX: alias, ELASTICSEARCH_URL: '' }
        : { ELASTICSEARCH_URL: node.url, ELASTICSEARCH_INDEX: alias, OPENSEARCH_URL: '' };
    soc = await startSoc({
      dataDir: dir,
      timeoutMs: 120_000,
      env: { KAFKA_BROKERS: kafka.brokers.join(','), KAFKA_CLIENT_ID: 'soc-e2e', SOC_TOPIC_PARTITIONS: '2', ...storeEnv },
    });
  }, 420_000);

  afterAll(async () => {
    const code = await soc?.stop('SIGTERM');
    if (search) await dropIndexLayout(search.url, alias);
    await Promise.all(started.map((s) => s.stop()));
    if (dir) rmSync(dir, { recursive: true, force: true });
    expect(code).toBe(0);
  }, 180_000);

  it('runs on the production adapters and reports them healthy', async () => {
    expect(soc.ready.bus).toBe('kafka');
    expect(soc.ready.store).toBe(search.kind);
    const h = await api(soc.url, soc.analystToken, '/readyz');
    expect(h.status).toBe(200);
    expect(h.body.checks).toEqual({ bus: true, store: true });
  });

  it('turns pushed Suricata alerts into alerts served by the API, and dead-letters bad lines', async () => {
    const good = Array.from({ length: 20 }, (_, i) => eveAlert(i, { sid, severity: (i % 3) + 1 }));
    const marker = `not-json-${sid}`;
    const bad = [`${marker} at all`, `{"event_type":"alert","timestamp":"never-${sid}"`];
    const body = [...good.slice(0, 10), ...bad, ...good.slice(10)].join('\n');
    const r = await api(soc.url, soc.sensorToken, '/v1/events', { method: 'POST', body, headers: { 'content-type': 'application/x-ndjson' } });
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ accepted: 20, rejected: 2 });

    // The first consumer-group join on a fresh broker takes seconds; hence the long wait.
    const found = await waitFor(async () => {
      const s = await api(soc.url, soc.analystToken, `/v1/alerts?rule_id=${sid}&limit=100`);
      return s.body.total === 20 ? s.body : undefined;
    }, `20 alerts with rule ${sid} in ${search.kind}`, 120_000, 500);
    expect(new Set(found.alerts.map((a: { id: string }) => a.id)).size).toBe(20);
    const one = found.alerts[0];
    expect(one.rule).toMatchObject({ id: String(sid), name: 'ET SCAN Potential SSH Scan' });
    expect((await api(soc.url, soc.analystToken, `/v1/alerts/${one.id}`)).body.id).toBe(one.id);

    // Suricata severity 1 is high: every third alert.
    const high = await api(soc.url, soc.analystToken, `/v1/alerts?rule_id=${sid}&severity_min=high&limit=100`);
    expect(high.body.total).toBe(good.filter((_, i) => i % 3 === 0).length);

    const dl = await waitFor(async () => {
      const d = await api(soc.url, soc.analystToken, '/v1/deadletters?limit=1000');
      const raws: string[] = d.body.items?.map((x: { raw: string }) => x.raw) ?? [];
      return bad.every((b) => raws.includes(b)) ? d.body : undefined;
    }, 'both rejected lines on the dead-letter topic', 60_000, 500);
    expect(dl.items.length).toBeGreaterThanOrEqual(2);
  });

  it('upserts re-sent events by id and lets analysts triage', async () => {
    const indexed = async () => metricSum((await api(soc.url, soc.analystToken, '/metrics')).body, 'soc_alerts_indexed_total');
    const before = await indexed();
    const list = await api(soc.url, soc.analystToken, `/v1/alerts?rule_id=${sid}&limit=1`);
    const id = list.body.alerts[0].id;
    const p = await api(soc.url, soc.analystToken, `/v1/alerts/${id}`, { method: 'PATCH', body: JSON.stringify({ status: 'acknowledged' }) });
    expect(p.status).toBe(200);
    expect(p.body.status).toBe('acknowledged');

    const again = Array.from({ length: 20 }, (_, i) => eveAlert(i, { sid, severity: (i % 3) + 1 })).join('\n');
    expect((await api(soc.url, soc.sensorToken, '/v1/events', { method: 'POST', body: again })).status).toBe(202);
    // Once the indexer has written the re-sent alerts, they must have replaced the first ones.
    await waitFor(async () => (await indexed()) >= before + 20, `re-sent alerts written to ${search.kind}`, 120_000, 500);
    const after = await api(soc.url, soc.analystToken, `/v1/alerts?rule_id=${sid}&limit=100`);
    expect(after.body.total).toBe(20);
    // Triage survives a re-delivery of the same alert.
    expect(after.body.alerts.find((a: { id: string }) => a.id === id).status).toBe('acknowledged');
  });
});
