import { Alert, decodeJson } from '@soc/schema';
import { canonicalize, createEnvelope, decideOutbound, isReceived, uuidv5, SOC_NAMESPACE, type Envelope } from '@soc/federation';
import type { FederationContext } from './context.ts';
import type { Outcome } from './outcome.ts';

export interface OutboundPlan {
  envelopes: Envelope[];
  outcomes: Outcome[];
}

/**
 * The message id of a shared alert is derived from what is shared (origin + sanitised payload):
 * a batch redelivered after a crash produces the same ids, and partners drop the copies as
 * replays instead of counting them again. A changed alert is new content, hence a new id.
 */
export const outboundMessageId = (self: string, payload: Alert): string => uuidv5(SOC_NAMESPACE, `federation-message|${self}|${canonicalize(payload)}`);

/**
 * Decides, for each record of the local alert topic, whether it leaves and signs what does.
 * Partner alerts are not ours to originate: relaying them needs the signed envelope, which only
 * the inbound side holds, so they are decided there (see planInbound).
 */
export function planOutbound(values: readonly string[], ctx: FederationContext, now: Date = new Date()): OutboundPlan {
  const plan: OutboundPlan = { envelopes: [], outcomes: [] };
  for (const value of values) {
    const d = decodeJson(Alert, value, 'alert');
    if (!d.ok) {
      // The indexer dead-letters the same record with its reason; here it is only counted.
      plan.outcomes.push({ direction: 'out', outcome: 'not_shared', reason: 'invalid_alert' });
      continue;
    }
    if (isReceived(d.value, ctx.self)) continue;
    const decision = decideOutbound(d.value, ctx.policy, { self: ctx.self });
    if (!decision.share) {
      plan.outcomes.push({ direction: 'out', outcome: 'not_shared', reason: decision.reason });
      continue;
    }
    plan.envelopes.push(createEnvelope(decision.alert, ctx.signer, { now, messageId: outboundMessageId(ctx.self.id, decision.alert) }));
    plan.outcomes.push({ direction: 'out', outcome: 'shared', reason: decision.alert.tlp });
  }
  return plan;
}
