import * as crypto from 'node:crypto';

/**
 * One-shot digest: `crypto.hash` (Node ≥ 20.12) skips the Hash object, which matters at two
 * digests per ingested event; older Node 20 releases take the Hash object path.
 */
export const digest: (algorithm: 'sha1' | 'sha256', data: string | Buffer, encoding: 'hex' | 'base64') => string =
  typeof crypto.hash === 'function'
    ? (algorithm, data, encoding) => crypto.hash(algorithm, data, encoding)
    : (algorithm, data, encoding) => crypto.createHash(algorithm).update(data).digest(encoding);

/** 128-bit hex digest of the parts, joined unambiguously. */
export function stableId(...parts: (string | number | undefined | null)[]): string {
  let text = '';
  for (const p of parts) {
    const s = p === undefined || p === null ? '\u0000' : String(p);
    text += `${s.length}:${s}|`;
  }
  return digest('sha256', text, 'hex').slice(0, 32);
}

/** An event's id: its dataset and the exact original record. */
export const eventId = (dataset: string, original: string): string => stableId('event', dataset, original);

/**
 * An alert's id: the detector, its rule and the grouping key (for instance the source address
 * and the window start). The same evidence always yields the same id, so at-least-once
 * delivery upserts instead of duplicating.
 */
export const alertId = (detector: string, ruleId: string, groupKey: string): string => stableId('alert', detector, ruleId, groupKey);
