import { FEATURES, FEATURE_COUNT } from '@soc/features';
export { rng } from '@soc/model';

/**
 * The dense autoencoder and its preprocessing, in plain TypeScript (float64). The ONNX graph built
 * by graph.ts computes exactly these functions; train.test.ts checks that the two agree.
 */

export function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/**
 * Model-input layout, derived from FEATURES: the log1p columns, then the identity columns (both
 * standardised), then one block of one-hot columns per categorical feature.
 */
export interface Layout {
  logCols: number[];
  idCols: number[];
  onehot: { col: number; size: number }[];
  /** Expanded width. */
  width: number;
  /** Expanded column → FEATURES index, for per-feature errors. */
  owner: Int32Array;
}

export function layout(): Layout {
  const idx = FEATURES.map((_, i) => i);
  const logCols = idx.filter((i) => FEATURES[i]!.encoding === 'log1p');
  const idCols = idx.filter((i) => FEATURES[i]!.encoding === 'identity');
  const onehot = idx.filter((i) => FEATURES[i]!.encoding === 'onehot').map((col) => ({ col, size: FEATURES[col]!.vocabulary!.length }));
  const owners = [...logCols, ...idCols, ...onehot.flatMap((o) => Array<number>(o.size).fill(o.col))];
  return { logCols, idCols, onehot, width: owners.length, owner: Int32Array.from(owners) };
}

/** Standardisation of the numeric columns (log1p then identity), fitted on training normals. */
export interface Standardiser {
  mean: Float64Array;
  std: Float64Array;
}

/**
 * A feature constant in the training normals (e.g. `land`) would have std 0; flooring it keeps a
 * rare non-zero value a large but finite error instead of an infinite one.
 */
export const MIN_STD = 0.01;

const transform = (x: number, log: boolean) => (log ? Math.log1p(Math.max(0, x)) : x);

function numericRaw(row: Float32Array, L: Layout, k: number): number {
  const nLog = L.logCols.length;
  return k < nLog ? transform(row[L.logCols[k]!]!, true) : row[L.idCols[k - nLog]!]!;
}

export function fitStandardiser(rows: Float32Array[], L: Layout): Standardiser {
  const m = L.logCols.length + L.idCols.length;
  const mean = new Float64Array(m);
  const std = new Float64Array(m);
  for (const r of rows) for (let k = 0; k < m; k++) mean[k]! += numericRaw(r, L, k);
  for (let k = 0; k < m; k++) mean[k]! /= rows.length;
  for (const r of rows) for (let k = 0; k < m; k++) std[k]! += (numericRaw(r, L, k) - mean[k]!) ** 2;
  for (let k = 0; k < m; k++) std[k] = Math.max(MIN_STD, Math.sqrt(std[k]! / rows.length));
  return { mean, std };
}

/** Raw FEATURES vector → model input (the graph's preprocessing). */
export function expand(row: Float32Array, L: Layout, st: Standardiser, out = new Float64Array(L.width)): Float64Array {
  const m = st.mean.length;
  for (let k = 0; k < m; k++) out[k] = (numericRaw(row, L, k) - st.mean[k]!) / st.std[k]!;
  let o = m;
  for (const { col, size } of L.onehot) {
    const v = row[col]!;
    for (let j = 0; j < size; j++) out[o + j] = v === j ? 1 : 0;
    o += size;
  }
  return out;
}

/** Dense layers: weights [in × out] row-major (ONNX MatMul orientation), tanh on all but the last. */
export interface Layer {
  inp: number;
  out: number;
  w: Float64Array;
  b: Float64Array;
}

export function initLayers(sizes: number[], random: () => number): Layer[] {
  return sizes.slice(1).map((out, i) => {
    const inp = sizes[i]!;
    const limit = Math.sqrt(6 / (inp + out)); // Glorot uniform
    const w = Float64Array.from({ length: inp * out }, () => (2 * random() - 1) * limit);
    return { inp, out, w, b: new Float64Array(out) };
  });
}

