import type { Metrics } from '@soc/telemetry';

/**
 * One counted federation decision: `soc_federation_messages_total{direction,outcome,reason}`.
 * Every local alert considered for sharing and every envelope received ends as exactly one outcome, so nothing
 * leaves or disappears without a count.
 */
export interface Outcome {
  direction: 'out' | 'in' | 'relay';
  outcome: 'shared' | 'not_shared' | 'accepted' | 'rejected' | 'duplicate' | 'relayed' | 'not_relayed';
  reason: string;
}

export function countOutcomes(metrics: Metrics, outcomes: readonly Outcome[]): void {
  for (const o of outcomes) metrics.federation.inc({ direction: o.direction, outcome: o.outcome, reason: o.reason });
}
