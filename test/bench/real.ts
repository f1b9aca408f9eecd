import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@soc/config';
import { TOPICS } from '@soc/schema';
import { createLogger } from '@soc/telemetry';
import { startServices, type ServiceName } from '@soc/cli/runtime';
import { startDevEngines } from '../real/engines.ts';
import { sensorMix } from './pipeline.ts';

/**
 * `pnpm bench real`: per-process throughput of the collector, the detector and the indexer, each
 * run alone (as one scale-out process is) on a real Kafka broker and a real OpenSearch node,
 * next to the same three stages on the embedded defaults (SQLite log, SQLite + FTS5), same
 * events, same run. The engines are started from the Maven Central jars (deploy/dev) and
 * stopped at the end; `--events N` bounds the run.
 *
 * Stages, each timed from its process starting (in this process: `startServices` with that one
 * service) to its work being done; `startup_s` says how much of that was start-up:
 *  - collector: HTTP ingest until every batch is acknowledged (202 = durable on the bus);
 *  - detector: a fresh group consumes the events topic until its lag is 0;
 *  - indexer: a fresh group consumes the alerts topic until its lag is 0 (alerts in the store).
 */

type Backend = 'embedded' | 'kafka+opensearch';


async function stages(backend: Backend, env: Record<string, string>, lines: string[], batch: number) {
  const dir = mkdtempSync(join(tmpdir(), 'soc-bench-real-'));
  const cfg = loadConfig({
    env,
    overrides: { dataDir: dir, api: { port: 0, rateLimitPerSecond: 100_000 }, collector: { port: 0, rateLimit: { eventsPerSecond: 10_000_000, burst: 10_000_000 } } },
  });
  const logger = createLogger('bench', { level: 'warn' });
  // Timed from the process starting: a consumer may finish its work during start-up already.
  const timed = async <T>(services: ServiceName[], work: (r: Awaited<ReturnType<typeof startServices>>) => Promise<T>) => {
    const t0 = process.hrtime.bigint();
    const running = await startServices(cfg, services, logger);
    const startup = Number(process.hrtime.bigint() - t0) / 1e9;
    try {
      const out = await work(running);
      return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, startup, out };
    } finally {
      await running.stop();
    }
  };
  const drained = async (r: Awaited<ReturnType<typeof startServices>>, group: string, topic: string) => {
    // Done when the group has committed the end of every partition (a group with no commit yet is not done).
    for (;;) {
      if ((await r.bus.lag(group, topic)).every((p) => p.end === 0 || p.committed >= p.end)) return;
      await new Promise((res) => setTimeout(res, 50));
    }
  };
  try {
    const collector = await timed(['collector'], async (r) => {
      const token = (JSON.parse(readFileSync(r.credentialsPath, 'utf8')) as { credentials: { role: string; token: string }[] }).credentials.find((c) => c.role === 'sensor')!.token;
      let accepted = 0;
      let next = 0;
      const bodies: string[] = [];
      for (let i = 0; i < lines.length; i += batch) bodies.push(lines.slice(i, i + batch).join('\n'));
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          while (next < bodies.length) {
            const res = await fetch(`${r.urls.collector}/v1/events?format=suricata`, { method: 'POST', body: bodies[next++], headers: { authorization: `Bearer ${token}` } });
            if (res.status !== 202) throw new Error(`${backend} collector answered ${res.status}`);
            accepted += ((await res.json()) as { accepted: number }).accepted;
          }
        }),
      );
      return accepted;
    });
    const detector = await timed(['detector'], (r) => drained(r, 'soc-detector', TOPICS.events));
    const alerts = await timed(['indexer'], async (r) => {
      await drained(r, 'soc-indexer', TOPICS.alerts);
      return (await r.bus.lag('nobody', TOPICS.alerts)).reduce((s, p) => s + p.end, 0);
    });
    const rate = (n: number, s: number) => Math.round(n / s);
    return {
      collector_events_per_s: rate(collector.out, collector.seconds),
      detector_events_per_s: rate(lines.length, detector.seconds),
      indexer_alerts_per_s: rate(alerts.out, alerts.seconds),
      alerts: alerts.out,
      seconds: { collector: round(collector.seconds), detector: round(detector.seconds), indexer: round(alerts.seconds) },
      startup_s: { collector: round(collector.startup), detector: round(detector.startup), indexer: round(alerts.startup) },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const round = (x: number) => Number(x.toFixed(2));

export async function benchReal(opts: { events?: number; batch?: number } = {}) {
  const events = opts.events ?? 20_000;
  const batch = opts.batch ?? 1000;
  // Every other event a signature alert, so the indexer stage has work worth timing.
  const lines = sensorMix(events).map((l, i) => (i % 2 === 0 ? l.replace('"event_type":"flow"', '"event_type":"alert"').replace('"app_proto":"tls"', '"alert":{"action":"allowed","gid":1,"signature_id":2019999,"rev":1,"signature":"ET bench","category":"bench","severity":2},"app_proto":"tls"') : l));
  const embedded = await stages('embedded', {}, lines, batch);
  const engines = await startDevEngines();
  try {
    const real = await stages('kafka+opensearch', { KAFKA_BROKERS: engines.env.KAFKA_BROKERS!, OPENSEARCH_URL: engines.env.OPENSEARCH_URL!, SOC_TOPIC_PARTITIONS: '2' }, lines, batch);
    const ratio = (a: number, b: number) => Number((a / b).toFixed(3));
    return {
      events,
      batch,
      engines_start_seconds: engines.startSeconds,
      embedded,
      kafka_opensearch: real,
      ratio_real_to_embedded: {
        collector: ratio(real.collector_events_per_s, embedded.collector_events_per_s),
        detector: ratio(real.detector_events_per_s, embedded.detector_events_per_s),
        indexer: ratio(real.indexer_alerts_per_s, embedded.indexer_alerts_per_s),
      },
    };
  } finally {
    await engines.stop();
  }
}
