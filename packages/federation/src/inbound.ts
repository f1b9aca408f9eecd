import { isDeepStrictEqual } from 'node:util';
import { ValidationError } from '@soc/errors';
import { Alert, stableId } from '@soc/schema';
import { Envelope, originSigningBytes, relaySigningBytes } from './envelope.ts';
import { verifyBytes, type SocIdentity } from './keys.ts';
import type { ReplayCache } from './replay.ts';
import type { TrustStore, TrustedKey } from './trust.ts';

export const REJECT_REASONS = ['malformed', 'unknown_origin', 'bad_signature', 'relay_not_allowed', 'loop', 'hop_limit', 'stale', 'replay'] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

export const DEFAULT_WINDOW_MS = 10 * 60_000;
export const DEFAULT_HOP_LIMIT = 3;

export interface InboundContext {
  self: SocIdentity;
  trust: TrustStore;
  replay: ReplayCache;
  /** Clock in ms; injectable so tests and replays of old traffic are deterministic. */
  now?: () => number;
  /** Accepted clock difference between the origin's timestamp and now, either way. */
  windowMs?: number;
  /** Most relays an envelope may have gone through. */
  hopLimit?: number;
}

export type InboundResult =
  | { ok: true; alert: Alert; envelope: Envelope }
  | { ok: false; reason: RejectReason; message: string; message_id?: string };

/** The local id of a partner's alert: the same partner alert always lands on the same row. */
export const federatedAlertId = (origin: string, alertId: string): string => stableId('federated', origin, alertId);

type Check = { reason: RejectReason; message: string } | undefined;

/** The signed bytes, or the reason they cannot exist: JCS refuses what has no canonical form (a lone surrogate, a non-finite number). */
function signingBytes(make: () => Buffer): Buffer | { reason: 'malformed'; message: string } {
  try {
    return make();
  } catch (err) {
    if (err instanceof ValidationError) return { reason: 'malformed', message: `not canonicalisable, so no signature can verify: ${err.message}` };
    throw err;
  }
}

function checkOriginSignature(raw: Record<string, unknown>, e: Envelope, partner: TrustedKey): Check {
  if (e.signature.key_id !== partner.keyId) return { reason: 'bad_signature', message: `signed with key ${e.signature.key_id}, trust list has ${partner.keyId} for ${partner.id}` };
  // Over the raw object, not zod's output: parsing fills defaults and strips unknown keys.
  const bytes = signingBytes(() => originSigningBytes(raw as Parameters<typeof originSigningBytes>[0]));
  if (!Buffer.isBuffer(bytes)) return bytes;
  if (!verifyBytes(bytes, e.signature.value, partner.key)) return { reason: 'bad_signature', message: `origin signature of ${partner.id} does not verify (forged or tampered)` };
  return undefined;
}

function checkRelayChain(e: Envelope, trust: TrustStore): Check {
  if (e.hops !== e.relays.length || !isDeepStrictEqual(e.path, [e.origin.id, ...e.relays.map((r) => r.by)])) {
    return { reason: 'malformed', message: 'hops/path do not match the relay chain' };
  }
  let prev = e.signature.value;
  for (const [i, r] of e.relays.entries()) {
    const relayer = trust.get(r.by);
    if (!relayer) return { reason: 'unknown_origin', message: `relay ${r.by} is not in the trust list` };
    if (r.key_id !== relayer.keyId) return { reason: 'bad_signature', message: `relay ${r.by} signed with unknown key ${r.key_id}` };
    const bytes = signingBytes(() => relaySigningBytes({ message_id: e.message_id, origin_id: e.origin.id, by: r.by, hops: i + 1, path: e.path.slice(0, i + 2), prev }));
    if (!Buffer.isBuffer(bytes)) return bytes;
    if (!verifyBytes(bytes, r.value, relayer.key)) return { reason: 'bad_signature', message: `relay signature of ${r.by} does not verify` };
    prev = r.value;
  }
  const sender = e.relays.at(-1);
  if (sender && !trust.get(sender.by)?.allowRelayFrom) return { reason: 'relay_not_allowed', message: `relayed by ${sender.by}, which may not relay to us` };
  return undefined;
}

/**
 * Decides whether a partner's envelope is accepted, and if so returns the alert as stored here.
 * Order matters: nothing is remembered in the replay cache until the signatures verify, so a
 * forger cannot burn a genuine message id in advance.
 */
export function verifyInbound(input: unknown, ctx: InboundContext): InboundResult {
  const now = (ctx.now ?? Date.now)();
  const windowMs = ctx.windowMs ?? DEFAULT_WINDOW_MS;
  const hopLimit = ctx.hopLimit ?? DEFAULT_HOP_LIMIT;
  const reject = (reason: RejectReason, message: string, message_id?: string): InboundResult => ({ ok: false, reason, message, ...(message_id ? { message_id } : {}) });

  const parsed = Envelope.safeParse(input);
  if (!parsed.success) return reject('malformed', parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  const e = parsed.data;
  const raw = input as Record<string, unknown>;
  const id = e.message_id;
  if (e.payload.origin.soc !== e.origin.id) return reject('malformed', `payload origin ${e.payload.origin.soc} differs from envelope origin ${e.origin.id}`, id);
  if (e.payload.tlp !== e.tlp) return reject('malformed', `payload TLP ${e.payload.tlp} differs from envelope TLP ${e.tlp}`, id);

  const partner = ctx.trust.get(e.origin.id);
  if (!partner) return reject('unknown_origin', `origin ${e.origin.id} is not in the trust list`, id);
  const failed = checkOriginSignature(raw, e, partner) ?? checkRelayChain(e, ctx.trust);
  if (failed) return reject(failed.reason, failed.message, id);
  if (e.tlp === 'RED') return reject('malformed', 'TLP:RED must never be federated', id);

  if (e.path.includes(ctx.self.id)) return reject('loop', `${ctx.self.id} already handled this message (path ${e.path.join(' > ')})`, id);
  if (e.hops > hopLimit) return reject('hop_limit', `${e.hops} hops exceeds the limit of ${hopLimit}`, id);
  const ts = Date.parse(e.timestamp);
  if (Math.abs(now - ts) > windowMs) return reject('stale', `timestamp ${e.timestamp} is outside ±${windowMs / 1000}s of now`, id);
  const replayKey = `${e.origin.id}/${id}`;
  if (ctx.replay.has(replayKey, now)) return reject('replay', `message ${id} from ${e.origin.id} was already accepted`, id);
  ctx.replay.add(replayKey, ts + windowMs);

  return { ok: true, envelope: e, alert: toLocalAlert(e, new Date(now).toISOString()) };
}

/** The partner's alert as stored here: its origin kept, our triage state fresh, provenance recorded. */
export function toLocalAlert(e: Envelope, receivedAt: string): Alert {
  const { links: _partnerLinks, ...payload } = e.payload;
  return {
    ...payload,
    id: federatedAlertId(e.origin.id, e.payload.id),
    origin: { soc: e.origin.id, country: e.origin.country, name: e.origin.name },
    status: 'new',
    federation: { message_id: e.message_id, received_at: receivedAt, hops: e.hops, path: e.path },
    labels: { ...payload.labels, 'federation.partner_alert_id': e.payload.id },
  };
}
