import { FEATURE_COUNT, FlowFeatureExtractor, type Flow } from '@soc/features';
import type { EvidenceCalibration } from './evidence-calibrate.ts';
import { evidenceStatistic } from './evidence-calibrate.ts';
import { EvidenceTracker, type EvidenceOptions } from './evidence.ts';

export interface SignalsBenchResult {
  flows: number;
  /** Feature extraction alone versus every evidence signal + scoring, same flows, same run. */
  featuresFlowsPerSec: number;
  allSignalsFlowsPerSec: number;
  /** The same, per second of this process's CPU time (user + system). */
  allSignalsFlowsPerCpuSec: number;
  /** allSignals / features: the cost of the signals relative to feature extraction. */
  ratio: number;
  /** heapUsed growth after 1 million distinct (host, destination) pairs, caps in force. */
  distinctPairs: number;
  heapDeltaMB: number;
  trackedPairs: number;
}

/** A deterministic mix: 50 hosts, a long tail of destinations, a few beacons on an odd port. */
function syntheticFlow(i: number): Flow {
  const beacon = i % 10 === 0;
  return {
    ts: 1_700_000_000 + i * 0.01, srcIp: `10.0.${(i >> 4) & 3}.${i % 50}`, srcPort: 40000 + (i % 20000),
    dstIp: beacon ? '185.1.2.3' : `93.${(i * 7) & 255}.${(i * 13) & 255}.${i % 200}`, dstPort: beacon ? 4443 : 443,
    proto: 'tcp', service: 'ssl', connState: 'SF', duration: 0.5, srcBytes: 500 + (i % 300), dstBytes: 2000 + (i % 5000),
  };
}

function rate(n: number, fn: (i: number) => void): number {
  const t = performance.now();
  for (let i = 0; i < n; i++) fn(i);
  return n / ((performance.now() - t) / 1000);
}

/** Throughput and memory of the evidence signals with `calibration` scoring every outbound flow. */
export function benchSignals(calibration: EvidenceCalibration, flows = 200_000, distinctPairs = 1_000_000, caps: EvidenceOptions = {}): SignalsBenchResult {
  const input = Array.from({ length: flows }, (_, i) => syntheticFlow(i));
  const ex = new FlowFeatureExtractor();
  const out = new Float32Array(FEATURE_COUNT);
  globalThis.gc?.();
  const featuresFlowsPerSec = rate(flows, (i) => ex.push(input[i]!, out));
  const t0 = new EvidenceTracker({ ...caps, usage: calibration.usage });
  globalThis.gc?.();
  const cpu = process.cpuUsage();
  const allSignalsFlowsPerSec = rate(flows, (i) => {
    const x = t0.observe(input[i]!);
    if (x.kind === 'outbound') evidenceStatistic(calibration, x.pair.raw);
  });
  const used = process.cpuUsage(cpu);
  const allSignalsFlowsPerCpuSec = flows / ((used.user + used.system) / 1e6);
  globalThis.gc?.();
  const before = process.memoryUsage().heapUsed;
  const t = new EvidenceTracker({ ...caps, usage: calibration.usage });
  for (let i = 0; i < distinctPairs; i++) {
    const f = syntheticFlow(i);
    f.dstIp = `${20 + (i % 200)}.${(i >> 8) & 255}.${i & 255}.${(i >> 16) & 255}`;
    f.dstPort = 1 + (i % 60000);
    t.observe(f);
  }
  globalThis.gc?.();
  const heapDeltaMB = (process.memoryUsage().heapUsed - before) / 2 ** 20;
  return {
    flows, featuresFlowsPerSec, allSignalsFlowsPerSec, allSignalsFlowsPerCpuSec, ratio: allSignalsFlowsPerSec / featuresFlowsPerSec,
    distinctPairs, heapDeltaMB, trackedPairs: t.stats().pairs,
  };
}
