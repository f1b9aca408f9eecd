import { z } from 'zod';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Flow } from '@soc/features';
import { ModelError, ModelMetadata, loadModel, quantile, rng } from '@soc/model';
import { FEATURE_COUNT, FlowFeatureExtractor } from '@soc/features';
import { EvidenceCalibration, fitSiteEvidence, type Context, type EvidenceBudget, type EvidenceOptions } from '@soc/signals';
import { loadReference } from './evidence.ts';
import { expand, initLayers, layout, reconstructionError, shuffle, train, type Layer, type Layout, type Standardiser } from './autoencoder.ts';
import { buildGraph, graphInterface } from './graph.ts';
import { sha256 } from './pipeline.ts';

/** A site model's metadata: the anomaly model's, plus the site calibration of every scorer. */
export const SiteModelMetadata = ModelMetadata.extend({
  site: EvidenceCalibration,
  /** Share of baseline flows at or above the autoencoder's own threshold (the baseline has no labels). */
  autoencoderBaselineFpr: z.number().min(0).max(1),
});
export type SiteModelMetadata = ReturnType<typeof SiteModelMetadata.parse>;

export interface SiteFitOptions {
  version: string;
  /** Names of the baseline inputs, recorded in the metadata. */
  sources: string[];
  budget?: EvidenceBudget;
  tracker?: EvidenceOptions;
  /** The baseline's dns/ssl/http records (contextsOf the same logs), when the sensor writes them. */
  contexts?: Context[];
  seed?: number;
  /** Flows the autoencoder trains on at most (a uniform sample beyond). */
  maxTrainRows?: number;
  epochs?: number;
  /** Share of highest-error training flows dropped before the second training round. */
  trim?: number;
}

const MAD_TO_SD = 1.4826;

/**
 * Median and MAD (scaled to a standard deviation) instead of mean and std: a baseline that holds
 * a flood of attack flows would drag the mean and inflate the std; it barely moves the median.
 */
export function fitRobustStandardiser(rows: Float32Array[], L: Layout): Standardiser {
  const cols = [...L.logCols.map((c) => ({ c, log: true })), ...L.idCols.map((c) => ({ c, log: false }))];
  const mean = new Float64Array(cols.length);
  const std = new Float64Array(cols.length);
  cols.forEach(({ c, log }, k) => {
    const v = rows.map((r) => (log ? Math.log1p(Math.max(0, r[c]!)) : r[c]!));
    const med = quantile(v, 0.5);
    const mad = quantile(v.map((x) => Math.abs(x - med)), 0.5) * MAD_TO_SD;
    // A column with MAD 0 (mostly constant) falls back to its std so its rare values stay finite.
    const sd = Math.sqrt(v.reduce((s, x) => s + (x - med) ** 2, 0) / Math.max(1, v.length));
    mean[k] = med;
    std[k] = Math.max(0.01, mad > 0 ? mad : sd);
  });
  return { mean, std };
}

/**
 * Contamination-robust autoencoder: train, score the training flows, drop the `trim` share with
 * the largest error (where attack flows in the baseline concentrate), retrain from scratch.
 */
function trainRobust(vectors: Float32Array[], o: Required<Pick<SiteFitOptions, 'seed' | 'maxTrainRows' | 'epochs' | 'trim'>>) {
  const random = rng(o.seed);
  const L = layout();
  const sample = vectors.length > o.maxTrainRows ? shuffle([...vectors], random).slice(0, o.maxTrainRows) : vectors;
  const st = fitRobustStandardiser(sample, L);
  const data = sample.map((v) => expand(v, L, st));
  const round = (rows: Float64Array[]): Layer[] => {
    const layers = initLayers([L.width, 32, 8, 32, L.width], random);
    train(layers, rows, { epochs: o.epochs, batchSize: 64, learningRate: 1e-3, random });
    return layers;
  };
  const first = round(data);
  const errors = data.map((x) => reconstructionError(first, x, L).score);
  const cut = quantile(errors, 1 - o.trim);
  const kept = data.filter((_, i) => errors[i]! <= cut);
  const layers = round(kept);
  const keptErrors = kept.map((x) => reconstructionError(layers, x, L).score);
  return { L, st, layers, trainRows: kept.length, dropped: data.length - kept.length, threshold: Math.max(1e-9, quantile(keptErrors, 0.99)) };
}

