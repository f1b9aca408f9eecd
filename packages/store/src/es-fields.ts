/**
 * Field paths of an Elasticsearch mapping and of a document, for the tests that hold the stored
 * alert against its mapping and against ECS (ecs_flat.yml). Objects under a `flattened` field,
 * and multi-fields, are one path each.
 */
type Props = Record<string, { type?: string; properties?: Props; fields?: Record<string, unknown> }>;

export function mappedPaths(props: Props, prefix = ''): string[] {
  return Object.entries(props).flatMap(([k, v]) => (v.properties ? mappedPaths(v.properties, `${prefix}${k}.`) : [`${prefix}${k}`]));
}

/** Paths with their mapped type (objects with properties recurse; multi-fields listed as `a.b.sub`). */
export function mappedTypes(props: Props, prefix = ''): [string, string][] {
  return Object.entries(props).flatMap(([k, v]): [string, string][] => {
    if (v.properties) return mappedTypes(v.properties, `${prefix}${k}.`);
    const subs = Object.entries((v.fields ?? {}) as Record<string, { type?: string }>).map(([s, f]): [string, string] => [`${prefix}${k}.${s}`, f.type ?? '']);
    return [[`${prefix}${k}`, v.type ?? 'object'], ...subs];
  });
}

/** Leaf paths of a document: arrays of objects contribute their members' paths; `stop` paths end descent. */
export function leafPaths(doc: unknown, prefix = '', stop: (path: string) => boolean = (p) => /(^|\.)(labels|values)$/.test(p)): string[] {
  if (Array.isArray(doc)) return [...new Set(doc.flatMap((d) => leafPaths(d, prefix, stop)))];
  if (typeof doc !== 'object' || doc === null) return prefix ? [prefix.slice(0, -1)] : [];
  const out: string[] = [];
  for (const [k, v] of Object.entries(doc)) {
    if (v === undefined) continue;
    const path = `${prefix}${k}`;
    if (stop(path) || (Array.isArray(v) && v.every((x) => typeof x !== 'object'))) out.push(path);
    else out.push(...leafPaths(v, `${path}.`, stop));
  }
  return [...new Set(out)];
}
