import { createHash } from 'node:crypto';

/** 128-bit hex digest of the parts, joined unambiguously. */
export function stableId(...parts: (string | number | undefined | null)[]): string {
  const h = createHash('sha256');
  for (const p of parts) {
    const s = p === undefined || p === null ? '\u0000' : String(p);
    h.update(`${s.length}:${s}|`);
  }
  return h.digest('hex').slice(0, 32);
}

/** An event's id: its dataset and the exact original record. */
export const eventId = (dataset: string, original: string): string => stableId('event', dataset, original);

/**
 * An alert's id: the detector, its rule and the grouping key (for instance the source address
 * and the window start). The same evidence always yields the same id, so at-least-once
 * delivery upserts instead of duplicating.
 */
export const alertId = (detector: string, ruleId: string, groupKey: string): string => stableId('alert', detector, ruleId, groupKey);
