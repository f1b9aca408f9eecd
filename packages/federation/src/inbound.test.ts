import { describe, expect, it } from 'vitest';
import { createEnvelope, relayEnvelope, type Envelope } from './envelope.ts';
import { federatedAlertId, verifyInbound, type InboundContext } from './inbound.ts';
import { generateKeyPair, type KeyPair, type SocIdentity } from './keys.ts';
import { MemoryReplayCache } from './replay.ts';
import { TrustStore } from './trust.ts';
import { SOC_EE, SOC_LT, SOC_LV, scanAlert, T0 } from './fixtures/alerts.ts';

const keys: Record<string, KeyPair> = { [SOC_EE.id]: generateKeyPair(), [SOC_LV.id]: generateKeyPair(), [SOC_LT.id]: generateKeyPair() };
const NOW = Date.parse(T0);

function ctxFor(self: SocIdentity, partners: SocIdentity[], extra: Partial<InboundContext> = {}): InboundContext {
  return {
    self,
    trust: new TrustStore({ partners: partners.map((p) => ({ ...p, publicKey: keys[p.id]!.publicKey, allowRelayFrom: true })) }),
    replay: new MemoryReplayCache(),
    now: () => NOW,
    ...extra,
  };
}

const send = (from = SOC_EE, alert = scanAlert({ tlp: 'GREEN' }, from)): Envelope =>
  createEnvelope(alert, { identity: from, privateKey: keys[from.id]!.privateKey }, { now: new Date(NOW) });
/** What the wire does: bytes, then a JSON object with the other side's key order. */
const wire = (e: unknown): unknown => JSON.parse(JSON.stringify(e));

