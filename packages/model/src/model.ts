import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import * as ort from 'onnxruntime-node';
import { ValidationError } from '@soc/errors';
import { FEATURE_COUNT, FEATURE_NAMES, featureSignature, type FeatureVector } from '@soc/features';
import { ModelError } from './errors.ts';
import { ModelMetadata } from './metadata.ts';

export interface FeatureContribution {
  name: string;
  /** The raw feature value (a vocabulary index for categorical features). */
  value: number;
  /** Share of the reconstruction error due to this feature, 0..1. */
  contribution: number;
}

export interface Score {
  /** Mean squared reconstruction error. */
  score: number;
  anomalous: boolean;
  /** Severity 0..1, monotone in score: score / (score + threshold), so 0.5 at the threshold. */
  normalised: number;
  /** Features with the largest reconstruction error, largest first. */
  top: FeatureContribution[];
}

export interface LoadOptions {
  /** How many features `top` names (default 3). */
  topK?: number;
  /** ONNX Runtime intra-op threads (default: ORT's choice). */
  threads?: number;
}

export interface AnomalyModel {
  readonly metadata: ModelMetadata;
  readonly threshold: number;
  score(batch: readonly FeatureVector[]): Promise<Score[]>;
  /** Scores only (no explanations), for evaluation over large files. */
  rawScores(batch: readonly FeatureVector[]): Promise<Float32Array>;
  /**
   * `score` over a batch already laid out as the model's input: `rows` feature vectors end to end
   * in `input` (a feature extractor fills it in place), no per-flow vectors and no copy. The
   * scores' explanations read `input` when asked: do not change it while they are in use.
   */
  scoreRows(input: Float32Array, rows: number): Promise<Score[]>;
  /** `rawScores` over a batch laid out as in `scoreRows`. */
  rawScoreRows(input: Float32Array, rows: number): Promise<Float32Array>;
  close(): Promise<void>;
}

/** The metadata json that travels with `path` (same name, .json). */
export function metadataPath(modelPath: string): string {
  return modelPath.replace(/\.onnx$/, '') + '.json';
}

async function readOrFail(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (cause) {
    throw new ModelError(`${what} ${path} cannot be read`, { cause });
  }
}

async function readMetadata(path: string): Promise<ModelMetadata> {
  const text = (await readOrFail(path, 'model metadata')).toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new ModelError(`model metadata ${path} is not JSON`, { cause });
  }
  const parsed = ModelMetadata.safeParse(json);
  if (!parsed.success) throw new ModelError(`model metadata ${path} is invalid: ${parsed.error.message}`);
  const m = parsed.data;
  if (m.featureSignature !== featureSignature() || m.features.join(',') !== FEATURE_NAMES.join(','))
    throw new ModelError(`model ${m.version} was trained on a different feature list than @soc/features defines`);
  if (m.input.shape[1] !== FEATURE_COUNT) throw new ModelError(`model ${m.version} declares ${m.input.shape[1]} inputs, FEATURES has ${FEATURE_COUNT}`);
  return m;
}

function tensorMeta(list: readonly ort.InferenceSession.ValueMetadata[], name: string): ort.InferenceSession.TensorValueMetadata | undefined {
  const v = list.find((x) => x.name === name);
  return v?.isTensor ? v : undefined;
}

const sameShape = (actual: ReadonlyArray<number | string>, expected: (number | null)[]) =>
  actual.length === expected.length && expected.every((d, i) => d === null || actual[i] === d);

/** Checks the session's own input/output signature against the metadata and FEATURES. */
function checkSession(s: ort.InferenceSession, m: ModelMetadata): void {
  const input = tensorMeta(s.inputMetadata, m.input.name);
  if (s.inputNames.length !== 1 || !input || input.type !== 'float32' || !sameShape(input.shape, [null, FEATURE_COUNT]))
    throw new ModelError(`model ${m.version}: expected one float32 input ${m.input.name} [N, ${FEATURE_COUNT}], got ${JSON.stringify(s.inputMetadata)}`);
  const score = tensorMeta(s.outputMetadata, m.outputs.score);
  const errors = tensorMeta(s.outputMetadata, m.outputs.featureErrors);
  if (!score || !sameShape(score.shape, [null]) || !errors || !sameShape(errors.shape, [null, FEATURE_COUNT]))
    throw new ModelError(`model ${m.version}: expected outputs ${m.outputs.score} [N] and ${m.outputs.featureErrors} [N, ${FEATURE_COUNT}], got ${JSON.stringify(s.outputMetadata)}`);
}

/**
 * Loads an anomaly model and refuses, with a ModelError, anything it could not score correctly:
 * missing or unreadable files, metadata that is invalid or describes other features, bytes that do
 * not match the metadata's hash, or an ONNX graph whose signature does not match FEATURES.
 */
