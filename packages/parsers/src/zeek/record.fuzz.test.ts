import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalTime } from '../time.ts';
import { isRecord, type Rec } from '../util.ts';
import { inferZeekPath, ZEEK_PATH_RE, zeekRecordFromJson, type RecordOutcome, type ZeekScalar, type ZeekValue } from './record.ts';

/**
 * A Zeek JSON record's fields are a spread copy of the parsed object with the converted values
 * set in place, unless a field is left out or the keys are odd. What comes out must be exactly
 * what the key-by-key definition it replaced gave (written out here as the oracle): the same
 * fields in the same order with the same prototype, or the same rejection, over parsed JSON
 * with writer fields, unset and non-finite values, times good and bad, arrays, nested objects,
 * own `__proto__` keys and integer-like keys.
 */

const TIME = new Set(['ts', 'till', 'from', 'ref_time', 'org_time', 'rec_time', 'xmt_time', 'certificate.not_valid_before', 'certificate.not_valid_after']);
const WRITER = new Set(['_path', '_write_ts']);

function oracleValue(key: string, v: unknown): ZeekValue | undefined {
  if (TIME.has(key)) return canonicalTime(v);
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (Array.isArray(v)) return v.filter((x): x is ZeekScalar => typeof x === 'string' || typeof x === 'boolean' || (typeof x === 'number' && Number.isFinite(x)));
  return undefined;
}

function oracleFields(flat: Rec): Record<string, ZeekValue> | string | 'nested' {
  const fields: Record<string, ZeekValue> = {};
  for (const k in flat) {
    const v = flat[k];
    if (isRecord(v)) return 'nested';
    if (WRITER.has(k)) continue;
    const value = oracleValue(k, v);
    if (value !== undefined) fields[k] = value;
    else if (TIME.has(k) && v !== null) return `zeek: field ${k} is not a time: ${JSON.stringify(v).slice(0, 64)}`;
  }
  return fields;
}

function flattenOracle(obj: Rec, prefix: string, out: Rec): void {
  for (const k in obj) {
    const v = obj[k];
    const key = prefix ? `${prefix}.${k}` : k;
    if (isRecord(v)) flattenOracle(v, key, out);
    else out[key] = v;
  }
}

function oracle(obj: Rec, hint?: string): RecordOutcome {
  let flat = obj;
  let fields = oracleFields(obj);
  if (fields === 'nested') {
    flattenOracle(obj, '', (flat = {}));
    fields = oracleFields(flat) as Record<string, ZeekValue> | string;
  }
  const path = (typeof flat._path === 'string' ? flat._path : undefined) ?? hint ?? inferZeekPath(flat) ?? 'unknown';
  if (!ZEEK_PATH_RE.test(path)) return { ok: false, reason: `zeek: invalid log path ${JSON.stringify(path.slice(0, 64))}` };
  return typeof fields === 'string' ? { ok: false, reason: fields } : { ok: true, record: { path, fields } };
}

/** Same outcome: same reason, or fields with the same keys in the same order, values and prototypes. */
function expectSame(text: string, hint?: string): void {
  const got = zeekRecordFromJson(JSON.parse(text) as Rec, hint);
  const want = oracle(JSON.parse(text) as Rec, hint);
  if (!got.ok || !want.ok) return void expect(got).toEqual(want);
  expect(got.record.path).toBe(want.record.path);
  const keys = (o: object) => { const ks: string[] = []; for (const k in o) ks.push(k); return ks; };
  expect(keys(got.record.fields)).toEqual(keys(want.record.fields));
  expect(JSON.stringify(got.record.fields)).toBe(JSON.stringify(want.record.fields));
  // Own values strictly equal; the prototype too (an own `__proto__` array became a fresh one in both).
  expect(isDeepStrictEqual({ ...got.record.fields }, { ...want.record.fields })).toBe(true);
  expect(isDeepStrictEqual(Object.getPrototypeOf(got.record.fields), Object.getPrototypeOf(want.record.fields))).toBe(true);
}

