/** Small helpers shared by the mappers: reading loosely-typed sensor records safely. */

export type Rec = Record<string, unknown>;

export const isRecord = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);

export const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);

export const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** A non-negative integer count (bytes, packets), exact in a double; anything else is dropped rather than rejected. */
export const count = (v: unknown): number | undefined => {
  const n = num(v);
  return n !== undefined && n >= 0 && Number.isSafeInteger(n) ? n : undefined;
};

export const bool = (v: unknown): boolean | undefined => (typeof v === 'boolean' ? v : undefined);

/** A TCP/UDP port, or undefined when the value is none (ICMP type codes fit too). */
export const port = (v: unknown): number | undefined => {
  const n = num(v);
  return n !== undefined && Number.isInteger(n) && n >= 0 && n <= 65535 ? n : undefined;
};

/**
 * Removes undefined values (and objects left empty) so events carry only what the sensor said.
 * Copy on write: what is already compact is returned as it is (no copy), which is what the
 * mappers build on the hot path; only the objects on the way to a change are copied.
 */
export function compact<T>(value: T): T {
  // Object.prototype with an enumerable key (checked once per call) would give every object inherited keys.
  const plainProto = !hasEnumerableKey(Object.prototype);
  if (Array.isArray(value)) return compactArray(value, plainProto) as T;
  return isRecord(value) ? ((compactRecord(value, plainProto) ?? {}) as T) : value;
}

/** Whether for…in over `o` visits any key (of its own or inherited). */
export function hasEnumerableKey(o: object): boolean {
  for (const _ in o) return true;
  return false;
}

function compactArray(value: unknown[], plainProto: boolean): unknown[] {
  let out: unknown[] | undefined;
  for (let i = 0; i < value.length; i++) {
    const v = value[i];
    const c = Array.isArray(v) ? compactArray(v, plainProto) : isRecord(v) ? (compactRecord(v, plainProto) ?? {}) : v;
    if (out === undefined && c !== v) out = value.slice(0, i);
    out?.push(c);
  }
  return out ?? value;
}

/** The record without undefined values and empty objects (itself when it has none); undefined when nothing is left. */
function compactRecord(value: Rec, plainProto: boolean): Rec | undefined {
  let out: Rec | undefined;
  let empty = true;
  // Every key for…in visits is an own key when the prototype is a plain Object.prototype: no
  // Object.hasOwn per key then (mapped records are plain objects).
  const ownOnly = plainProto && Object.getPrototypeOf(value) === Object.prototype;
  // for…in, not Object.entries: no array per key on the hot path (mapped records are plain objects).
  for (const k in value) {
    const v = value[k];
    const c = v === undefined ? undefined : isRecord(v) ? compactRecord(v, plainProto) : Array.isArray(v) ? compactArray(v, plainProto) : v;
    // A copy starts at the first change. An inherited or `__proto__` key also makes one: copying
    // turns the first into an own key and hands the second to the prototype setter, as it always did.
    if (out === undefined && (c !== v || v === undefined || k === '__proto__' || !(ownOnly || Object.hasOwn(value, k)))) out = copyBefore(value, k);
    if (c === undefined) continue;
    if (out !== undefined) out[k] = c;
    empty = false;
  }
  return empty ? undefined : (out ?? value);
}

/** The entries of `value` before key `stop`, every one of them unchanged by compaction. */
function copyBefore(value: Rec, stop: string): Rec {
  const out: Rec = {};
  for (const k in value) {
    if (k === stop) break;
    out[k] = value[k];
  }
  return out;
}

/** Distinct non-empty strings, in first-seen order; undefined when there are none. */
export function distinct(...values: (string | undefined)[]): string[] | undefined {
  let out: string[] | undefined;
  for (const v of values) {
    if (typeof v !== 'string' || v.length === 0) continue;
    if (out === undefined) out = [v];
    else if (!out.includes(v)) out.push(v);
  }
  return out;
}

export const outcomeOf = (success: unknown): 'success' | 'failure' | undefined =>
  success === true ? 'success' : success === false ? 'failure' : undefined;

/** A promotion that carries the value unchanged when it keeps it at all (a field it moved whole can leave the sensor namespace). */
export const whole = (promote: (v: unknown) => unknown) => (v: unknown): boolean => promote(v) === v;

/** Truncates for bounded schema fields, so an over-long value never costs the whole event. */
export const clip = (s: string | undefined, max: number): string | undefined => (s === undefined ? undefined : s.length > max ? s.slice(0, max) : s);
