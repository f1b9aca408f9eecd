import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluate, parseEventQuery } from '@soc/query';
import { EcsEvent, TOPICS } from '@soc/schema';
import { apiRoutes } from './routes.ts';
import { EventHuntQuery, huntEvents } from './hunt.ts';
import { startTestApi, type TestApi } from './testing.ts';
import { Metrics } from '@soc/telemetry';

/**
 * Hunting over raw events on a real embedded bus: the newest records of the events topic,
 * filtered with the query language, bounded and saying what it covered.
 */

const TOKEN = 'soc_a_hunt-analyst-token-0123456789';
const T0 = Date.parse('2026-03-01T10:00:00Z');

/** Event i: a Zeek dns lookup every third, else a conn flow; one minute apart. */
function event(i: number): EcsEvent {
  const dns = i % 3 === 0;
  return EcsEvent.parse({
    '@timestamp': new Date(T0 + i * 60_000).toISOString(),
    event: { id: `ev-${i}`, kind: 'event', category: ['network'], type: dns ? ['protocol'] : ['connection'], dataset: dns ? 'zeek.dns' : 'zeek.conn' },
    source: { ip: `10.0.${i % 4}.${(i % 200) + 1}`, port: 40000 + i },
    destination: { ip: dns ? '10.0.0.53' : `198.51.100.${i % 7}`, port: dns ? 53 : 443 + (i % 2) * 3990 },
    network: { transport: dns ? 'udp' : 'tcp', ...(dns ? { protocol: 'dns' } : {}) },
    ...(dns ? { dns: { question: { name: i % 2 === 0 ? `x${i}.bad.example` : `www${i}.example.org` }, response_code: i % 2 === 0 ? 'NXDOMAIN' : 'NOERROR' } } : {}),
  });
}

const N = 120;
const events = Array.from({ length: N }, (_, i) => event(i));
const byTimeDesc = (xs: EcsEvent[]) => [...xs].sort((a, b) => Date.parse(b['@timestamp']) - Date.parse(a['@timestamp'])).map((e) => e.event.id);

describe('hunt over raw events (GET /v1/hunt/events)', () => {
  let api: TestApi;
  const get = async (query: Record<string, string>, token = TOKEN) => {
    const res = await fetch(`${api.url}/v1/hunt/events?${new URLSearchParams(query)}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    return { status: res.status, body: (await res.json()) as any };
  };

  beforeAll(async () => {
    api = await startTestApi('soc-hunt', [{ name: 'ana', role: 'analyst', token: TOKEN }], ({ store, bus }) => apiRoutes({ store, bus, metrics: new Metrics({ defaults: false }) }));
    await api.bus.ensureTopics([{ name: TOPICS.events, partitions: 3 }]);
    // Keyed by destination as the collector does, so the events spread over the partitions.
    await api.producer.send(TOPICS.events, events.map((e) => ({ key: e.destination!.ip!, value: JSON.stringify(e), timestamp: Date.parse(e['@timestamp']) })));
  });
  afterAll(async () => {
    await api?.close();
  });

  it('refuses a caller without a token', async () => {
    expect((await get({ q: '*' }, '')).status).toBe(401);
    expect((await get({ q: '*' }, 'soc_a_wrong-token-000000000000000')).status).toBe(401);
  });

  it('returns the newest matches first with every match counted, and what it scanned', async () => {
    const q = 'dns.question.name:*.bad.example AND source.ip:10.0.0.0/8';
    const want = events.filter((e) => evaluate(parseEventQuery(q), e, Date.now()));
    expect(want.length).toBeGreaterThan(10);
    const r = await get({ q, limit: '5', interval: '1h' });
    expect(r.status).toBe(200);
    expect(r.body.events.map((e: EcsEvent) => e.event.id)).toEqual(byTimeDesc(want).slice(0, 5));
    expect(r.body).toMatchObject({ matched: want.length, scanned: N, unreadable: 0, partial: false, oldest: new Date(T0).toISOString(), newest: new Date(T0 + (N - 1) * 60_000).toISOString() });
    expect(r.body.over_time.reduce((s: number, b: { count: number }) => s + b.count, 0)).toBe(want.length);
    expect(r.body.over_time.map((b: { key: string }) => b.key)).toEqual(['2026-03-01T10:00:00.000Z', '2026-03-01T11:00:00.000Z']);
  });

  it("opens an alert's related events by id, wherever they sit in the log", async () => {
    const r = await get({ ids: 'ev-3,ev-100,ev-55,ev-missing' });
    expect(r.status).toBe(200);
    expect(r.body.events.map((e: EcsEvent) => e.event.id)).toEqual(['ev-100', 'ev-55', 'ev-3']);
    expect(r.body.matched).toBe(3);
    expect(r.body.partial).toBe(false);
  });

  it('scans only the newest records when bounded, and says the answer is partial', async () => {
    const r = await get({ q: '*', scan: '30', limit: '1000' });
    expect(r.body.scanned).toBe(30);
    expect(r.body.partial).toBe(true);
    // 10 newest of each of the 3 partitions: all returned events are among the newest of their partition.
    expect(r.body.events).toHaveLength(30);
  });

  it('gives the same answer whatever the read size (chunks across partitions)', async () => {
    for (const q of ['event.dataset:zeek.conn destination.port:4433', 'NOT dns.response_code:NXDOMAIN', 'ip:198.51.100.3']) {
      const want = events.filter((e) => evaluate(parseEventQuery(q), e, Date.now()));
      const r = await huntEvents(api.bus, EventHuntQuery.parse({ q, limit: 1000 }), { chunk: 7 });
      expect(r.events.map((e) => (e as EcsEvent).event.id)).toEqual(byTimeDesc(want));
      expect([r.matched, r.scanned, r.partial]).toEqual([want.length, N, false]);
    }
  });

  it('answers a bad query, an alert-only field and an unknown parameter with 400 and the reason', async () => {
    const bad = await get({ q: 'dns.question.name:(a OR' });
    expect(bad.status).toBe(400);
    expect(bad.body.position).toBeGreaterThan(0);
    const alertField = await get({ q: 'severity:high' });
    expect(alertField.status).toBe(400);
    expect(alertField.body.reason).toMatch(/unknown field "severity"/);
    expect((await get({ q: '*', severity: 'high' })).status).toBe(400);
    expect((await get({ q: '*', scan: '0' })).status).toBe(400);
    expect((await get({ ids: '' })).status).toBe(400);
  });
});
