import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Alert } from '@soc/schema';
import { AlertQuery } from './port.ts';
import { openEmbeddedStore } from './embedded.ts';
import { buildAlerts } from './fixtures.ts';

export interface EmbeddedBenchResult {
  alerts: number;
  batchSize: number;
  /** Fresh inserts per second. */
  upsertPerSec: number;
  /** Re-upserts of existing ids (the merge path) per second. */
  reupsertPerSec: number;
  /** Process CPU (user + system) per fresh insert and per re-upsert: steadier than wall time on a shared disk. */
  upsertCpuUsPerAlert: number;
  reupsertCpuUsPerAlert: number;
  /** CPU per fresh insert in batches of `smallBatchSize`, as a trickle of alerts arrives: the per-transaction cost. */
  smallBatchSize: number;
  smallBatchCpuUsPerAlert: number;
  /** Search latency over a mix of filtered, free-text and paginated queries. */
  searchP50Ms: number;
  searchP95Ms: number;
  aggregateMs: number;
  /**
   * Fresh inserts as the store fills, with alerts as the pipeline writes them (in time order,
   * addresses and hosts from large populations): rate and CPU per alert over the first and the
   * last `fillStep` alerts of `fillTo`. Their ratio says whether ingest holds as the store grows.
   */
  fill: { to: number; step: number; firstPerSec: number; lastPerSec: number; firstCpuUsPerAlert: number; lastCpuUsPerAlert: number; lastToFirst: number };
}

/** Fixture alerts made to look like a pipeline's: time-ordered from `start`, many distinct addresses and hosts. */
function pipelineLikeAlerts(n: number, start: number, seed: number): Alert[] {
  const base = Date.parse('2026-11-01T00:00:00Z');
  const iso = (ms: number) => new Date(ms).toISOString();
  return buildAlerts(n, seed).map((a, j) => {
    const k = start + j;
    const ts = base + k * 5;
    const out: Alert = { ...a, '@timestamp': iso(ts), first_seen: iso(ts - 1000), last_seen: iso(ts + (k % 7) * 100) };
    if (a.source) out.source = { ...a.source, ip: `10.${20 + (k % 3)}.${(k * 7919) % 256}.${(k * 104729) % 256}` };
    if (a.destination) out.destination = { ...a.destination, ip: `${23 + ((k * 31) % 170)}.${(k * 13) % 250}.${(k * 17) % 250}.1` };
    if (a.host) out.host = { name: `ws-${(k * 2654435761) % 30000}` };
    return out;
  });
}

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;

/** Measures the embedded adapter on a real SQLite file in a temporary directory. */
export async function benchEmbeddedStore(opts: { alerts?: number; batchSize?: number; searches?: number; fillTo?: number; fillStep?: number } = {}): Promise<EmbeddedBenchResult> {
  const n = opts.alerts ?? 50_000;
  const batchSize = opts.batchSize ?? 500;
  const dir = mkdtempSync(join(tmpdir(), 'soc-store-bench-'));
  const store = openEmbeddedStore({ path: join(dir, 'alerts.db') });
  try {
    const alerts = buildAlerts(n, 2024);
    const cpuUs = (since: NodeJS.CpuUsage, count: number) => {
      const c = process.cpuUsage(since);
      return Number(((c.user + c.system) / count).toFixed(1));
    };
    const upsertAll = async (batch: readonly Alert[], size: number) => {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      for (let i = 0; i < batch.length; i += size) await store.upsert(batch.slice(i, i + size));
      return { perSec: batch.length / ((performance.now() - t0) / 1000), cpuUs: cpuUs(c0, batch.length) };
    };
    const fresh = await upsertAll(alerts, batchSize);
    const again = await upsertAll(alerts, batchSize);
    const smallBatchSize = 8;
    const small = await upsertAll(buildAlerts(Math.min(n, 4000), 2025), smallBatchSize);

    const queries: AlertQuery[] = [
      AlertQuery.parse({}),
      AlertQuery.parse({ severity_min: 'high', sort: 'score' }),
      AlertQuery.parse({ q: 'port scan*', detector: 'rules,sigma' }),
      AlertQuery.parse({ host: 'web-01', status: 'new', sort: 'last_seen', order: 'asc' }),
      AlertQuery.parse({ ip: '10.0.0.1', q: '"lateral movement"' }),
    ];
    const times: number[] = [];
    for (let i = 0; i < (opts.searches ?? 200); i++) {
      const query = queries[i % queries.length] as AlertQuery;
      const t0 = performance.now();
      const first = await store.search(query);
      if (first.next_cursor) await store.search({ ...query, cursor: first.next_cursor });
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    const t0 = performance.now();
    await store.aggregate(AlertQuery.parse({}), { interval: '1h', size: 10 });
    const aggregateMs = performance.now() - t0;
    const fill = await benchFill(opts.fillTo ?? 200_000, opts.fillStep ?? 25_000, 1000, cpuUs);
    return {
      fill,
      alerts: n,
      batchSize,
      upsertPerSec: Math.round(fresh.perSec),
      reupsertPerSec: Math.round(again.perSec),
      upsertCpuUsPerAlert: fresh.cpuUs,
      reupsertCpuUsPerAlert: again.cpuUs,
      smallBatchSize,
      smallBatchCpuUsPerAlert: small.cpuUs,
      searchP50Ms: percentile(times, 0.5),
      searchP95Ms: percentile(times, 0.95),
      aggregateMs,
    };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function benchFill(to: number, step: number, batchSize: number, cpuUs: (since: NodeJS.CpuUsage, count: number) => number): Promise<EmbeddedBenchResult['fill']> {
  const dir = mkdtempSync(join(tmpdir(), 'soc-store-fill-'));
  const store = openEmbeddedStore({ path: join(dir, 'alerts.db') });
  try {
    const steps: { perSec: number; cpuUs: number }[] = [];
    for (let at = 0; at < to; at += step) {
      const alerts = pipelineLikeAlerts(step, at, 3000 + at);
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      for (let i = 0; i < alerts.length; i += batchSize) await store.upsert(alerts.slice(i, i + batchSize));
      steps.push({ perSec: Math.round(step / ((performance.now() - t0) / 1000)), cpuUs: cpuUs(c0, step) });
      process.stderr.write(`store bench: filled ${at + step}/${to} alerts (${steps.at(-1)!.perSec}/s)\n`);
    }
    const first = steps[0]!;
    const last = steps.at(-1)!;
    return { to, step, firstPerSec: first.perSec, lastPerSec: last.perSec, firstCpuUsPerAlert: first.cpuUs, lastCpuUsPerAlert: last.cpuUs, lastToFirst: Number((last.perSec / first.perSec).toFixed(2)) };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
