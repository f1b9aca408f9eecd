import { z } from 'zod';
import { SIGNALS } from './tracker.ts';

/** Every scorer whose output is calibrated: the site signals and the ONNX autoencoder's error. */
export const SCORERS = [...SIGNALS, 'anomaly'] as const;
export type ScorerName = (typeof SCORERS)[number];

/**
 * An empirical tail: the baseline's per-pair maxima of one scorer, kept as at most `MAX_POINTS`
 * evenly spaced order statistics (ascending) of the `n` pairs observed.
 */
export const Tail = z.object({ n: z.number().int().nonnegative(), values: z.array(z.number()) });
export type Tail = z.infer<typeof Tail>;
const MAX_POINTS = 1000;

export const Budget = z.discriminatedUnion('mode', [
  /** Share of the baseline's destinations allowed to alert. */
  z.object({ mode: z.literal('fpr'), value: z.number().gt(0).lt(1) }),
  /** Alert groups (source, destination, window) per day on the baseline. */
  z.object({ mode: z.literal('alerts-per-day'), value: z.number().positive() }),
]);
export type Budget = z.infer<typeof Budget>;
export const DEFAULT_BUDGET: Budget = { mode: 'fpr', value: 0.03 };

export const Calibration = z.object({
  format: z.literal('soc-site-calibration/1'),
  scorers: z.record(z.string(), Tail),
  /** Truncated Fisher: only p-values at or below tau contribute (Zaykin et al. 2002). */
  tau: z.number().gt(0).lte(1),
  /** Alert when the combined statistic is strictly above this. */
  threshold: z.number().nonnegative(),
  budget: Budget,
  groupWindowSeconds: z.number().int().positive(),
  baseline: z.object({
    from: z.string(),
    to: z.string(),
    flows: z.number().int().nonnegative(),
    pairs: z.number().int().nonnegative(),
    destinations: z.number().int().nonnegative(),
    days: z.number().nonnegative(),
    alertedDestinations: z.number().int().nonnegative(),
    alertsPerDay: z.number().nonnegative(),
  }),
});
export type Calibration = z.infer<typeof Calibration>;

/** The tail of a sample of per-pair maxima. */
export function fitTail(sample: ArrayLike<number>): Tail {
  const sorted = Float64Array.from(sample).sort();
  const n = sorted.length;
  if (n <= MAX_POINTS) return { n, values: Array.from(sorted) };
  const values = Array.from({ length: MAX_POINTS }, (_, i) => sorted[Math.round((i * (n - 1)) / (MAX_POINTS - 1))]!);
  return { n, values };
}

/**
 * Upper-tail probability of x on the baseline, (1 + #{≥ x}) / (1 + n): never 0, so a value
 * beyond anything seen is "1 in n+1", not infinitely surprising.
 */
