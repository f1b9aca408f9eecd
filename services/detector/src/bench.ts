import { flowFromEvent } from '@soc/features';
import type { EcsEvent } from '@soc/schema';
import { EvidenceTracker, type EvidenceCalibration } from '@soc/signals';
import { evidenceAnalyzer } from './evidence.ts';

export interface DetectorBenchResult {
  flows: number;
  batch: number;
  /** The evidence analyzer (every signal, scoring, alerts) on ECS flow events, batches as the consumer sends them. */
  analyzerFlowsPerSec: number;
  /** Per second of this process's CPU time (user + system): what a loaded, shared machine distorts least. */
  analyzerFlowsPerCpuSec: number;
  /** Baseline, same events, same run: only turning each event into a flow. */
  flowFromEventPerSec: number;
  ratio: number;
  alerts: number;
}

/** Synthetic ECS conn events: 200 hosts, a long tail of HTTPS sites, a beacon every tenth flow. */
function events(n: number): EcsEvent[] {
  return Array.from({ length: n }, (_, i) => {
    const beacon = i % 10 === 0;
    return {
      '@timestamp': new Date((1_700_000_000 + i * 0.05) * 1000).toISOString(),
      event: { id: `e${i}`, kind: 'event', category: ['network'], type: ['connection'], dataset: 'zeek.conn', duration: 5e8 },
      source: { ip: `10.0.${(i >> 8) & 3}.${i % 200}`, port: 40000 + (i % 20000), bytes: 500 + (i % 300) },
      destination: { ip: beacon ? `185.1.2.${i % 7}` : `93.${(i * 7) & 255}.${(i * 13) & 255}.${i % 200}`, port: beacon ? 4443 : 443, bytes: 2000 + (i % 5000) },
      network: { transport: 'tcp', protocol: 'ssl' },
      zeek: { connection: { state: 'SF' } },
    } as EcsEvent;
  });
}

/** `pnpm bench detector`: the default detector's throughput against the cost of reading the events. */
export async function benchEvidenceDetector(calibration: EvidenceCalibration, flows = 200_000, batch = 2000): Promise<DetectorBenchResult> {
  const input = events(flows);
  // The input is built before the clock starts; collect it now so neither loop pays its promotion.
  globalThis.gc?.();
  let t = performance.now();
  for (const e of input) flowFromEvent(e);
  const flowFromEventPerSec = flows / ((performance.now() - t) / 1000);
  const m = { version: 'bench', calibration };
  const a = evidenceAnalyzer({ current: () => m, tracker: new EvidenceTracker({ usage: calibration.usage }), origin: { soc: 'bench' }, tlp: 'AMBER' });
  let alerts = 0;
  globalThis.gc?.();
  t = performance.now();
  const cpu = process.cpuUsage();
  for (let i = 0; i < flows; i += batch) alerts += (await a.analyze(input.slice(i, i + batch))).length;
  const analyzerFlowsPerSec = flows / ((performance.now() - t) / 1000);
  const used = process.cpuUsage(cpu);
  const analyzerFlowsPerCpuSec = flows / ((used.user + used.system) / 1e6);
  return { flows, batch, analyzerFlowsPerSec, analyzerFlowsPerCpuSec, flowFromEventPerSec, ratio: analyzerFlowsPerSec / flowFromEventPerSec, alerts };
}
