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
 * Each stage alone on one thread, on the realistic mix, with the real adapters (embedded bus,
 * SQLite store, ONNX model): what one collector, detector or indexer process sustains. The
 * collector's figure is parse + validate + durable append of 1,000-line requests (no HTTP).
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
    const ingest = new BusIngest(producer, metrics, logger);
    let t0 = performance.now();
    for (let i = 0; i < n; i += 1000) await ingest.submit(splitBody(lines.slice(i, i + 1000).join('\n'), 1 << 20), { source: 'http:bench', format: 'auto' });
    const collectorS = (performance.now() - t0) / 1000;

    t0 = performance.now();
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
      collector_events_per_s: perS(n, collectorS),
      detector_events_per_s: perS(n, detectorS),
      indexer_alerts_per_s: perS(alerts, indexerS),
      indexer_events_per_s: perS(n, indexerS),
      json_parse_stringify_events_per_s: Math.round(baseline),
      ratios_to_json_baseline: { collector: Number((n / collectorS / baseline).toFixed(3)), detector: Number((n / detectorS / baseline).toFixed(3)), indexer: Number((n / indexerS / baseline).toFixed(3)) },
    };
  } finally {
    await store.close();
    await bus.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
