import { createHash } from 'node:crypto';
import { featureIndex, parseKddLine, type KddRecord } from '@soc/features';
import { ModelMetadata, auroc, confusion, quantile } from '@soc/model';
import { expand, fitStandardiser, initLayers, layout, reconstructionError, rng, shuffle, train, type Layer, type Layout, type Standardiser } from './autoencoder.ts';
import { buildGraph, graphInterface } from './graph.ts';

export interface TrainConfig {
  seed: number;
  epochs: number;
  batchSize: number;
  learningRate: number;
  hidden: number[];
  /** Share of normal records held out for validation, and for choosing the threshold. */
  validationShare: number;
  calibrationShare: number;
  /** Quantile of calibration-normal scores used as the threshold. */
  thresholdQuantile: number;
  version: string;
}

export const DEFAULT_CONFIG: TrainConfig = {
  seed: 20240607,
  epochs: 40,
  batchSize: 64,
  learningRate: 1e-3,
  hidden: [32, 8, 32],
  validationShare: 0.2,
  calibrationShare: 0.1,
  thresholdQuantile: 0.95,
  version: 'kdd-autoencoder-v1',
};

export interface Split {
  train: KddRecord[];
  calibration: KddRecord[];
  validation: KddRecord[];
}

/**
 * Normals stratified by service (so a rare service is represented in every part), shuffled with
 * the seed: validation and calibration shares held out, the rest trains. Every attack goes to
 * validation: the model never sees one.
 */
export function split(records: KddRecord[], c: TrainConfig, random: () => number): Split {
  const out: Split = { train: [], calibration: [], validation: [] };
  const byService = new Map<number, KddRecord[]>();
  const srv = featureIndex('service');
  for (const r of records) {
    if (r.attack) out.validation.push(r);
    else {
      const k = r.vector[srv]!;
      byService.set(k, [...(byService.get(k) ?? []), r]);
    }
  }
  for (const k of [...byService.keys()].sort((a, b) => a - b)) {
    const group = shuffle(byService.get(k)!, random);
    const nVal = Math.round(group.length * c.validationShare);
    const nCal = Math.round(group.length * c.calibrationShare);
    out.validation.push(...group.slice(0, nVal));
    out.calibration.push(...group.slice(nVal, nVal + nCal));
    out.train.push(...group.slice(nVal + nCal));
  }
  return out;
}

export function parseKdd(text: string): KddRecord[] {
  return text.split('\n').map(parseKddLine).filter((r): r is KddRecord => r !== null);
}

export interface TrainedModel {
  onnx: Uint8Array;
  metadata: ModelMetadata;
  /** Training-side (float64) scorer, for checking the ONNX graph against. */
  score: (vector: Float32Array) => { score: number; featureErrors: Float64Array };
  losses: number[];
}

/** Trains and exports; a pure function of (data, config), so the artifact bytes are reproducible. */
export function trainModel(text: string, fileName: string, c: TrainConfig = DEFAULT_CONFIG): TrainedModel {
  const random = rng(c.seed);
  const parts = split(parseKdd(text), c, random);
  const L: Layout = layout();
  const st: Standardiser = fitStandardiser(parts.train.map((r) => r.vector), L);
  const layers: Layer[] = initLayers([L.width, ...c.hidden, L.width], random);
  const data = parts.train.map((r) => expand(r.vector, L, st));
  const losses = train(layers, data, { epochs: c.epochs, batchSize: c.batchSize, learningRate: c.learningRate, random });
  const score = (v: Float32Array) => reconstructionError(layers, expand(v, L, st), L);

  const threshold = quantile(parts.calibration.map((r) => score(r.vector).score), c.thresholdQuantile);
  const valScores = parts.validation.map((r) => score(r.vector).score);
  const valAttack = parts.validation.map((r) => r.attack);
  const validation = { ...confusion(valScores, valAttack, threshold), auroc: auroc(valScores, valAttack), threshold };

  const architecture = `dense autoencoder ${[L.width, ...c.hidden, L.width].join('-')}, tanh hidden, linear output`;
  const onnx = buildGraph(L, st, layers, `${c.version}: ${architecture}; input = raw FEATURES vector (see @soc/features)`);
  const metadata = ModelMetadata.parse({
    ...graphInterface(c.version),
    threshold,
    thresholdRule: `${c.thresholdQuantile * 100}th percentile of held-out calibration-normal scores`,
    seed: c.seed,
    architecture,
    training: {
      file: fileName,
      sha256: sha256(text),
      trainRows: parts.train.length,
      calibrationRows: parts.calibration.length,
      validationNormal: parts.validation.length - valAttack.filter(Boolean).length,
      validationAttack: valAttack.filter(Boolean).length,
      epochs: c.epochs,
    },
    validation,
    onnxSha256: sha256(onnx),
  });
  return { onnx, metadata, score, losses };
}

export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