describe('verifyInbound', () => {
  it('accepts a signed envelope after a JSON round trip and stores it under a federated id', () => {
    const env = send();
    const r = verifyInbound(wire(env), ctxFor(SOC_LV, [SOC_EE]));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.alert.id).toBe(federatedAlertId('soc-ee', env.payload.id));
    expect(r.alert.id).not.toBe(env.payload.id);
    expect(r.alert.origin).toEqual({ soc: 'soc-ee', country: 'EE', name: 'CERT-EE SOC' });
    expect(r.alert.federation).toEqual({ message_id: env.message_id, received_at: T0, hops: 0, path: ['soc-ee'] });
    expect(r.alert.labels?.['federation.partner_alert_id']).toBe(env.payload.id);
  });

  it('verifies whatever the key order on the wire (canonical serialisation)', () => {
    const env = send();
    const reorder = (v: unknown): unknown =>
      Array.isArray(v) ? v.map(reorder) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).reverse().map(([k, x]) => [k, reorder(x)])) : v;
    expect(verifyInbound(reorder(wire(env)), ctxFor(SOC_LV, [SOC_EE])).ok).toBe(true);
  });

  it('rejects a forged envelope signed by a key not in the trust list', () => {
    const mallory = generateKeyPair();
    const forged = createEnvelope(scanAlert({}, SOC_EE), { identity: SOC_EE, privateKey: mallory.privateKey }, { now: new Date(NOW) });
    const r = verifyInbound(wire(forged), ctxFor(SOC_LV, [SOC_EE]));
    expect(r).toMatchObject({ ok: false, reason: 'bad_signature' });
  });

  it('rejects a forged envelope that reuses the genuine key id', () => {
    const mallory = generateKeyPair();
    const forged = createEnvelope(scanAlert({}, SOC_EE), { identity: SOC_EE, privateKey: mallory.privateKey }, { now: new Date(NOW) });
    forged.signature.key_id = send().signature.key_id;
    expect(verifyInbound(wire(forged), ctxFor(SOC_LV, [SOC_EE]))).toMatchObject({ ok: false, reason: 'bad_signature' });
  });

  it('rejects a payload changed after signing', () => {
    const env = wire(send()) as Envelope;
    env.payload.source = { ip: '198.51.100.66' };
    const r = verifyInbound(env, ctxFor(SOC_LV, [SOC_EE]));
    expect(r).toMatchObject({ ok: false, reason: 'bad_signature' });
    if (!r.ok) expect(r.message).toMatch(/tampered/);
    const added = wire(send()) as Record<string, Record<string, unknown>>;
    added.payload!.extra_field = 'smuggled'; // unknown keys would be stripped by zod: still tampering
    expect(verifyInbound(added, ctxFor(SOC_LV, [SOC_EE]))).toMatchObject({ ok: false, reason: 'bad_signature' });
  });

  it('rejects an envelope with a lone surrogate as malformed instead of throwing (finding 2)', () => {
    // Needs only a partner's key id: the attacker cannot sign, and must not block the consumer either.
    const env = wire(send()) as Envelope;
    env.payload.message = 'scan \ud800 of 10.0.0.5';
    const r = verifyInbound(JSON.parse(JSON.stringify(env)), ctxFor(SOC_LV, [SOC_EE]));
    expect(r).toMatchObject({ ok: false, reason: 'malformed' });
    if (!r.ok) expect(r.message).toMatch(/lone surrogate/);
  });

  it('rejects an unknown origin, malformed input and a payload claiming another origin', () => {
    expect(verifyInbound(wire(send(SOC_LT)), ctxFor(SOC_LV, [SOC_EE]))).toMatchObject({ ok: false, reason: 'unknown_origin' });
    expect(verifyInbound({ v: 1, hello: 'x' }, ctxFor(SOC_LV, [SOC_EE]))).toMatchObject({ ok: false, reason: 'malformed' });
    expect(verifyInbound('{"v":1}', ctxFor(SOC_LV, [SOC_EE]))).toMatchObject({ ok: false, reason: 'malformed' });
    const spoof = wire(send()) as Envelope;
    spoof.payload.origin = { soc: 'soc-lt' };
    expect(verifyInbound(spoof, ctxFor(SOC_LV, [SOC_EE]))).toMatchObject({ ok: false, reason: 'malformed' });
  });

  it('rejects a replay, and only remembers messages that verified', () => {
    const ctx = ctxFor(SOC_LV, [SOC_EE]);
    const env = send();
    // A forgery carrying the genuine message id must not burn it.
    const forged = createEnvelope(scanAlert({}, SOC_EE), { identity: SOC_EE, privateKey: generateKeyPair().privateKey }, { now: new Date(NOW), messageId: env.message_id });
    expect(verifyInbound(wire(forged), ctx).ok).toBe(false);
    expect(verifyInbound(wire(env), ctx).ok).toBe(true);
    expect(verifyInbound(wire(env), ctx)).toMatchObject({ ok: false, reason: 'replay', message_id: env.message_id });
  });

  it('rejects timestamps outside the window either way', () => {
    const env = send();
    expect(verifyInbound(wire(env), ctxFor(SOC_LV, [SOC_EE], { now: () => NOW + 11 * 60_000 }))).toMatchObject({ ok: false, reason: 'stale' });
    expect(verifyInbound(wire(env), ctxFor(SOC_LV, [SOC_EE], { now: () => NOW - 11 * 60_000 }))).toMatchObject({ ok: false, reason: 'stale' });
    expect(verifyInbound(wire(env), ctxFor(SOC_LV, [SOC_EE], { now: () => NOW + 9 * 60_000 })).ok).toBe(true);
    expect(verifyInbound(wire(env), ctxFor(SOC_LV, [SOC_EE], { now: () => NOW + 2 * 60_000, windowMs: 60_000 }))).toMatchObject({ reason: 'stale' });
  });

  it('checks the relay chain: loops, hop limit, path tampering, relays not allowed', () => {
    const viaLv = relayEnvelope(send(), { identity: SOC_LV, privateKey: keys[SOC_LV.id]!.privateKey });
    expect(viaLv.path).toEqual(['soc-ee', 'soc-lv']);
    expect(verifyInbound(wire(viaLv), ctxFor(SOC_LT, [SOC_EE, SOC_LV])).ok).toBe(true);
    expect(verifyInbound(wire(viaLv), ctxFor(SOC_EE, [SOC_EE, SOC_LV]))).toMatchObject({ reason: 'loop' });
    expect(verifyInbound(wire(viaLv), ctxFor(SOC_LT, [SOC_EE, SOC_LV], { hopLimit: 0 }))).toMatchObject({ reason: 'hop_limit' });

    const shortened = wire(viaLv) as Envelope;
    shortened.hops = 0; // hide the relay to dodge a hop limit
    expect(verifyInbound(shortened, ctxFor(SOC_LT, [SOC_EE, SOC_LV]))).toMatchObject({ reason: 'malformed' });
    const rerouted = wire(viaLv) as Envelope;
    rerouted.relays[0]!.by = 'soc-ee';
    rerouted.path = ['soc-ee', 'soc-ee'];
    expect(verifyInbound(rerouted, ctxFor(SOC_LT, [SOC_EE, SOC_LV]))).toMatchObject({ reason: 'bad_signature' });

    const strict: InboundContext = {
      ...ctxFor(SOC_LT, []),
      trust: new TrustStore({ partners: [{ ...SOC_EE, publicKey: keys[SOC_EE.id]!.publicKey }, { ...SOC_LV, publicKey: keys[SOC_LV.id]!.publicKey, allowRelayFrom: false }] }),
    };
    expect(verifyInbound(wire(viaLv), strict)).toMatchObject({ reason: 'relay_not_allowed' });
    expect(verifyInbound(wire(viaLv), ctxFor(SOC_LT, [SOC_EE]))).toMatchObject({ reason: 'unknown_origin' });
  });

  it('gives a fresh message id to each envelope and refuses to wrap TLP:RED', () => {
    expect(send().message_id).not.toBe(send().message_id);
    expect(() => send(SOC_EE, scanAlert({ tlp: 'RED' }))).toThrow(/RED/);
  });
});