/** Flows sorted by start time, the order the detector sees them in. */
export const byTime = (flows: Flow[]): Flow[] => [...flows].sort((a, b) => a.ts - b.ts);

export interface SiteFit {
  onnxPath: string;
  metadata: SiteModelMetadata;
}

/**
 * Fits a site model on a baseline of flows and writes `<dir>/<version>.onnx` and `.json`:
 * 1. a contamination-robust autoencoder on the flow features, exported to ONNX;
 * 2. the ONNX model's scores for every flow, by ONNX Runtime itself;
 * 3. one replay through the evidence tracker (the detector's own code path): the shipped priors
 *    kept, the site's tails for rarity and the autoencoder, the threshold for the alert budget.
 */
export async function fitSite(flowsIn: Flow[], dir: string, o: SiteFitOptions): Promise<SiteFit> {
  if (flowsIn.length < 10) throw new ModelError(`a site baseline needs at least 10 flows from Zeek conn logs (JSON or TSV), got ${flowsIn.length}`);
  const flows = byTime(flowsIn);
  const extractor = new FlowFeatureExtractor();
  const vectors = flows.map((f) => extractor.push(f, new Float32Array(FEATURE_COUNT)));
  const seed = o.seed ?? 1;
  const ae = trainRobust(vectors, { seed, maxTrainRows: o.maxTrainRows ?? 8000, epochs: o.epochs ?? 12, trim: o.trim ?? 0.05 });
  const architecture = `dense autoencoder ${[ae.L.width, 32, 8, 32, ae.L.width].join('-')}, tanh hidden, linear output; robust (median/MAD) standardisation; trimmed retraining`;
  const onnx = buildGraph(ae.L, ae.st, ae.layers, `${o.version}: site baseline ${architecture}`);
  const onnxPath = join(dir, `${o.version}.onnx`);
  await mkdir(dir, { recursive: true });
  await writeFile(onnxPath, onnx);
  const base = ModelMetadata.parse({
    ...graphInterface(o.version),
    threshold: ae.threshold,
    thresholdRule: '99th percentile of the trimmed site baseline; alerting uses the site evidence calibration (site.threshold)',
    seed,
    architecture,
    training: {
      file: o.sources.join(','),
      sha256: sha256(o.sources.join('\n')),
      trainRows: ae.trainRows,
      calibrationRows: flows.length,
      validationNormal: flows.length,
      validationAttack: 0,
      epochs: o.epochs ?? 12,
    },
    onnxSha256: sha256(onnx),
  });
  await writeFile(join(dir, `${o.version}.json`), JSON.stringify(base));
  const model = await loadModel(onnxPath);
  const anomaly = new Float32Array(flows.length);
  try {
    for (let i = 0; i < vectors.length; i += 4096) anomaly.set(await model.rawScores(vectors.slice(i, i + 4096)), i);
  } finally {
    await model.close();
  }
  const contexts = o.contexts ? [...o.contexts].sort((a, b) => a.ts - b.ts) : undefined;
  const site = fitSiteEvidence(flows, loadReference(), { ...o.tracker, sources: o.sources, ...(o.budget ? { budget: o.budget } : {}), ...(contexts ? { contexts } : {}) }, (j) => anomaly[j]!);
  const aeFpr = anomaly.filter((s) => s >= ae.threshold).length / flows.length;
  const metadata = SiteModelMetadata.parse({ ...base, site, autoencoderBaselineFpr: aeFpr });
  await writeFile(join(dir, `${o.version}.json`), `${JSON.stringify(metadata, null, 2)}\n`);
  return { onnxPath, metadata };
}
