import { cpus } from 'node:os';
import { benchEmbeddedBus } from '@soc/bus';
import { benchScoring } from '@soc/model';
import { benchParsers } from '@soc/parsers';
import { benchSignals } from '@soc/signals';
import { benchEmbeddedStore } from '@soc/store';
import { SHIPPED_MODEL } from '@soc/cli/runtime';
import { benchEvidenceDetector } from '@soc/svc-detector';
import { loadReference } from '@soc/models/evidence';
import { benchPipeline } from './pipeline.ts';
import { benchStages } from './stages.ts';
import { benchReal } from './real.ts';
import { benchConsole } from './console.ts';
import { sqliteInsertBaseline } from './sqlite-baseline.ts';
import { benchSyslogUdp } from './syslog-udp.ts';

/**
 * `pnpm bench [name...]`: one JSON document. Every figure comes with a baseline measured in the
 * same run, because the machine is shared and noisy: compare ratios, not absolute numbers.
 */
// BENCH_EVENTS shortens a run while developing; BENCH_RATE paces the latency run.
const eventsOr = (n: number) => Number(process.env.BENCH_EVENTS ?? n);

const BENCHES: Record<string, () => Promise<unknown>> = {
  // Issue 11's loads.
  pipeline: () => benchPipeline({ events: eventsOr(200_000) }),
  'pipeline-alerts': () => benchPipeline({ events: eventsOr(100_000), alertShare: 1 }),
  'pipeline-latency': () => benchPipeline({ events: eventsOr(100_000), rate: Number(process.env.BENCH_RATE ?? 10_000) }),
  // One process per service: what to size a cluster from.
  stages: () => benchStages({ events: eventsOr(100_000) }),
  parsers: async () => benchParsers(),
  bus: async () => {
    const r = await benchEmbeddedBus({ records: eventsOr(200_000), valueBytes: 1500, batchSize: 1000 });
    const floor = sqliteInsertBaseline({ rows: r.records, valueBytes: r.valueBytes, batchSize: r.batchSize });
    return { ...r, sqliteInsertPerSec: Math.round(floor), appendRatioToSqlite: Number((r.appendPerSec / floor).toFixed(3)) };
  },
  store: async () => {
    const r = await benchEmbeddedStore();
    // An alert document is about a kilobyte of JSON.
    const floor = sqliteInsertBaseline({ rows: r.alerts, valueBytes: 1000, batchSize: r.batchSize });
    return { ...r, sqliteInsertPerSec: Math.round(floor), upsertRatioToSqlite: Number((r.upsertPerSec / floor).toFixed(3)) };
  },
  // The default evidence detector, and the NSL-KDD ONNX scorer kept for eval-kdd and detector.modelPath.
  detector: async () => ({ evidence: await benchEvidenceDetector(loadReference()), kdd: await benchScoring(SHIPPED_MODEL) }),
  // Heap figures need `node --expose-gc` (the bench script passes it).
  signals: async () => benchSignals(loadReference()),
  'syslog-udp': () => benchSyslogUdp(),
  // With 100,000 alerts: server time of the console's first page and filtered queries.
  console: () => benchConsole(),
  // Starts Kafka and OpenSearch (Java); only when named. SOC_BENCH_EVENTS bounds it (default 20000).
  real: () => benchReal({ events: Number(process.env.SOC_BENCH_EVENTS ?? 20_000) }),
};
const OPT_IN = new Set(['real']);

const only = process.argv.slice(2);
const unknown = only.filter((n) => !(n in BENCHES));
if (unknown.length) {
  process.stderr.write(`unknown benchmark(s): ${unknown.join(', ')}; choose from ${Object.keys(BENCHES).join(', ')}\n`);
  process.exit(2);
}
const results: Record<string, unknown> = { node: process.version, cpus: cpus().length, started: new Date().toISOString() };
for (const [name, run] of Object.entries(BENCHES)) {
  if (only.length ? !only.includes(name) : OPT_IN.has(name)) continue;
  results[name] = await run();
}
process.stdout.write(JSON.stringify(results, null, 2) + '\n');
