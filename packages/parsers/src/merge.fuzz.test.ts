import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mergeInto } from './merge.ts';
import { compact, isRecord, type Rec } from './util.ts';

/**
 * `compact` copies on write and `mergeInto` merges in place: what they give must serialise
 * exactly as the allocating definitions they replaced (written out here as the oracle), on
 * trees with undefined values, empty objects, arrays, and the keys that make plain objects
 * odd (`__proto__` as an own key, as JSON.parse makes it; `constructor`; integer-like keys).
 */

/** The allocating compact: a fresh copy of everything, as the parsers did before. */
function copyingCompact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(copyingCompact);
  return isRecord(value) ? (copyingCompactRecord(value) ?? {}) : value;
}
function copyingCompactRecord(value: Rec): Rec | undefined {
  const out: Rec = {};
  let empty = true;
  for (const k in value) {
    const v = value[k];
    if (v === undefined) continue;
    if (isRecord(v)) {
      const c = copyingCompactRecord(v);
      if (c === undefined) continue;
      out[k] = c;
    } else out[k] = Array.isArray(v) ? v.map(copyingCompact) : v;
    empty = false;
  }
  return empty ? undefined : out;
}

/** The copying deep merge the mappers used before. */
function copyingMerge(base: Rec, layer: Rec): Rec {
  const out: Rec = Object.assign({}, base);
  for (const k in layer) {
    const v = layer[k];
    if (v === undefined) continue;
    const prev = out[k];
    out[k] = isRecord(prev) && isRecord(v) ? copyingMerge(prev, v) : v;
  }
  return out;
}

const UNDEFINED = '\u0000undefined';
/** JSON text of a tree (so that `__proto__` becomes an own key when parsed), undefined spelt as a marker. */
const tree = fc.letrec<{ node: unknown }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small' },
    fc.constantFrom(UNDEFINED, null, 0, 1.5, '', 'x', true),
    fc.array(tie('node'), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom('a', 'b', 'c', '__proto__', 'constructor', '0', '10', 'flow', 'eve'), tie('node'), { maxKeys: 4 }),
  ),
})).node;

/** Parses the tree's text, turning the markers into undefined values (kept as own keys). */
function build(value: unknown): unknown {
  const revive = (v: unknown): unknown => {
    if (v === UNDEFINED) return undefined;
    if (Array.isArray(v)) return v.map(revive);
    if (isRecord(v)) for (const k of Object.keys(v)) Object.defineProperty(v, k, { value: revive(v[k]), enumerable: true, writable: true, configurable: true });
    return v;
  };
  return revive(JSON.parse(JSON.stringify(value)));
}

describe('copy-on-write compact and in-place merge, against the allocating definitions', () => {
  it('compact serialises as the copying compact did', () => {
    fc.assert(
      fc.property(tree, (t) => {
        expect(JSON.stringify(compact(build(t)))).toBe(JSON.stringify(copyingCompact(build(t))));
      }),
      { numRuns: Math.max(2000, Number(process.env.FUZZ_RUNS ?? 100)) },
    );
  });

  it('compact never changes its input, and its output is compact', () => {
    fc.assert(
      fc.property(tree, (t) => {
        // An own __proto__ key becomes the copy's prototype, whose keys a second pass would list.
        fc.pre(!JSON.stringify(t).includes('"__proto__"'));
        const input = build(t);
        const before = JSON.stringify(input);
        const once = compact(input);
        expect(JSON.stringify(input)).toBe(before);
        expect(JSON.stringify(compact(once))).toBe(JSON.stringify(once));
      }),
      { numRuns: Math.max(1000, Number(process.env.FUZZ_RUNS ?? 100)) },
    );
  });

  it('what mappers build (no undefined, no empty object) is returned as it is, not copied', () => {
    const draft = { event: { kind: 'event', category: ['network'] }, zeek: { connection: { state: 'SF', history: 'ShADadFf' } }, related: { ip: ['10.0.0.1'] } };
    expect(compact(draft)).toBe(draft);
    expect(compact({ ...draft, source: { ip: undefined } })).toEqual(draft);
  });

  it('an own __proto__ key and inherited keys come out as they always did', () => {
    const text = '{"a":1,"__proto__":{"inherited":2},"flow":{"__proto__":{"x":3},"b":4}}';
    const fresh = (): Rec => ({ eve: JSON.parse(text) as Rec });
    const layer = { eve: { flow: { conn_state: 'SF' } } };
    const merged = JSON.stringify(compact(mergeInto(fresh(), layer)));
    expect(merged).toBe(JSON.stringify(copyingCompact(copyingMerge(fresh(), layer))));
    expect(merged).toBe('{"eve":{"a":1,"flow":{"b":4,"conn_state":"SF","x":3},"inherited":2}}');
  });

  it('an enumerable key on Object.prototype is copied in as for…in always did (no per-key own check skipped wrongly)', () => {
    const draft = (): Rec => ({ event: { kind: 'event' }, zeek: { connection: { state: 'SF' } }, tags: [{ a: 1 }] });
    Object.defineProperty(Object.prototype, 'polluted', { value: 'p', enumerable: true, configurable: true, writable: true });
    try {
      expect(JSON.stringify(compact(draft()))).toBe(JSON.stringify(copyingCompact(draft())));
      expect(JSON.stringify(compact(draft()))).toContain('"polluted":"p"');
    } finally {
      delete (Object.prototype as Rec).polluted;
    }
  });

  it('the generated trees do hold own __proto__ keys and undefined values', () => {
    const samples = fc.sample(tree, { numRuns: 500, seed: 7 }).map((t) => JSON.stringify(t));
    expect(samples.some((s) => s.includes('"__proto__"'))).toBe(true);
    expect(samples.some((s) => s.includes(JSON.stringify(UNDEFINED)))).toBe(true);
  });

  it('mergeInto, then compact, serialises as the copying merge did', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom('a', 'b', 'eve', 'flow', '__proto__'), tree, { maxKeys: 4 }), fc.dictionary(fc.constantFrom('a', 'b', 'eve', 'flow'), tree, { maxKeys: 4 }), (b, l) => {
        const reference = JSON.stringify(copyingCompact(copyingMerge(build(b) as Rec, build(l) as Rec)));
        expect(JSON.stringify(compact(mergeInto(build(b) as Rec, build(l) as Rec)))).toBe(reference);
      }),
      { numRuns: Math.max(2000, Number(process.env.FUZZ_RUNS ?? 100)) },
    );
  });
});