export async function loadModel(path: string, opts: LoadOptions = {}): Promise<AnomalyModel> {
  const metadata = await readMetadata(metadataPath(path));
  const bytes = await readOrFail(path, 'model');
  if (createHash('sha256').update(bytes).digest('hex') !== metadata.onnxSha256)
    throw new ModelError(`model ${path} does not match the sha256 in its metadata (corrupt or replaced)`);
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, opts.threads ? { intraOpNumThreads: opts.threads } : {});
  } catch (cause) {
    throw new ModelError(`model ${path} cannot be loaded by ONNX Runtime`, { cause });
  }
  try {
    checkSession(session, metadata);
  } catch (err) {
    await session.release();
    throw err;
  }
  return new OnnxAnomalyModel(session, metadata, opts.topK ?? 3);
}

class OnnxAnomalyModel implements AnomalyModel {
  readonly threshold: number;

  constructor(
    private readonly session: ort.InferenceSession,
    readonly metadata: ModelMetadata,
    private readonly topK: number,
  ) {
    this.threshold = metadata.threshold;
  }

  private async run(input: Float32Array, rows: number): Promise<{ scores: Float32Array; errors: Float32Array }> {
    if (input.length !== rows * FEATURE_COUNT) throw new ValidationError(`a batch of ${rows} feature vectors needs ${rows * FEATURE_COUNT} values, got ${input.length}`);
    for (let i = 0; i < input.length; i++) if (!Number.isFinite(input[i]!)) throw new ValidationError('feature vector contains a non-finite value');
    const out = await this.session.run({ [this.metadata.input.name]: new ort.Tensor('float32', input, [rows, FEATURE_COUNT]) });
    return {
      scores: out[this.metadata.outputs.score]!.data as Float32Array,
      errors: out[this.metadata.outputs.featureErrors]!.data as Float32Array,
    };
  }

  async rawScores(batch: readonly FeatureVector[]): Promise<Float32Array> {
    return this.rawScoreRows(pack(batch), batch.length);
  }

  async rawScoreRows(input: Float32Array, rows: number): Promise<Float32Array> {
    if (rows === 0) return new Float32Array(0);
    return (await this.run(input, rows)).scores;
  }

  async score(batch: readonly FeatureVector[]): Promise<Score[]> {
    return this.scoreRows(pack(batch), batch.length);
  }

  async scoreRows(input: Float32Array, rows: number): Promise<Score[]> {
    if (rows === 0) return [];
    const { scores, errors } = await this.run(input, rows);
    const t = this.threshold;
    const out = new Array<Score>(scores.length);
    for (let i = 0; i < scores.length; i++) out[i] = new RowScore(scores[i]!, t, errors, input, i * FEATURE_COUNT, this.topK);
    return out;
  }

  close(): Promise<void> {
    return this.session.release();
  }
}

/** Vectors end to end, as the model's input; each must have FEATURE_COUNT values. */
function pack(batch: readonly FeatureVector[]): Float32Array {
  const input = new Float32Array(batch.length * FEATURE_COUNT);
  batch.forEach((v, i) => {
    if (v.length !== FEATURE_COUNT) throw new ValidationError(`feature vector ${i} has ${v.length} values, expected ${FEATURE_COUNT}`);
    input.set(v, i * FEATURE_COUNT);
  });
  return input;
}

/**
 * One row's score over the batch's output arrays. The explanation (`top`) is worked out on
 * first read: most rows are never explained, and building it for each was most of the cost of
 * scoring over bare inference.
 */
class RowScore implements Score {
  readonly anomalous: boolean;
  readonly normalised: number;
  private explained: FeatureContribution[] | undefined;

  constructor(
    readonly score: number,
    threshold: number,
    private readonly errors: Float32Array,
    private readonly input: Float32Array,
    private readonly offset: number,
    private readonly k: number,
  ) {
    this.anomalous = score >= threshold;
    this.normalised = score / (score + threshold);
  }

  get top(): FeatureContribution[] {
    return (this.explained ??= topFeatures(this.errors, this.input, this.offset, this.k));
  }
}

/** The k largest per-feature errors of one row: one pass with a small sorted list (k is small). */
function topFeatures(errors: Float32Array, input: Float32Array, offset: number, k: number): FeatureContribution[] {
  const best: number[] = [];
  let total = 0;
  for (let f = 0; f < FEATURE_COUNT; f++) {
    const e = errors[offset + f]!;
    total += e;
    if (best.length === k && e <= errors[offset + best[k - 1]!]!) continue;
    let pos = best.length;
    while (pos > 0 && errors[offset + best[pos - 1]!]! < e) pos--;
    best.splice(pos, 0, f);
    if (best.length > k) best.pop();
  }
  return best.map((f) => ({
    name: FEATURE_NAMES[f]!,
    value: input[offset + f]!,
    contribution: total === 0 ? 0 : errors[offset + f]! / total,
  }));
}
