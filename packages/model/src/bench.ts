import * as ort from 'onnxruntime-node';
import { FEATURE_COUNT, FlowFeatureExtractor, type Flow } from '@soc/features';
import { BatchScorer } from './batch.ts';
import { loadModel } from './model.ts';
import { rng } from './random.ts';

export interface BenchResult {
  flows: number;
  maxBatch: number;
  /** Timed passes over the flows, after one warm-up pass. */
  rounds: number;
  /** Feature extraction into the batch + BatchScorer (with explanations), end to end. */
  pipelineFlowsPerSec: number;
  /** InferenceSession.run alone on the same model file and the same input batches. */
  rawInferenceFlowsPerSec: number;
  /** pipeline time / raw time: how much the detector's scoring costs over bare inference. */
  overhead: number;
  /** Each pass's pipeline / raw, to show the spread. */
  roundOverheads: number[];
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

/**
 * Flows/s through extraction + BatchScorer against bare ONNX inference, measured honestly: the
 * same model file, the same batches (the raw session runs on the pipeline's own input rows),
 * both sessions created and warmed up (one untimed round) before the clock starts, and the two
 * sides alternated chunk by chunk, so that a noisy neighbour hits both alike.
 */
export async function benchScoring(modelPath: string, opts: { flows?: number; maxBatch?: number; lingerMs?: number; rounds?: number } = {}): Promise<BenchResult> {
  const n = opts.flows ?? 200_000;
  const maxBatch = opts.maxBatch ?? 1024;
  const rounds = opts.rounds ?? 3;
  // Consumer-sized chunks, as the detector gets them: extract every flow of the chunk into one
  // input matrix, then score the chunk in batches of maxBatch.
  const chunk = maxBatch * 8;
  const flows = syntheticFlows(n);
  const model = await loadModel(modelPath);
  const scorer = new BatchScorer(model, { maxBatch, lingerMs: opts.lingerMs ?? 1 });
  const session = await ort.InferenceSession.create(modelPath);
  const inputName = session.inputNames[0]!;

  /** One pass over the flows; milliseconds spent in the pipeline and in raw inference. */
  const round = async (): Promise<[number, number]> => {
    const extractor = new FlowFeatureExtractor();
    let pipelineMs = 0;
    let rawMs = 0;
    for (let i = 0; i < n; i += chunk) {
      const rows = Math.min(chunk, n - i);
      let t = performance.now();
      const input = new Float32Array(rows * FEATURE_COUNT);
      for (let j = 0; j < rows; j++) extractor.push(flows[i + j]!, input, j * FEATURE_COUNT);
      await scorer.scoreRows(input, rows);
      pipelineMs += performance.now() - t;
      t = performance.now();
      for (let j = 0; j < rows; j += maxBatch) {
        const m = Math.min(maxBatch, rows - j);
        await session.run({ [inputName]: new ort.Tensor('float32', input.subarray(j * FEATURE_COUNT, (j + m) * FEATURE_COUNT), [m, FEATURE_COUNT]) });
      }
      rawMs += performance.now() - t;
    }
    return [pipelineMs, rawMs];
  };

  try {
    await round();
    let pipelineMs = 0;
    let rawMs = 0;
    const roundOverheads: number[] = [];
    for (let k = 0; k < rounds; k++) {
      const [p, r] = await round();
      pipelineMs += p;
      rawMs += r;
      roundOverheads.push(Number((p / r).toFixed(2)));
    }
    return {
      flows: n, maxBatch, rounds,
      pipelineFlowsPerSec: Math.round((rounds * n) / (pipelineMs / 1000)),
      rawInferenceFlowsPerSec: Math.round((rounds * n) / (rawMs / 1000)),
      overhead: Number((pipelineMs / rawMs).toFixed(2)),
      roundOverheads,
    };
  } finally {
    await model.close();
    await session.release();
  }
}
