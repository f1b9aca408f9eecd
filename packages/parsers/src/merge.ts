import { isRecord, type Rec } from './util.ts';

/** Deep merge of plain objects (later wins); arrays and scalars are replaced, not merged. */
export function deepMerge<T extends Rec>(base: T, layer: Rec): T {
  const out: Rec = Object.assign({}, base);
  for (const k in layer) {
    const v = layer[k];
    if (v === undefined) continue;
    const prev = out[k];
    out[k] = isRecord(prev) && isRecord(v) ? deepMerge(prev, v) : v;
  }
  return out as T;
}
