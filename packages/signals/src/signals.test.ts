import { describe, expect, it } from 'vitest';
import type { Flow } from '@soc/features';
import { calibrate, combine, fitTail, kthCut, tailP, SCORERS, type ScorerName } from './calibrate.ts';
import { LruMap } from './lru.ts';
import { internalClassifier } from './net.ts';
import { SignalTracker } from './tracker.ts';

/** Seeded PRNG (an LCG is plenty for test data). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
}

const flow = (ts: number, src: string, dst: string, dstPort: number, extra: Partial<Flow> = {}): Flow => ({
  ts, srcIp: src, srcPort: 50000, dstIp: dst, dstPort, proto: 'tcp', service: 'ssl', connState: 'SF', duration: 0.3, srcBytes: 300, dstBytes: 300, ...extra,
});

describe('internalClassifier', () => {
  it('separates private, special and internet addresses, with site CIDRs', () => {
    const internal = internalClassifier(['203.0.113.0/24']);
    for (const ip of ['10.1.2.3', '172.20.0.1', '192.168.1.1', '169.254.1.1', '224.0.0.251', '255.255.255.255', '10.1.255.255', 'fd00::1', 'fe80::1%eth0', 'ff02::fb', '203.0.113.9', 'garbage'])
      expect(internal(ip), ip).toBe(true);
    for (const ip of ['8.8.8.8', '185.100.1.2', '2001:db8::1', '172.32.0.1']) expect(internal(ip), ip).toBe(false);
  });
});

describe('beacon signal', () => {
  function beacon(intervals: () => number, n = 120): number {
    const t = new SignalTracker();
    let ts = 1_700_000_000;
    let last = 0;
    for (let i = 0; i < n; i++) {
      last = t.observe(flow(ts, '10.0.0.5', '185.1.2.3', 4443)).raw.beacon;
      ts += intervals();
    }
    return last;
  }
  it('scores a jittered periodic series far above a bursty human one', () => {
    const r = rng(7);
    const periodic = beacon(() => 60 * (1 + (r() * 2 - 1) * 0.3));
    const human = beacon(() => -Math.log(1 - r()) * 60 * (r() < 0.2 ? 20 : 1));
    expect(periodic).toBeGreaterThan(0.6);
    expect(human).toBeLessThan(periodic - 0.2);
  });
  it('is zero for internal destinations and for too few connections', () => {
    const t = new SignalTracker();
    for (let i = 0; i < 20; i++) expect(t.observe(flow(1000 + i * 60, '10.0.0.5', '10.0.0.2', 53)).raw.beacon).toBe(0);
    expect(t.observe(flow(1000, '10.0.0.5', '8.8.4.4', 443)).raw.beacon).toBe(0);
  });
});

describe('bounded memory', () => {
  it('keeps at most maxPairs triples however many are seen', () => {
    const t = new SignalTracker({ maxPairs: 1000, maxDestinations: 500, maxSources: 10 });
    for (let i = 0; i < 20_000; i++) t.observe(flow(i, `10.0.${i % 50}.1`, `93.${(i >> 8) & 255}.${i & 255}.1`, 1 + (i % 3000), { connState: 'REJ' }));
    expect(t.stats.pairs).toBeLessThanOrEqual(1000);
    expect(t.stats.destinations).toBeLessThanOrEqual(500);
    expect(t.stats.sources).toBeLessThanOrEqual(10);
    const m = new LruMap<number, number>(2);
    m.set(1, 1); m.set(2, 2); m.get(1); m.set(3, 3);
    expect(m.get(2)).toBeUndefined();
    expect(m.get(1)).toBe(1);
  });
});

describe('calibration', () => {
  it('tail probabilities are empirical and never zero', () => {
    const t = fitTail([0, 0, 1, 2, 3]);
    expect(tailP(t, 0)).toBe(1);
    expect(tailP(t, 3)).toBeCloseTo(2 / 6);
    expect(tailP(t, 99)).toBeCloseTo(1 / 6);
  });
  it('truncated Fisher ignores unremarkable scorers', () => {
    expect(combine([0.5, 0.9, 1], 0.05)).toBe(0);
    expect(combine([0.01, 0.5], 0.05)).toBeCloseTo(-2 * Math.log(0.01));
  });
  it('the threshold keeps the baseline within the destination budget', () => {
    const r = rng(3);
    const n = 5000;
    const cols = Object.fromEntries(SCORERS.map((s) => [s, Float32Array.from({ length: n }, () => r())])) as Record<ScorerName, Float32Array>;
    const dest = Int32Array.from({ length: n }, (_, i) => i % 400);
    const { calibration } = calibrate({ ts: Float64Array.from({ length: n }, (_, i) => i * 10), pair: dest, dest, cols }, { budget: { mode: 'fpr', value: 0.05 } });
    expect(calibration.baseline.destinations).toBe(400);
    expect(calibration.baseline.alertedDestinations).toBeLessThanOrEqual(20);
    expect(calibration.baseline.alertedDestinations).toBeGreaterThan(0);
  });
});

describe('kthCut', () => {
  it('alerts strictly above the k-th largest value', () => {
    const v = Float64Array.from([1, 9, 3, 7, 5]);
    expect(kthCut(v, 2)).toBe(5);
    expect([...v].filter((x) => x > kthCut(v, 2))).toEqual([9, 7]);
    expect(kthCut(v, 0)).toBe(9);
  });

  it('does not fall silent when the top values tie', () => {
    const v = Float64Array.from([8, 8, 8, 8, 2, 1]);
    const cut = kthCut(v, 2);
    expect([...v].filter((x) => x > cut)).toEqual([8, 8, 8, 8]);
  });
});
