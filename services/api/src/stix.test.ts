import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmbeddedBus } from '@soc/bus';
import { ensureCredentials } from '@soc/config';
import { TOPICS, type Alert } from '@soc/schema';
import { validateStixBundle, type IndicatorEntry } from '@soc/federation';
import { stixRoutes } from './stix.ts';
import { SELF, scanAlert, startTestApi, type TestApi } from './testing.ts';

const FIXTURE = readFileSync(new URL('../../../packages/federation/src/fixtures/partner-intel.stix.json', import.meta.url), 'utf8');

const alert = (i: number, over: Partial<Alert> = {}): Alert => scanAlert(i, over);

describe('GET/POST /v1/stix', () => {
  let api: TestApi;
  let credsDir: string;
  let bus: EmbeddedBus;
  let url: string;
  let token: string;
  const learned: IndicatorEntry[] = [];

  beforeAll(async () => {
    credsDir = mkdtempSync(join(tmpdir(), 'stix-creds-'));
    const creds = ensureCredentials(credsDir);
    token = creds.credentials.find((c) => c.role === 'analyst')!.token;
    api = await startTestApi('stix-api', creds.credentials, (o) => stixRoutes({ ...o, identity: SELF, onIndicators: (e) => learned.push(...e.indicators) }));
    ({ bus, url } = api);
    await api.store.upsert([...Array.from({ length: 5 }, (_, i) => alert(i)), alert(9, { tlp: 'RED', source: { ip: '203.0.113.200' } })]);
  });
  afterAll(async () => {
    await api.close();
    rmSync(credsDir, { recursive: true, force: true });
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
