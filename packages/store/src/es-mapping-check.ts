import type { estypes } from '@elastic/elasticsearch';
import { IpAddress, Timestamp } from '@soc/schema';

/**
 * What Elasticsearch would refuse in a document under a mapping, checked offline: fields the
 * strict mapping does not know, and values its field types cannot index (`ip`, `date`, the
 * integer widths, `double`, keyword terms over Lucene's 32,766-byte limit, `flattened` leaves).
 * Tests use it to prove that whatever ingest validation lets through, the index accepts.
 */

const MAX_TERM_BYTES = 32_766;
const INT_RANGE: Record<string, [number, number]> = {
  byte: [-128, 127],
  short: [-32_768, 32_767],
  integer: [-2_147_483_648, 2_147_483_647],
  long: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

type Property = estypes.MappingProperty & { type?: string; properties?: Record<string, estypes.MappingProperty> };

function termOk(v: unknown): boolean {
  return typeof v === 'string' && Buffer.byteLength(v) <= MAX_TERM_BYTES;
}

function leafViolation(type: string, v: unknown): string | undefined {
  switch (type) {
    case 'keyword':
      return termOk(v) ? undefined : 'not a keyword term';
    case 'text':
    case 'match_only_text':
      // Every token is one term; the longest possible token is the whole string.
      return typeof v === 'string' && Buffer.byteLength(v) <= MAX_TERM_BYTES ? undefined : 'not indexable text';
    case 'ip':
      return typeof v === 'string' && IpAddress.safeParse(v).success ? undefined : 'not an ip';
    case 'date':
      return typeof v === 'string' && Timestamp.safeParse(v).success ? undefined : 'not a date';
    case 'double':
    case 'float':
      return typeof v === 'number' && Number.isFinite(v) ? undefined : 'not a finite number';
    case 'boolean':
      return typeof v === 'boolean' ? undefined : 'not a boolean';
    default: {
      const range = INT_RANGE[type];
      if (!range) return `unchecked type ${type}`;
      return typeof v === 'number' && Number.isInteger(v) && v >= range[0] && v <= range[1] ? undefined : `not a ${type}`;
    }
  }
}

function flattenedViolations(v: unknown, path: string, out: string[]): void {
  if (Array.isArray(v)) return v.forEach((x) => flattenedViolations(x, path, out));
  if (typeof v === 'object' && v !== null) {
    for (const [k, x] of Object.entries(v)) {
      if (k === '') out.push(`${path}: empty key`);
      flattenedViolations(x, `${path}.${k}`, out);
    }
    return;
  }
  if (v === null) return;
  if (!termOk(String(v))) out.push(`${path}: flattened leaf too long`);
}

function walk(value: unknown, prop: Property, path: string, out: string[]): void {
  if (value === undefined || value === null) return;
  if (Array.isArray(value)) return value.forEach((v) => walk(v, prop, path, out));
  if (prop.type === 'flattened') return flattenedViolations(value, path, out);
  if (prop.properties || prop.type === 'object' || prop.type === undefined) {
    if (typeof value !== 'object') {
      out.push(`${path}: object expected`);
      return;
    }
    objectViolations(value as Record<string, unknown>, prop.properties ?? {}, path, out);
    return;
  }
  const v = leafViolation(prop.type, value);
  if (v) out.push(`${path}: ${v} (${JSON.stringify(value).slice(0, 60)})`);
  const sub = (prop as { fields?: Record<string, Property> }).fields;
  for (const [name, f] of Object.entries(sub ?? {})) {
    const limit = (f as { ignore_above?: number }).ignore_above;
    if (typeof value === 'string' && limit !== undefined && value.length > limit) continue;
    walk(value, f, `${path}.${name}`, out);
  }
}

function objectViolations(doc: Record<string, unknown>, props: Record<string, estypes.MappingProperty>, path: string, out: string[]): void {
  for (const [k, v] of Object.entries(doc)) {
    const p = props[k] as Property | undefined;
    const at = path ? `${path}.${k}` : k;
    if (!p) out.push(`${at}: not in the strict mapping`);
    else walk(v, p, at, out);
  }
}

/** Every reason Elasticsearch would refuse `doc` under `mapping` (empty: it would index it). */
export function esMappingViolations(doc: Record<string, unknown>, mapping: estypes.MappingTypeMapping): string[] {
  const out: string[] = [];
  objectViolations(doc, mapping.properties ?? {}, '', out);
  return out;
}