const scalar = fc.oneof(
  fc.constantFrom(null, '', 'x', true, false, 0, -1, 1.5, 1793534400.000123, '1793534400.5', '2026-11-01T12:00:00Z', 'yesterday', '2026-02-30T00:00:00Z'),
  fc.double(),
  fc.string({ maxLength: 4 }),
);
const KEYS = ['ts', 'uid', 'id.orig_h', 'proto', 'conn_state', 'history', 'query', 'till', 'answers', '_path', '_write_ts', '__proto__', 'constructor', '0', '7', 'note'];
/** JSON text of a record (so `__proto__` is an own key, as JSON.parse makes it); 1e400 in it parses to Infinity. */
const record = fc
  .array(fc.tuple(fc.constantFrom(...KEYS), fc.oneof(scalar, fc.array(scalar, { maxLength: 3 }), fc.dictionary(fc.constantFrom('a', 'orig_h', '__proto__'), scalar, { maxKeys: 2 }), fc.constant('\u0000inf'))), { maxLength: 8 })
  .map((entries) => `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v === '\u0000inf' ? '1e400' : JSON.stringify(v)}`).join(',')}}`);

describe('Zeek JSON record fields, against the key-by-key definition', () => {
  it('the same fields in the same order, or the same rejection', () => {
    fc.assert(
      fc.property(record, fc.constantFrom(undefined, 'conn', 'dns'), (text, hint) => expectSame(text, hint)),
      { numRuns: Math.max(3000, Number(process.env.FUZZ_RUNS ?? 100)) },
    );
  });

  it('the generated records take both ways: spread copy and key-by-key copy', () => {
    const samples = fc.sample(record, { numRuns: 500, seed: 11 });
    const plain = samples.filter((s) => !/"(_path|_write_ts|__proto__)"|null|1e400/.test(s) && !s.includes('{"a"'));
    expect(plain.length).toBeGreaterThan(20);
    expect(samples.filter((s) => s.includes('"__proto__"')).length).toBeGreaterThan(20);
    expect(samples.filter((s) => /null|1e400|"_path"/.test(s)).length).toBeGreaterThan(20);
  });

  it('cases the random ones may miss: converted times and arrays, left-out fields, odd keys', () => {
    const conn = '{"ts":1793534400.5,"uid":"C1","id.orig_h":"10.0.0.1","proto":"tcp","answers":["a",1,null,true,1e400],"conn_state":"SF"}';
    expectSame(conn);
    expectSame(conn.replace('{', '{"_path":"conn",'));
    expectSame(conn.replace('{', '{"a":null,'));
    expectSame(conn.replace('{', '{"__proto__":{"x":1},'));
    expectSame(conn.replace('{', '{"__proto__":["p"],'));
    expectSame(conn.replace('{', '{"__proto__":"s",'));
    expectSame(conn.replace('{', '{"9":"b","1":"a",'));
    expectSame(conn.replace('"ts":1793534400.5', '"ts":"soon"'));
    expectSame(conn.replace('"proto":"tcp"', '"id":{"resp_h":"10.0.0.2","__proto__":{"y":2}}'));
    // Nested, so flattened: the `__proto__` array becomes the prototype, whose "0" for…in visits (found by the property above).
    expectSame('{"ts":{},"uid":"C1","__proto__":["x"]}');
    // The fields are a copy: the parsed object itself is left as it was.
    const obj = JSON.parse(conn) as Rec;
    const r = zeekRecordFromJson(obj);
    expect(r.ok && r.record.fields).not.toBe(obj);
    expect(obj.ts).toBe(1793534400.5);
  });

  it('an enumerable key on Object.prototype is visited as for…in always did', () => {
    const text = '{"ts":1793534400,"uid":"C1","conn_state":"SF"}';
    Object.defineProperty(Object.prototype, 'polluted', { value: 'p', enumerable: true, configurable: true, writable: true });
    try {
      expectSame(text);
      const r = zeekRecordFromJson(JSON.parse(text) as Rec);
      expect(r.ok && Object.hasOwn(r.record.fields, 'polluted')).toBe(true);
    } finally {
      delete (Object.prototype as Rec).polluted;
    }
  });
});
