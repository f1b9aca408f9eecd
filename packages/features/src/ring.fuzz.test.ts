import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CountTable } from './ring.ts';

/**
 * CountTable against a Map of counts: after every update each key of the domain reads the same,
 * whatever the order of adds and removals, the collisions of a small table, and odd keys (±0, NaN,
 * fractions, beyond 32 bits, negative) that a Map compares by SameValueZero.
 */
const KEYS = [0, -0, 1, 8, 16, 24, 40000, 40001, 55555, 65535, NaN, 1.5, -3, 2 ** 40, 2 ** 40 + 8];

describe('CountTable', () => {
  it('reads as a Map of counts after any sequence of adds and removals of what was added', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.array(fc.tuple(fc.boolean(), fc.nat(KEYS.length - 1), fc.nat()), { maxLength: 200 }), (maxKeys, ops) => {
        const table = new CountTable(maxKeys);
        const want = new Map<number, number>();
        // Like a connection window: at most maxKeys entries live; any of them may leave.
        const live: number[] = [];
        for (const [add, k, pick] of ops) {
          if (add && live.length < maxKeys) {
            const key = KEYS[k]!;
            live.push(key);
            table.add(key, 1);
            want.set(key, (want.get(key) ?? 0) + 1);
          } else if (live.length > 0) {
            const [key] = live.splice(pick % live.length, 1) as [number];
            table.add(key, -1);
            const v = want.get(key)! - 1;
            if (v === 0) want.delete(key);
            else want.set(key, v);
          }
          for (const key of KEYS) expect(table.get(key)).toBe(want.get(key) ?? 0);
        }
      }),
    );
  });
});
