import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEmbeddedBus, type EmbeddedBus, type Producer } from '@soc/bus';
import { TokenVerifier, ensureCredentials } from '@soc/config';
import { createHttpHandler, listen } from '@soc/http';
import { Alert, TOPICS, alertId } from '@soc/schema';
import { openEmbeddedStore, type AlertStore } from '@soc/store';
import { createLogger, Metrics } from '@soc/telemetry';
import { validateStixBundle, type IndicatorEntry } from '@soc/federation';
import { stixRoutes } from './stix.ts';

const SELF = { id: 'soc-ee', country: 'EE', name: 'CERT-EE SOC' };
const FIXTURE = readFileSync(new URL('../../../packages/federation/src/fixtures/partner-intel.stix.json', import.meta.url), 'utf8');

const alert = (i: number, over: Partial<Alert> = {}): Alert =>
  Alert.parse({
    id: alertId('suricata', '2001219', `e${i}`),
    '@timestamp': new Date(Date.UTC(2026, 2, 1, 10, i)).toISOString(),
    first_seen: new Date(Date.UTC(2026, 2, 1, 10, i)).toISOString(),
    last_seen: new Date(Date.UTC(2026, 2, 1, 10, i)).toISOString(),
    detector: 'suricata',
    rule: { id: '2001219', name: 'ET SCAN Potential SSH Scan' },
    score: 0.6,
    severity: 'medium',
    message: 'scan',
    explanation: { summary: 'scan' },
    source: { ip: `203.0.113.${i + 1}`, port: 40000 },
    destination: { ip: '198.51.100.5', port: 22 },
    origin: { soc: SELF.id, country: SELF.country, name: SELF.name },
    tlp: 'GREEN',
    ...over,
  });

describe('GET/POST /v1/stix', () => {
  let dir: string;
  let store: AlertStore;
  let bus: EmbeddedBus;
  let producer: Producer;
  let url: string;
  let token: string;
  let close: () => Promise<void>;
  const learned: IndicatorEntry[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stix-api-'));
    const logger = createLogger('stix-test', { level: 'silent' });
    store = openEmbeddedStore({ path: join(dir, 'alerts.db'), logger });
    bus = openEmbeddedBus({ path: join(dir, 'bus.db'), logger });
    producer = await bus.producer();
    const creds = ensureCredentials(dir);
    token = creds.credentials.find((c) => c.role === 'analyst')!.token;
    const metrics = new Metrics({ defaults: false });
    const routes = stixRoutes({ store, producer, identity: SELF, onIndicators: (e) => learned.push(...e.indicators) });
    const server = await listen(createHttpHandler({ service: 'api', routes, verifier: new TokenVerifier(creds.credentials), logger, metrics }), '127.0.0.1', 0);
    url = server.url;
    close = server.close;
    await store.upsert([...Array.from({ length: 5 }, (_, i) => alert(i)), alert(9, { tlp: 'RED', source: { ip: '203.0.113.200' } })]);
  });
  afterAll(async () => {
    await close();
    await producer.close();
    await bus.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const call = (path: string, init: RequestInit = {}) => fetch(url + path, { ...init, headers: { authorization: `Bearer ${token}` } });

  it('exports the filtered alerts as a valid bundle, RED left out', async () => {
    const res = await call('/v1/stix?detector=suricata');
    expect(res.status).toBe(200);
    const bundle = (await res.json()) as { objects: { type: string }[] };
    expect(validateStixBundle(bundle, { requireResolvedRefs: true })).toEqual([]);
    const count = (t: string) => bundle.objects.filter((o) => o.type === t).length;
    expect([count('indicator'), count('sighting'), count('observed-data'), count('identity')]).toEqual([5, 5, 5, 1]);
    expect(JSON.stringify(bundle)).not.toContain('203.0.113.200');
  });

  it('walks pages up to max and says when it stopped early', async () => {
    const res = await call('/v1/stix?max=2&tlp=GREEN');
    expect(res.headers.get('x-soc-truncated')).toBe('true');
    const bundle = (await res.json()) as { objects: { type: string }[] };
    expect(bundle.objects.filter((o) => o.type === 'indicator')).toHaveLength(2);
    expect((await call('/v1/stix?severity_min=bogus')).status).toBe(400);
  });

  it('imports a MISP-style bundle: alerts onto the alert topic, indicators to the index', async () => {
    const res = await call('/v1/stix?source=misp-circl', { method: 'POST', body: FIXTURE });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { alerts: string[]; indicators: number; counts: Record<string, number>; objects: { outcome: string; reason?: string }[] };
    expect(body.alerts).toHaveLength(3);
    expect(learned.map((e) => e.ip)).toContain('203.0.113.77');
    expect(body.indicators).toBe(learned.length + 1);
    expect(body.counts.skipped).toBeGreaterThan(0);
    expect(body.objects.filter((o) => o.outcome === 'skipped').every((o) => o.reason)).toBe(true);
    const records = await bus.read(TOPICS.alerts, { partition: 0, limit: 100 }).then(async (p0) => [...p0, ...(await Promise.all([1, 2, 3].map((p) => bus.read(TOPICS.alerts, { partition: p, limit: 100 })))).flat()]);
    expect(records.map((r) => r.key).sort()).toEqual([...body.alerts].sort());
  });

  it('answers 400 with the validator issues for a broken bundle, and needs a source', async () => {
    const bad = JSON.stringify({ type: 'bundle', id: 'bundle--not-a-uuid', objects: [{ type: 'indicator', id: 'indicator--x' }] });
    const res = await call('/v1/stix?source=feed', { method: 'POST', body: bad });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { issues: { path: string; message: string }[] };
    expect(body.issues.map((i) => i.path)).toEqual(['id']);
    expect((await call('/v1/stix?source=feed', { method: 'POST', body: '{nope' })).status).toBe(400);
    expect((await call('/v1/stix', { method: 'POST', body: FIXTURE })).status).toBe(400);
  });
});
