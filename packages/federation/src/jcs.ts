import { ValidationError } from '@soc/errors';

/**
 * RFC 8785 JSON Canonicalization Scheme. Signatures are computed over these bytes, so sender and
 * receiver agree on one serialisation whatever their JSON library's key order or whitespace.
 *
 * - object keys sorted by UTF-16 code units (what `Array.prototype.sort` does without a comparator);
 * - numbers in ECMAScript `Number.prototype.toString` form (what `JSON.stringify` emits);
 * - strings with JSON.stringify's minimal escaping; lone surrogates are refused (RFC 8785 §3.2.2.2
 *   requires valid Unicode);
 * - no whitespace. `undefined` members are omitted as in JSON.
 */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function canonicalize(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new ValidationError(`JCS: ${value} is not representable in JSON`);
      return JSON.stringify(value);
    case 'string':
      if (LONE_SURROGATE.test(value)) throw new ValidationError('JCS: string contains a lone surrogate');
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((v) => canonicalize(v === undefined ? null : v)).join(',')}]`;
      const obj = value as Record<string, unknown>;
      const members: string[] = [];
      for (const key of Object.keys(obj).sort()) {
        const v = obj[key];
        if (v === undefined) continue;
        members.push(`${canonicalize(key)}:${canonicalize(v)}`);
      }
      return `{${members.join(',')}}`;
    }
    default:
      throw new ValidationError(`JCS: cannot serialise a ${typeof value}`);
  }
}

export const canonicalBytes = (value: unknown): Buffer => Buffer.from(canonicalize(value), 'utf8');
