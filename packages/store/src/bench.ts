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
}

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;

/** Measures the embedded adapter on a real SQLite file in a temporary directory. */
export async function benchEmbeddedStore(opts: { alerts?: number; batchSize?: number; searches?: number } = {}): Promise<EmbeddedBenchResult> {
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
    return {
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