export function tailP(t: Tail, x: number): number {
  const v = t.values;
  let lo = 0, hi = v.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (v[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  const share = v.length ? (v.length - lo) / v.length : 0;
  return (1 + t.n * share) / (1 + t.n);
}

/**
 * Truncated Fisher statistic: Σ −2 ln p over the p-values ≤ tau. A scorer that is unremarkable for
 * this flow adds nothing, so one strong signal (a port scan) or several moderate ones together
 * (regular + rare + odd port: a beacon) both score, while noise in many scorers does not add up.
 */
export function combine(ps: ArrayLike<number>, tau: number): number {
  let s = 0;
  for (let i = 0; i < ps.length; i++) if (ps[i]! <= tau) s += -2 * Math.log(ps[i]!);
  return s;
}

/** The baseline replay, one row per flow, as calibration needs it. */
export interface BaselineColumns {
  ts: Float64Array;
  /** Index of the (source, destination) pair and of the destination of each flow. */
  pair: Int32Array;
  dest: Int32Array;
  /** One column per SCORERS entry, raw values. */
  cols: Record<ScorerName, Float32Array>;
}

export interface CalibrateOptions {
  budget?: Budget;
  tau?: number;
  groupWindowSeconds?: number;
}

function maxIndex(a: Int32Array): number {
  let m = -1;
  for (const v of a) if (v > m) m = v;
  return m;
}

function maxBy(keys: Int32Array, values: ArrayLike<number>, n: number): Float64Array {
  const out = new Float64Array(n).fill(-Infinity);
  for (let i = 0; i < keys.length; i++) if (values[i]! > out[keys[i]!]!) out[keys[i]!] = values[i]!;
  return out;
}

/** The (k+1)-th largest value (0 when there are k or fewer): "strictly above" admits at most k. */
export function kthCut(values: Float64Array, k: number): number {
  const desc = Float64Array.from(values).sort().reverse();
  const cut = desc[k] ?? 0;
  // When the top k+1 values tie (tail p-values saturate at 1/(n+1)), "strictly above the
  // k-th" would alert nothing at all; the most extreme group is alerted instead, over budget.
  if (k === 0 || (desc[0] ?? 0) > cut) return Math.max(0, cut);
  return Math.max(0, desc.find((v) => v < cut) ?? 0);
}

/**
 * Calibrates on a baseline replay: tails of per-pair maxima for each scorer, the combined
 * statistic for every flow, then the threshold that keeps the baseline within the budget —
 * at most `fpr` of its destinations, or `alerts-per-day` alert groups per day. The baseline may
 * contain attacks: they only take their share of the budget.
 */
export function calibrate(b: BaselineColumns, o: CalibrateOptions = {}): { calibration: Calibration; combined: Float64Array } {
  const budget = o.budget ?? DEFAULT_BUDGET;
  const tau = o.tau ?? 0.05;
  const win = o.groupWindowSeconds ?? 3600;
  const flows = b.ts.length;
  const nPairs = maxIndex(b.pair) + 1;
  const nDest = maxIndex(b.dest) + 1;
  const scorers = Object.fromEntries(SCORERS.map((s) => [s, fitTail(maxBy(b.pair, b.cols[s], nPairs))])) as Record<ScorerName, Tail>;
  const combined = new Float64Array(flows);
  const ps = new Float64Array(SCORERS.length);
  for (let i = 0; i < flows; i++) {
    SCORERS.forEach((s, j) => (ps[j] = tailP(scorers[s], b.cols[s][i]!)));
    combined[i] = combine(ps, tau);
  }
  let minTs = Infinity, maxTs = -Infinity;
  for (const t of b.ts) {
    if (t < minTs) minTs = t;
    if (t > maxTs) maxTs = t;
  }
  const days = flows ? Math.max((maxTs - minTs) / 86_400, 1 / 24) : 0;
  const groupKeys = new Map<string, number>();
  const groupOf = new Int32Array(flows);
  for (let i = 0; i < flows; i++) {
    const k = `${b.pair[i]}|${Math.floor(b.ts[i]! / win)}`;
    let g = groupKeys.get(k);
    if (g === undefined) groupKeys.set(k, (g = groupKeys.size));
    groupOf[i] = g;
  }
  const destMax = maxBy(b.dest, combined, nDest);
  const groupMax = maxBy(groupOf, combined, groupKeys.size);
  const threshold =
    budget.mode === 'fpr' ? kthCut(destMax, Math.floor(budget.value * nDest)) : kthCut(groupMax, Math.floor(budget.value * days));
  const alertedDestinations = destMax.filter((v) => v > threshold).length;
  const alertGroups = groupMax.filter((v) => v > threshold).length;
  const calibration: Calibration = {
    format: 'soc-site-calibration/1',
    scorers,
    tau,
    threshold,
    budget,
    groupWindowSeconds: win,
    baseline: {
      from: flows ? new Date(minTs * 1000).toISOString() : '',
      to: flows ? new Date(maxTs * 1000).toISOString() : '',
      flows,
      pairs: nPairs,
      destinations: nDest,
      days,
      alertedDestinations,
      alertsPerDay: days ? alertGroups / days : 0,
    },
  };
  return { calibration, combined };
}

export interface ScoredTerm {
  scorer: ScorerName;
  raw: number;
  p: number;
}

/** p-values of one flow's raw scorer outputs, and their combination. */
export function scoreFlow(c: Calibration, raw: Record<ScorerName, number>): { statistic: number; terms: ScoredTerm[]; alert: boolean } {
  const terms = SCORERS.map((s) => ({ scorer: s, raw: raw[s], p: c.scorers[s] ? tailP(c.scorers[s], raw[s]) : 1 }));
  const statistic = combine(terms.map((t) => t.p), c.tau);
  return { statistic, terms, alert: statistic > c.threshold };
}

/** The part of a site model's metadata json that carries its calibration. */
export const SiteSection = z.object({ site: Calibration });
