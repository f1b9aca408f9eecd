/** Robust statistics over small samples (rings of ≤ 64 values), the building blocks of regularity. */

/** Quantile of an ascending-sorted array by linear interpolation (type 7). */
export function sortedQuantile(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return 0;
  const pos = (n - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export interface Dispersion {
  median: number;
  /** Median absolute deviation from the median. */
  mad: number;
  /** Bowley (quartile) skewness in [-1, 1]; 0 for a symmetric or degenerate sample. */
  bowley: number;
}

/** Scratch buffers for dispersion: grown to the largest sample seen, reused (no garbage per call). */
let scratch = new Float64Array(64);
let scratchDev = new Float64Array(64);

/** Median, MAD and Bowley skew of `values` (copied and sorted: O(k log k) for a ring of k). */
export function dispersion(values: ArrayLike<number>): Dispersion {
  const n = values.length;
  if (scratch.length < n) {
    scratch = new Float64Array(n);
    scratchDev = new Float64Array(n);
  }
  const s = scratch.subarray(0, n);
  for (let i = 0; i < n; i++) s[i] = values[i]!;
  s.sort();
  const median = sortedQuantile(s, 0.5);
  const q1 = sortedQuantile(s, 0.25);
  const q3 = sortedQuantile(s, 0.75);
  const bowley = q3 - q1 > 0 ? (q3 + q1 - 2 * median) / (q3 - q1) : 0;
  const dev = scratchDev.subarray(0, n);
  for (let i = 0; i < n; i++) dev[i] = Math.abs(s[i]! - median);
  dev.sort();
  return { median, mad: sortedQuantile(dev, 0.5), bowley };
}

/**
 * Regularity of a sample in [0, 1], as in RITA's beacon analysis: the mean of a symmetry score
 * (1 − |Bowley skew|) and a dispersion score (1 − MAD/median, floored at 0). A jitter of ±J%
 * uniform around the period gives a dispersion score of about 1 − J/200.
 */
export function regularity(d: Dispersion): number {
  const madm = d.median > 0 ? Math.max(0, 1 - d.mad / d.median) : d.mad === 0 ? 1 : 0;
  return (1 - Math.abs(d.bowley) + madm) / 2;
}

/**
 * RITA-style beacon score in [0, 1]: regularity of intervals and sizes, weighted by the evidence
 * behind it (1 − 1/√intervals: three intervals prove little, sixty a lot) and by persistence (the
 * share of the hours it spans in which the triple was active). Fewer than 3 intervals: 0.
 */
export function beaconScore(intervalRegularity: number, sizeRegularity: number, intervals: number, coverage: number): number {
  if (intervals < 3) return 0;
  const reg = (2 * intervalRegularity + sizeRegularity) / 3;
  return reg * (1 - 1 / Math.sqrt(intervals)) * Math.min(1, coverage);
}
