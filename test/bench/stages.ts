import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEmbeddedBus } from '@soc/bus';
import { loadConfig } from '@soc/config';
import { TOPICS } from '@soc/schema';
import { openEmbeddedStore } from '@soc/store';
import { Metrics, createLogger } from '@soc/telemetry';
import { BusIngest, splitBody } from '@soc/svc-collector';
import { startStage } from '@soc/cli/stages';
import { ParsePool } from '@soc/cli/parse-pool';
import { topicSpecs } from '@soc/cli/backends';
import { jsonBaseline, realisticMix } from './pipeline.ts';

/** Waits until a consumer group has nothing left on a topic; seconds since `t0`. */
async function drained(bus: ReturnType<typeof openEmbeddedBus>, group: string, topic: string, t0: number): Promise<number> {
  for (;;) {
    if ((await bus.lag(group, topic)).every((p) => p.lag === 0)) return (performance.now() - t0) / 1000;
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * Each stage alone, on the realistic mix, with the real adapters (embedded bus, SQLite store,
 * the default detector): what one collector, detector or indexer process sustains. The
 * collector's figure is parse + validate + durable append of 1,000-line requests (no HTTP),
 * half of them parsed in its own thread, half in its default parser thread.
 */
export async function benchStages(opts: { events?: number } = {}) {
  const n = opts.events ?? 100_000;
  const lines = realisticMix(n);
  const dir = mkdtempSync(join(tmpdir(), 'soc-stages-'));
  const cfg = loadConfig({ env: {}, overrides: { dataDir: dir } });
  const logger = createLogger('bench', { level: 'warn' });
  const metrics = new Metrics({ defaults: false });
  const bus = openEmbeddedBus({ path: join(dir, 'bus.db'), logger });
  const store = openEmbeddedStore({ path: join(dir, 'alerts.db') });
  try {
    await bus.ensureTopics(topicSpecs(cfg));
    const baselineBefore = jsonBaseline(lines);
    const producer = await bus.producer();
    // 1,000-line requests from 4 senders at once, as HTTP ingest gets them: parsed in this thread
    // (collector.parseThreads 0), then in the default parser thread beside it (parseThreads 1).
    const collect = async (ingest: BusIngest, from: number, to: number) => {
      let next = from;
      const t = performance.now();
      await Promise.all(Array.from({ length: 4 }, async () => {
        while (next < to) {
          const i = (next += 1000) - 1000;
          await ingest.submit(splitBody(lines.slice(i, Math.min(i + 1000, to)).join('\n'), 1 << 20), { source: 'http:bench', format: 'auto' });
        }
      }));
      return (performance.now() - t) / 1000;
    };
    const half = Math.floor(n / 2000) * 1000;
    const inThreadS = await collect(new BusIngest(producer, metrics, logger), 0, half);
    const pool = await ParsePool.start(cfg.collector.parseThreads, { internalCidrs: cfg.detector.internalCidrs, preserveOriginal: cfg.collector.preserveOriginal }, logger);
    const pooledS = await collect(new BusIngest(producer, metrics, logger, {}, pool.parse), half, n).finally(() => pool.close());
    let t0 = performance.now();
    const detector = await startStage('detector', cfg, { bus, metrics, logger });
    const detectorS = await drained(bus, 'soc-detector', TOPICS.events, t0);
    await detector.stop();
    const alerts = (await bus.lag('soc-indexer', TOPICS.alerts)).reduce((s, p) => s + p.lag, 0);

    t0 = performance.now();
    const indexer = await startStage('indexer', cfg, { bus, store, metrics, logger });
    const indexerS = await drained(bus, 'soc-indexer', TOPICS.alerts, t0);
    await indexer.stop();
    const baseline = (baselineBefore + jsonBaseline(lines)) / 2;
    const perS = (x: number, s: number) => Math.round(x / s);
    return {
      events: n,
      alerts_from_detector: alerts,
      collector_events_per_s: perS(n - half, pooledS),
      collector_parse_threads: cfg.collector.parseThreads,
      collector_in_thread_events_per_s: perS(half, inThreadS),
      detector_events_per_s: perS(n, detectorS),
      indexer_alerts_per_s: perS(alerts, indexerS),
      indexer_events_per_s: perS(n, indexerS),
      json_parse_stringify_events_per_s: Math.round(baseline),
      ratios_to_json_baseline: { collector: Number(((n - half) / pooledS / baseline).toFixed(3)), collector_in_thread: Number((half / inThreadS / baseline).toFixed(3)), detector: Number((n / detectorS / baseline).toFixed(3)), indexer: Number((n / indexerS / baseline).toFixed(3)) },
    };
  } finally {
    await store.close();
    await bus.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
