import { z } from 'zod';

/**
 * An empirical tail: the baseline's per-pair maxima of one scorer, kept as at most `MAX_POINTS`
 * evenly spaced order statistics (ascending) of the `n` pairs observed.
 */
export const Tail = z.object({ n: z.number().int().nonnegative(), values: z.array(z.number()) });
export type Tail = z.infer<typeof Tail>;
const MAX_POINTS = 1000;

/** The tail of a sample of per-pair maxima. */
export function fitTail(sample: ArrayLike<number>): Tail {
  const sorted = Float64Array.from(sample).sort();
  const n = sorted.length;
  if (n <= MAX_POINTS) return { n, values: Array.from(sorted) };
  const values = Array.from({ length: MAX_POINTS }, (_, i) => sorted[Math.round((i * (n - 1)) / (MAX_POINTS - 1))]!);
  return { n, values };
}

/** How far beyond the baseline's largest value the tail is extrapolated, at most (a factor on p). */
export const MAX_EXTRAPOLATION = 1000;

/**
 * Upper-tail probability of x on the baseline, (1 + #{≥ x}) / (1 + n): never 0. Beyond the
 * largest value seen, a Pareto tail of index 1 — p shrinks as max/x — so 350 connections in
 * minutes where the baseline's worst was 3 is more surprising than 4. An index of 1 is the
 * heaviest tail with a finite scale: the most conservative extrapolation. It is bounded at
 * 1/min(MAX_EXTRAPOLATION, n + 1) of the empirical floor 1/(n+1): a small baseline cannot claim
 * more than the square of its size, and one scorer alone adds at most −2 ln(1/(1000 (n+1))).
 */
export function tailP(t: Tail, x: number): number {
  const v = t.values;
  const max = v[v.length - 1] ?? 0;
  if (max > 0 && x > max) return Math.max(max / x, 1 / Math.min(MAX_EXTRAPOLATION, t.n + 1)) / (1 + t.n);
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

/** The (k+1)-th largest value (0 when there are k or fewer): "strictly above" admits at most k. */
export function kthCut(values: Float64Array, k: number): number {
  const desc = Float64Array.from(values).sort().reverse();
  const cut = desc[k] ?? 0;
  // When the top k+1 values tie (tail p-values saturate at 1/(n+1)), "strictly above the
  // k-th" would alert nothing at all; the most extreme group is alerted instead, over budget.
  if (k === 0 || (desc[0] ?? 0) > cut) return Math.max(0, cut);
  return Math.max(0, desc.find((v) => v < cut) ?? 0);
}
