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

/** Removes undefined values (and objects left empty) so events carry only what the sensor said. */
export function compact<T>(value: T): T {
  if (Array.isArray(value)) return value.map(compact) as T;
  return isRecord(value) ? ((compactRecord(value) ?? {}) as T) : value;
}

/** The record without undefined values and empty objects; undefined when nothing is left. */
function compactRecord(value: Rec): Rec | undefined {
  const out: Rec = {};
  let empty = true;
  // for…in, not Object.entries: no array per key on the hot path (mapped records are plain objects).
  for (const k in value) {
    const v = value[k];
    if (v === undefined) continue;
    if (isRecord(v)) {
      const c = compactRecord(v);
      if (c === undefined) continue;
      out[k] = c;
    } else out[k] = Array.isArray(v) ? v.map(compact) : v;
    empty = false;
  }
  return empty ? undefined : out;
}

/** Distinct non-empty strings, in first-seen order; undefined when there are none. */
export function distinct(...values: (string | undefined)[]): string[] | undefined {
  const out = [...new Set(values.filter((v): v is string => typeof v === 'string' && v.length > 0))];
  return out.length ? out : undefined;
}

export const outcomeOf = (success: unknown): 'success' | 'failure' | undefined =>
  success === true ? 'success' : success === false ? 'failure' : undefined;

/** Truncates for bounded schema fields, so an over-long value never costs the whole event. */
export const clip = (s: string | undefined, max: number): string | undefined => (s === undefined ? undefined : s.length > max ? s.slice(0, max) : s);
