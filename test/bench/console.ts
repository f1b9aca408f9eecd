import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openEmbeddedBus } from '@soc/bus';
import { TokenVerifier } from '@soc/config';
import { createHttpHandler, listen } from '@soc/http';
import { buildAlerts, openEmbeddedStore } from '@soc/store';
import { apiRoutes } from '@soc/svc-api';
import { createLogger, Metrics } from '@soc/telemetry';

/**
 * The console's queries with 100,000 alerts in the embedded store: server time (request in to
 * response finished, measured inside the server) of the first page and of filtered queries in
 * the query language, against a raw SQLite "newest 50 documents" read of the same file.
 */

const TOKEN = 'soc_a_bench-token-0123456789abcdef';
const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))] ?? NaN;
const round = (x: number) => Number(x.toFixed(2));

export async function benchConsole(opts: { alerts?: number; runs?: number } = {}) {
  const n = opts.alerts ?? 100_000;
  const runs = opts.runs ?? 20;
  const dir = mkdtempSync(join(tmpdir(), 'soc-console-bench-'));
  const store = openEmbeddedStore({ path: join(dir, 'alerts.db') });
  const bus = openEmbeddedBus({ path: join(dir, 'bus.db'), defaultPartitions: 1 });
  const logger = createLogger('bench', { level: 'silent' });
  const metrics = new Metrics();
  let server: Awaited<ReturnType<typeof listen>> | undefined;
  try {
    const alerts = buildAlerts(n, 4242);
    for (let i = 0; i < n; i += 1000) {
      await store.upsert(alerts.slice(i, i + 1000));
      if (i % 20_000 === 0) process.stderr.write(`console bench: ${i}/${n} alerts stored\n`);
    }
    const handler = createHttpHandler({ service: 'api', routes: apiRoutes({ store, bus, metrics }), verifier: new TokenVerifier([{ name: 'bench', role: 'analyst', token: TOKEN }]), logger, metrics, rateLimitPerSecond: 100_000 });
    let times: number[] = [];
    server = await listen((req, res) => {
      const t0 = performance.now();
      res.on('finish', () => times.push(performance.now() - t0));
      handler(req, res);
    }, '127.0.0.1', 0);
    const url = server.url;
    const measure = async (path: string, n = runs) => {
      times = [];
      let total = 0;
      for (let i = 0; i < n + 2; i++) {
        const r = await fetch(url + path, { headers: { authorization: `Bearer ${TOKEN}` } });
        if (r.status !== 200) throw new Error(`${path}: HTTP ${r.status} ${await r.text()}`);
        total = ((await r.json()) as { total: number }).total;
      }
      const warm = times.slice(2); // the first requests warm statement caches
      return { path: decodeURIComponent(path), matches: total, p50Ms: round(percentile(warm, 0.5)), p95Ms: round(percentile(warm, 0.95)) };
    };
    const q = (s: string) => `/v1/alerts?q=${encodeURIComponent(s)}`;
    const cases = {
      firstPage: await measure('/v1/alerts'),
      filtered: await measure(q('severity >= high AND source.ip:10.0.0.0/8 AND NOT status:resolved')),
      freeText: await measure(q('(brute OR beacon*) -ssh host.name:web-*')),
      relativeTime: await measure(q('@timestamp > 2024-03-02 AND score >= 0.75')),
      // Eight group-bys and a histogram per request: a few runs are enough.
      aggregations: await measure('/v1/alerts/aggregations?q=' + encodeURIComponent('severity >= medium'), 3),
    };
    // Baseline: the cheapest possible first page straight from the same file.
    const db = new Database(join(dir, 'alerts.db'), { readonly: true });
    const stmt = db.prepare('SELECT doc FROM alerts ORDER BY ts_ms DESC, id DESC LIMIT 51');
    const base: number[] = [];
    for (let i = 0; i < runs + 2; i++) {
      const t0 = performance.now();
      stmt.all().forEach((r) => JSON.parse((r as { doc: string }).doc));
      base.push(performance.now() - t0);
    }
    db.close();
    const baseP50 = percentile(base.slice(2), 0.5);
    return {
      alerts: n,
      runs,
      rawSqliteFirstPageP50Ms: round(baseP50),
      targetMs: 200,
      cases: Object.fromEntries(Object.entries(cases).map(([k, c]) => [k, { ...c, ratioToRawP50: round(c.p50Ms / baseP50), underTarget: c.p95Ms < 200 }])),
    };
  } finally {
    await server?.close();
    await store.close();
    await bus.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
