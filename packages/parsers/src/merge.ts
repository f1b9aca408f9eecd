import { isRecord, type Rec } from './util.ts';

/**
 * Deep merge of plain objects into `base` (later wins; undefined values skipped); arrays and
 * scalars are replaced, not merged. In place: `base` must be the caller's own, every object in
 * it that `layer` reaches included (a mapper's draft, built per line), so no level is copied.
 * An object with an own `__proto__` key is the exception: it is merged into a copy made by
 * Object.assign, which hands that key to the prototype setter, as a copying merge always did.
 */
export function mergeInto<T extends Rec>(base: T, layer: Rec): T {
  const out: Rec = Object.hasOwn(base, '__proto__') ? Object.assign({}, base) : base;
  for (const k in layer) {
    const v = layer[k];
    if (v === undefined) continue;
    const prev = out[k];
    out[k] = isRecord(prev) && isRecord(v) ? mergeInto(prev, v) : v;
  }
  return out as T;
}
