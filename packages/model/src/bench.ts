import * as ort from 'onnxruntime-node';
import { FEATURE_COUNT, FlowFeatureExtractor, type FeatureVector, type Flow } from '@soc/features';
import { BatchScorer } from './batch.ts';
import { loadModel } from './model.ts';
import { rng } from './random.ts';

export interface BenchResult {
  flows: number;
  maxBatch: number;
  /** Feature extraction + BatchScorer (with explanations), end to end. */
  pipelineFlowsPerSec: number;
  /** InferenceSession.run alone on the same vectors in batches of maxBatch. */
  rawInferenceFlowsPerSec: number;
  /** raw / pipeline: how much the pipeline costs over bare inference. */
  overhead: number;
}

const STATES: Flow['connState'][] = ['SF', 'SF', 'SF', 'SF', 'S0', 'REJ', 'RSTO', 'S1', 'SH', 'OTH'];
const SERVICES = ['http', 'ssl', 'dns', 'ssh', '', 'smtp'];

/** Seeded synthetic traffic: a few hundred hosts, common services, a mix of connection states. */
export function syntheticFlows(n: number, seed = 1): Flow[] {
  const random = rng(seed);
  const pick = <T>(xs: T[]) => xs[Math.floor(random() * xs.length)]!;
  return Array.from({ length: n }, (_, i) => ({
    ts: 1_700_000_000 + i / 5000,
    srcIp: `10.0.${Math.floor(random() * 4)}.${Math.floor(random() * 250)}`,
    srcPort: 1024 + Math.floor(random() * 60000),
    dstIp: `192.0.2.${Math.floor(random() * 200)}`,
    dstPort: pick([80, 443, 53, 22, 25, 8080, 3389]),
    proto: random() < 0.8 ? 'tcp' : 'udp',
    service: pick(SERVICES),
    connState: pick(STATES),
    duration: random() * 5,
    srcBytes: Math.floor(random() * 5000),
    dstBytes: Math.floor(random() * 50000),
  }));
}

/** Measures flows/s through extraction + BatchScorer and bare ONNX inference, in the same run. */
export async function benchScoring(modelPath: string, opts: { flows?: number; maxBatch?: number; lingerMs?: number } = {}): Promise<BenchResult> {
  const n = opts.flows ?? 200_000;
  const maxBatch = opts.maxBatch ?? 1024;
  const flows = syntheticFlows(n);
  const model = await loadModel(modelPath);
  const scorer = new BatchScorer(model, { maxBatch, lingerMs: opts.lingerMs ?? 1 });
  const extractor = new FlowFeatureExtractor();
  const vectors: FeatureVector[] = [];

  const t0 = performance.now();
  // Per consumer-sized chunk, as the detector does: extract every flow, then score the chunk.
  for (let i = 0; i < n; i += maxBatch * 8) {
    const chunk = flows.slice(i, i + maxBatch * 8).map((f) => extractor.push(f));
    vectors.push(...chunk);
    await scorer.scoreMany(chunk);
  }
  const pipelineS = (performance.now() - t0) / 1000;
  await model.close();

  const session = await ort.InferenceSession.create(modelPath);
  const t1 = performance.now();
  for (let i = 0; i < n; i += maxBatch) {
    const batch = vectors.slice(i, i + maxBatch);
    const input = new Float32Array(batch.length * FEATURE_COUNT);
    batch.forEach((v, j) => input.set(v, j * FEATURE_COUNT));
    await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', input, [batch.length, FEATURE_COUNT]) });
  }
  const rawS = (performance.now() - t1) / 1000;
  await session.release();
  return { flows: n, maxBatch, pipelineFlowsPerSec: n / pipelineS, rawInferenceFlowsPerSec: n / rawS, overhead: pipelineS / rawS };
}
