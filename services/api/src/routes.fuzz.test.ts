import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEmbeddedBus, type EmbeddedBus } from '@soc/bus';
import { TokenVerifier } from '@soc/config';
import { createHttpHandler, listen, opsRoutes } from '@soc/http';
import { TOPICS } from '@soc/schema';
import { AggregationRequest, AlertQuery, openEmbeddedStore, type AlertStore } from '@soc/store';
import { Metrics, createLogger } from '@soc/telemetry';
import { apiRoutes } from './routes.ts';

/**
 * Any method, path, path parameter (percent-encoded, malformed or not), query string and token
 * against the real analysts' API on a real SQLite store: never a 500, the process keeps serving,
 * and an unknown query parameter is a 400 that names it.
 */

const analyst = 'soc_a_' + 'q'.repeat(40);
const sensor = 'soc_s_' + 'q'.repeat(40);
let dir: string;
let bus: EmbeddedBus;
let store: AlertStore;
let server: Awaited<ReturnType<typeof listen>>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'soc-api-fuzz-'));
  const logger = createLogger('fuzz', { level: 'silent' });
  bus = openEmbeddedBus({ path: join(dir, 'bus.db'), logger, defaultPartitions: 1 });
  await bus.ensureTopics([{ name: TOPICS.deadLetter, partitions: 1 }]);
  store = openEmbeddedStore({ path: join(dir, 'alerts.db'), logger });
  const metrics = new Metrics({ defaults: false });
  const routes = [...apiRoutes({ store, bus, metrics, models: async () => [] }), ...opsRoutes(metrics, async () => ({ bus: true, store: await store.ping() }))];
  const verifier = new TokenVerifier([{ name: 'a', role: 'analyst', token: analyst }, { name: 's', role: 'sensor', token: sensor }]);
  server = await listen(createHttpHandler({ service: 'api', routes, verifier, logger, metrics, rateLimitPerSecond: 1e9 }), '127.0.0.1', 0);
});
afterAll(async () => {
  await server?.close();
  await store?.close();
  await bus?.close();
  rmSync(dir, { recursive: true, force: true });
});

const hex = (b: number) => `%${b.toString(16).padStart(2, '0').toUpperCase()}`;
/** A path segment as a client could put it on the wire: safe characters, escapes, broken escapes. */
const segment = fc
  .array(
    fc.oneof(
      fc.constantFrom('a', 'Z', '0', '-', '_', '.', '~', '!', '$', '(', ':', '@'),
      fc.integer({ min: 0, max: 255 }).map(hex),
      fc.constantFrom('%', '%E0%A4%A', '%ZZ', '%C0%AF', '%ED%A0%80', '%F4%90%80%80', '%2F', '%00', '%25', '..', '%2e%2e'),
    ),
    { minLength: 1, maxLength: 12 },
  )
  .map((parts) => parts.join(''));
const KNOWN_PARAMS = [...Object.keys(AlertQuery.shape), ...Object.keys(AggregationRequest.shape), 'partition', 'from_offset'];
const param = fc.oneof(fc.constantFrom(...KNOWN_PARAMS), fc.string({ maxLength: 12 }));
const queryString = fc
  .array(fc.tuple(param, fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('critical', 'high', '-1', '1e309', '2026-01-01T00:00:00Z', '10.0.0.1', 'zzz', ''))), { maxLength: 4 })
  .map((kv) => (kv.length ? '?' + kv.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&') : ''));
const path = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('/v1/alerts', '/v1/alerts/aggregations', '/v1/deadletters', '/v1/models', '/healthz', '/readyz', '/metrics', '/', '/v1') },
  { weight: 4, arbitrary: segment.map((s) => `/v1/alerts/${s}`) },
  { weight: 1, arbitrary: fc.array(segment, { maxLength: 4 }).map((ss) => '/' + ss.join('/')) },
);
const method = fc.constantFrom('GET', 'GET', 'GET', 'GET', 'PATCH', 'PATCH', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS');
const tokenOf = fc.constantFrom(analyst, analyst, analyst, analyst, analyst, sensor, undefined, 'garbage');

describe('fuzz: API paths, path parameters and query strings', () => {
  it('never 500s, and keeps serving', async () => {
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(method, path, queryString, tokenOf, fc.option(fc.string({ maxLength: 200 })), async (m, p, q, t, body) => {
        const headers: Record<string, string> = t ? { authorization: `Bearer ${t}` } : {};
        const withBody = body !== null && m !== 'GET' && m !== 'HEAD';
        const res = await fetch(`${server.url}${p}${q}`, { method: m, headers: withBody ? { ...headers, 'content-type': 'application/json' } : headers, body: withBody ? body : undefined });
        const text = await res.text();
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        expect([200, 204, 400, 401, 403, 404, 405, 413, 415], `${m} ${p}${q}: ${text.slice(0, 200)}`).toContain(res.status);
        expect(text).not.toMatch(/\bat .*\.ts:\d+|node:internal/);
      }),
      // Only about 6% of generated requests are valid enough for a 200: with fast-check's default
      // 100 runs a CI run (2026-12-02) saw none and failed the coverage check below; 500 runs make
      // that vanishingly rare, for under a second more.
      { numRuns: 500 },
    );
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect(statuses.get(200)).toBeGreaterThan(0);
    expect(statuses.get(400)).toBeGreaterThan(0);
    process.stderr.write(`API statuses: ${JSON.stringify(Object.fromEntries(statuses))}\n`);
  });

  it('answers an unknown query parameter with a 400 naming it and the valid ones', async () => {
    const allowed = new Set(Object.keys(AlertQuery.shape));
    await fc.assert(
      fc.asyncProperty(fc.string({ minLength: 1, maxLength: 20 }).filter((k) => !allowed.has(k)), fc.string({ maxLength: 10 }), async (k, v) => {
        const res = await fetch(`${server.url}/v1/alerts?${encodeURIComponent(k)}=${encodeURIComponent(v)}`, { headers: { authorization: `Bearer ${analyst}` } });
        expect(res.status).toBe(400);
        const { error } = (await res.json()) as { error: string };
        expect(error).toContain(`unknown query parameter ${JSON.stringify(k.slice(0, 64))}`);
        expect(error).toContain('severity_min');
      }),
    );
  });

  it('answers the typo of the report: ?severity=critical', async () => {
    const res = await fetch(`${server.url}/v1/alerts?severity=critical`, { headers: { authorization: `Bearer ${analyst}` } });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(/^unknown query parameter "severity" \(valid: .*severity_min/);
  });
});
