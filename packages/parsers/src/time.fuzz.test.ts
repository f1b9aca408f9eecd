import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalEpoch } from './time.ts';

/**
 * A JSON number of seconds is rendered from its toFixed(6) text; a non-negative one skips the
 * regex that takes that text apart. The number must give exactly what its text gives (the
 * regex path), over every double: negative, fractional carries, exponent forms, years past 9999.
 */
describe('canonicalEpoch of a number, against the same text through the regex', () => {
  const same = (v: number): void => {
    expect(canonicalEpoch(v)).toBe(canonicalEpoch(Number.isFinite(v) ? v.toFixed(6) : ''));
  };

  it('any double', () => {
    fc.assert(fc.property(fc.double(), same), { numRuns: Math.max(5000, Number(process.env.FUZZ_RUNS ?? 100)) });
  });

  it('epoch seconds of sensor times (integers and microseconds), and the edges', () => {
    fc.assert(fc.property(fc.integer({ min: -1e11, max: 3e11 }), fc.integer({ min: 0, max: 999_999 }), (s, us) => same(s + us / 1e6)), { numRuns: Math.max(5000, Number(process.env.FUZZ_RUNS ?? 100)) });
    // toFixed rounds up into the next second just below a whole one (1.9999996 → "2.000000").
    fc.assert(fc.property(fc.integer({ min: 0, max: 3e11 }), fc.double({ min: 0, max: 1e-6, noNaN: true }), (s, d) => same(s + 1 - d)), { numRuns: Math.max(5000, Number(process.env.FUZZ_RUNS ?? 100)) });
    for (const v of [0, -0, 0.0000004, 0.0000005, 1.9999995, 1.9999996, 1793534400.9999996, 1793534400, 1793534400.00005, 253402300799.999999, 253402300800, 999999999999.9999, 1e12, 1e20, 1e21, 1e300, -1.25, -0.0000001, Number.MIN_VALUE, NaN, Infinity]) same(v);
    expect(canonicalEpoch(1793534400.00005)).toBe('2026-11-01T12:00:00.000050Z');
    expect(canonicalEpoch(-1.25)).toBe('1969-12-31T23:59:58.750000Z');
  });
});