/** Activations of every layer for one input (acts[0] is the input, the last the reconstruction). */
export function forward(layers: Layer[], x: Float64Array): Float64Array[] {
  const acts = [x];
  layers.forEach((l, li) => {
    const a = acts[li]!;
    const z = Float64Array.from(l.b);
    for (let i = 0; i < l.inp; i++) {
      const ai = a[i]!;
      if (ai === 0) continue;
      const base = i * l.out;
      for (let j = 0; j < l.out; j++) z[j]! += ai * l.w[base + j]!;
    }
    if (li < layers.length - 1) for (let j = 0; j < l.out; j++) z[j] = Math.tanh(z[j]!);
    acts.push(z);
  });
  return acts;
}

export interface Reconstruction {
  /** Mean squared reconstruction error over the expanded input. */
  score: number;
  /** Squared error summed per FEATURES entry. */
  featureErrors: Float64Array;
}

export function reconstructionError(layers: Layer[], x: Float64Array, L: Layout): Reconstruction {
  const r = forward(layers, x).at(-1)!;
  const featureErrors = new Float64Array(FEATURE_COUNT);
  let sum = 0;
  for (let j = 0; j < x.length; j++) {
    const e = (r[j]! - x[j]!) ** 2;
    sum += e;
    featureErrors[L.owner[j]!]! += e;
  }
  return { score: sum / x.length, featureErrors };
}

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  learningRate: number;
  random: () => number;
}

/** Minibatch Adam on the mean squared reconstruction error; returns the last epoch's mean loss. */
export function train(layers: Layer[], data: Float64Array[], o: TrainOptions): number[] {
  const params = layers.flatMap((l) => [l.w, l.b]);
  const grads = params.map((p) => new Float64Array(p.length));
  const m1 = params.map((p) => new Float64Array(p.length));
  const m2 = params.map((p) => new Float64Array(p.length));
  const [beta1, beta2, eps] = [0.9, 0.999, 1e-8];
  const order = data.map((_, i) => i);
  const losses: number[] = [];
  let step = 0;
  for (let epoch = 0; epoch < o.epochs; epoch++) {
    shuffle(order, o.random);
    let epochLoss = 0;
    for (let start = 0; start < order.length; start += o.batchSize) {
      const batch = order.slice(start, start + o.batchSize);
      for (const g of grads) g.fill(0);
      for (const idx of batch) epochLoss += backprop(layers, data[idx]!, grads, batch.length);
      step++;
      const lr = (o.learningRate * Math.sqrt(1 - beta2 ** step)) / (1 - beta1 ** step);
      params.forEach((p, k) => {
        const g = grads[k]!, a = m1[k]!, v = m2[k]!;
        for (let i = 0; i < p.length; i++) {
          a[i] = beta1 * a[i]! + (1 - beta1) * g[i]!;
          v[i] = beta2 * v[i]! + (1 - beta2) * g[i]! * g[i]!;
          p[i]! -= (lr * a[i]!) / (Math.sqrt(v[i]!) + eps);
        }
      });
    }
    losses.push(epochLoss / data.length);
  }
  return losses;
}

/** Adds one example's gradient (scaled by 1/batch) into `grads`; returns its loss. */
function backprop(layers: Layer[], x: Float64Array, grads: Float64Array[], batch: number): number {
  const acts = forward(layers, x);
  const r = acts.at(-1)!;
  let delta = new Float64Array(r.length);
  let loss = 0;
  for (let j = 0; j < r.length; j++) {
    const d = r[j]! - x[j]!;
    loss += d * d;
    delta[j] = (2 * d) / (r.length * batch);
  }
  for (let li = layers.length - 1; li >= 0; li--) {
    const l = layers[li]!;
    const a = acts[li]!;
    const gw = grads[2 * li]!, gb = grads[2 * li + 1]!;
    for (let j = 0; j < l.out; j++) gb[j]! += delta[j]!;
    const prev = new Float64Array(l.inp);
    for (let i = 0; i < l.inp; i++) {
      const ai = a[i]!;
      const base = i * l.out;
      let s = 0;
      for (let j = 0; j < l.out; j++) {
        gw[base + j]! += ai * delta[j]!;
        s += l.w[base + j]! * delta[j]!;
      }
      // The previous layer's activation is tanh (its derivative is 1 − a²); the input has none.
      prev[i] = li > 0 ? s * (1 - ai * ai) : s;
    }
    delta = prev;
  }
  return loss / r.length;
}
