import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CountTable } from './ring.ts';

/**
 * CountTable against a Map of counts: after every update every key seen reads the same, whatever
 * the order of adds and removals, the collisions and growth of the table, and odd keys (±0, NaN,
 * fractions, beyond 32 bits, negative) that a Map compares by SameValueZero.
 */
const ODD = [0, -0, 1, 8, 16, 24, 40000, 55555, 65535, NaN, 1.5, -3, 2 ** 40, 2 ** 40 + 8];
const key = fc.oneof(fc.constantFrom(...ODD), fc.integer({ min: 0, max: 70_000 }), fc.integer({ min: 0, max: 40 }).map((i) => 1024 * i));

describe('CountTable', () => {
  it('reads as a Map of counts after any sequence of adds and removals of what was added', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60 }), fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), key, fc.nat()), { maxLength: 300 }), (maxLive, ops) => {
        const table = new CountTable();
        const want = new Map<number, number>();
        const seen = new Set<number>(ODD);
        // Like a connection window: at most maxLive entries live; any of them may leave.
        const live: number[] = [];
        for (const [op, k, pick] of ops) {
          seen.add(k);
          if (op > 0 && live.length < maxLive) {
            live.push(k);
            table.add(k, 1);
            want.set(k, (want.get(k) ?? 0) + 1);
          } else if (live.length > 0) {
            const [gone] = live.splice(pick % live.length, 1) as [number];
            table.add(gone, -1);
            const v = want.get(gone)! - 1;
            if (v === 0) want.delete(gone);
            else want.set(gone, v);
          }
          for (const s of seen) expect(table.get(s)).toBe(want.get(s) ?? 0);
        }
      }),
    );
  });
});
