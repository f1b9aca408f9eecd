/**
 * Exact area under the ROC curve by the Mann–Whitney rank statistic: the probability that a random
 * positive outscores a random negative, ties counted as one half (average ranks).
 */
export function auroc(scores: ArrayLike<number>, positive: ArrayLike<boolean>): number {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let nPos = 0;
  let rankSumPos = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]!] === scores[order[i]!]) j++;
    const avgRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) {
      if (positive[order[k]!]) {
        nPos++;
        rankSumPos += avgRank;
      }
    }
    i = j + 1;
  }
  const nNeg = n - nPos;
  if (nPos === 0 || nNeg === 0) return Number.NaN;
  return (rankSumPos - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}

export interface Confusion {
  records: number;
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
  fpr: number;
}

/** Threshold metrics with `positive` (attack) as the positive class; empty ratios are 0. */
export function confusion(scores: ArrayLike<number>, positive: ArrayLike<boolean>, threshold: number): Confusion {
  let tp = 0, fp = 0, tn = 0, fn = 0;
  for (let i = 0; i < scores.length; i++) {
    const flagged = scores[i]! >= threshold;
    if (positive[i]) flagged ? tp++ : fn++;
    else flagged ? fp++ : tn++;
  }
  const div = (a: number, b: number) => (b === 0 ? 0 : a / b);
  const precision = div(tp, tp + fp);
  const recall = div(tp, tp + fn);
  return {
    records: scores.length,
    accuracy: div(tp + tn, scores.length),
    precision,
    recall,
    f1: div(2 * precision * recall, precision + recall),
    fpr: div(fp, fp + tn),
  };
}

/** The q-quantile (0..1) of `values` by linear interpolation between order statistics. */
export function quantile(values: ArrayLike<number>, q: number): number {
  const s = Float64Array.from(values).sort();
  if (s.length === 0) return Number.NaN;
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, s.length - 1);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}
