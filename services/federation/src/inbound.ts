import { makeDeadLetter, type Alert, type DeadLetter } from '@soc/schema';
import { PSEUDONYM_RE, decideOutbound, relayEnvelope, verifyInbound, type Envelope, type ReplayCache } from '@soc/federation';
import type { FederationContext } from './context.ts';
import type { Outcome } from './outcome.ts';

export interface InboundRecord {
  /** Where it was read, for the dead letter: `topic/partition@offset`. */
  source: string;
  value: string;
}

export interface InboundPlan {
  /** Accepted partner alerts, as stored here (for the local alert topic). */
  alerts: Alert[];
  /** Quarantined envelopes with their reason code (for the local dead-letter topic). */
  deadLetters: DeadLetter[];
  /** Accepted envelopes this SOC forwards, with its relay signature (for the federation topic). */
  relays: Envelope[];
  outcomes: Outcome[];
}

/**
 * A redelivery or a second relay path of a message we already have, or our own message coming
 * back around a ring: expected consequences of an at-least-once, relaying transport, not attacks.
 * Counted, not quarantined, so the dead-letter topic stays a list of things to look at.
 */
const DUPLICATE_REASONS = new Set(['replay', 'loop']);

/**
 * A partner pseudonymises our-side-of-their-network addresses as `pseudo-…`, deliberately not
 * IP-shaped, so the alert stores (which type `source.ip`/`destination.ip` as addresses) would
 * refuse them. Locally the pseudonym moves to a label (`destination.pseudonym`) and the address
 * field is left empty; the signed envelope is not touched.
 */
export function storableAlert(alert: Alert): Alert {
  const labels: Record<string, string> = { ...alert.labels };
  const out: Alert = { ...alert };
  for (const side of ['source', 'destination'] as const) {
    const ep = alert[side];
    if (!ep?.ip || !PSEUDONYM_RE.test(ep.ip)) continue;
    labels[`${side}.pseudonym`] = ep.ip;
    const { ip: _pseudonym, ...rest } = ep;
    out[side] = rest;
  }
  return { ...out, labels };
}

/** Who put the envelope on the topic: the last relay, else the origin. Undefined if unreadable. */
function sender(raw: unknown): string | undefined {
  const path = (raw as { path?: unknown } | null)?.path;
  return Array.isArray(path) && typeof path.at(-1) === 'string' ? (path.at(-1) as string) : undefined;
}

/**
 * Verifies each envelope from the federation topic. Accepted ones become local alerts (and relays
 * when the policy forwards them); rejected ones become dead letters carrying the reason code and
 * the raw envelope. Our own sends echo back on the shared topic and are skipped: they are not
 * received messages.
 */
export function planInbound(records: readonly InboundRecord[], ctx: FederationContext, replay: ReplayCache, now: () => number = Date.now): InboundPlan {
  const plan: InboundPlan = { alerts: [], deadLetters: [], relays: [], outcomes: [] };
  const quarantine = (r: InboundRecord, reason: string, message: string) => {
    plan.deadLetters.push(makeDeadLetter('federation', r.source, `${reason}: ${message}`, r.value));
    plan.outcomes.push({ direction: 'in', outcome: 'rejected', reason });
  };
  for (const r of records) {
    let raw: unknown;
    try {
      raw = JSON.parse(r.value);
    } catch (err) {
      quarantine(r, 'malformed', `not JSON: ${(err as Error).message}`);
      continue;
    }
    if (sender(raw) === ctx.self.id) continue;
    const v = verifyInbound(raw, { self: ctx.self, trust: ctx.trust, replay, now, hopLimit: ctx.policy.relay.hopLimit });
    if (!v.ok) {
      if (DUPLICATE_REASONS.has(v.reason)) plan.outcomes.push({ direction: 'in', outcome: 'duplicate', reason: v.reason });
      else quarantine(r, v.reason, v.message);
      continue;
    }
    plan.alerts.push(storableAlert(v.alert));
    plan.outcomes.push({ direction: 'in', outcome: 'accepted', reason: v.envelope.origin.id });
    const relay = decideOutbound(v.alert, ctx.policy, { self: ctx.self });
    // For a received alert the only sharing decideOutbound can make is a relay.
    if (relay.share) {
      plan.relays.push(relayEnvelope(v.envelope, ctx.signer));
      plan.outcomes.push({ direction: 'relay', outcome: 'relayed', reason: v.alert.tlp });
    } else {
      plan.outcomes.push({ direction: 'relay', outcome: 'not_relayed', reason: relay.reason });
    }
  }
  return plan;
}
