import { describe, expect, it } from 'vitest';
import { auroc, confusion, quantile } from './metrics.ts';
import { rng } from './random.ts';

/** O(n²) definition of AUROC: P(positive outscores negative), ties counting one half. */
function pairwiseAuroc(s: number[], p: boolean[]): number {
  let wins = 0, pairs = 0;
  s.forEach((a, i) => s.forEach((b, j) => {
    if (p[i] && !p[j]) {
      pairs++;
      wins += a > b ? 1 : a === b ? 0.5 : 0;
    }
  }));
  return wins / pairs;
}

describe('metrics', () => {
  it('computes AUROC exactly, ties included', () => {
    expect(auroc([1, 2, 3, 4], [false, false, true, true])).toBe(1);
    expect(auroc([1, 1, 1, 1], [false, true, false, true])).toBe(0.5);
    const random = rng(3);
    const s = Array.from({ length: 300 }, () => Math.round(random() * 20));
    const p = s.map((v) => random() < 0.2 + v / 40);
    expect(auroc(s, p)).toBeCloseTo(pairwiseAuroc(s, p), 12);
  });

  it('computes threshold metrics with attack as the positive class', () => {
    const c = confusion([0.1, 0.5, 0.9, 0.2, 0.7], [false, true, true, false, false], 0.5);
    expect(c).toEqual({ records: 5, accuracy: 0.8, precision: 2 / 3, recall: 1, f1: 0.8, fpr: 1 / 3 });
  });

  it('interpolates quantiles', () => {
    expect(quantile([3, 1, 2, 4], 0.5)).toBe(2.5);
    expect(quantile([5], 0.99)).toBe(5);
  });
});
