import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createEnvelope, relayEnvelope } from './envelope.ts';
import { REJECT_REASONS, verifyInbound, type InboundContext } from './inbound.ts';
import { generateKeyPair, type KeyPair } from './keys.ts';
import { MemoryReplayCache } from './replay.ts';
import { TrustStore } from './trust.ts';
import { SOC_EE, SOC_LT, SOC_LV, scanAlert, T0 } from './fixtures/alerts.ts';

/**
 * Property: whatever arrives on the federation topic — arbitrary JSON, or a genuine envelope
 * with any field changed to anything (lone surrogates, huge numbers, wrong types) — verifyInbound
 * answers, never throws (a throw would block the inbound consumer, finding 2), with a known
 * reason; and it accepts only an envelope whose signed content is exactly what the origin signed.
 * Cases per property: FUZZ_RUNS (small in `pnpm test`, many in `pnpm fuzz`).
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 100);
const NOW = Date.parse(T0);
const keys: Record<string, KeyPair> = { [SOC_EE.id]: generateKeyPair(), [SOC_LV.id]: generateKeyPair(), [SOC_LT.id]: generateKeyPair() };
const trust = new TrustStore({ partners: [SOC_EE, SOC_LT].map((p) => ({ ...p, publicKey: keys[p.id]!.publicKey, allowRelayFrom: true })) });
const ctx = (): InboundContext => ({ self: SOC_LV, trust, replay: new MemoryReplayCache(), now: () => NOW });
const signer = (s: typeof SOC_EE) => ({ identity: s, privateKey: keys[s.id]!.privateKey });

const genuine = createEnvelope(scanAlert({ tlp: 'GREEN' }, SOC_EE), signer(SOC_EE), { now: new Date(NOW) });
const relayed = relayEnvelope(genuine, signer(SOC_LT));
const wire = (e: unknown) => JSON.parse(JSON.stringify(e)) as Record<string, unknown>;
const tried: Record<string, number> = {};
const count = (k: string) => (tried[k] = (tried[k] ?? 0) + 1);

const hostileString = fc.oneof(fc.string({ unit: 'binary', maxLength: 40 }), fc.constantFrom('\ud800', 'a\udfff', '\u0000', '\u2028', ''), fc.string({ maxLength: 2000 }));
const value = fc.oneof(fc.jsonValue({ maxDepth: 3 }), hostileString, fc.constantFrom(Number.MAX_VALUE, -0, 1e308, 2 ** 53 + 1, null, true, [], {}));

/** Every path into an object, so a mutation can land anywhere in the envelope. */
function paths(v: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (v === null || typeof v !== 'object') return [prefix];
  const entries = Array.isArray(v) ? v.map((x, i) => [i, x] as const) : Object.entries(v);
  return [prefix, ...entries.flatMap(([k, x]) => paths(x, [...prefix, k]))];
}

function mutate(env: Record<string, unknown>, pick: number, v: unknown, mode: 'set' | 'delete' | 'add'): Record<string, unknown> {
  const copy = wire(env);
  const all = paths(copy).filter((p) => p.length > 0);
  const path = all[pick % all.length]!;
  let parent = copy as Record<string | number, unknown>;
  for (const k of path.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>;
  const last = path.at(-1)!;
  if (mode === 'delete' && !Array.isArray(parent)) delete parent[last];
  else if (mode === 'add' && typeof parent === 'object' && !Array.isArray(parent)) parent[`x_${String(last)}`] = v;
  else parent[last] = v;
  return copy;
}

/** The part the origin signs (envelope.ts, originSigningBytes). */
const signedPart = (e: Record<string, unknown>) => ({ v: e.v, origin: e.origin, message_id: e.message_id, timestamp: e.timestamp, tlp: e.tlp, payload: e.payload });

function check(input: unknown, label: string, original?: Record<string, unknown>): void {
  count(label);
  const r = verifyInbound(input, ctx());
  if (!r.ok) {
    expect(REJECT_REASONS).toContain(r.reason);
    expect(r.message.length).toBeGreaterThan(0);
    count(`${label}: rejected ${r.reason}`);
    return;
  }
  count(`${label}: accepted`);
  // Accepted means: what the origin signed arrived unchanged.
  expect(original).toBeDefined();
  expect(isDeepStrictEqual(signedPart(wire(input)), signedPart(wire(original)))).toBe(true);
}

describe('federation envelopes under fuzzing (inbound verify)', () => {
  it('arbitrary JSON and hostile strings: rejected with a known reason, never a throw', () => {
    fc.assert(fc.property(fc.oneof(value, fc.dictionary(fc.constantFrom('v', 'origin', 'message_id', 'payload', 'signature', 'path', 'hops', 'relays', 'tlp', 'timestamp'), value)), (x) => check(x, 'arbitrary JSON')), { numRuns: RUNS });
  });

  it('a genuine or relayed envelope with one field set, added or deleted anywhere: accepted only if the signed content is intact', () => {
    fc.assert(
      fc.property(fc.constantFrom(genuine, relayed), fc.nat(), value, fc.constantFrom('set', 'delete', 'add') as fc.Arbitrary<'set' | 'delete' | 'add'>, (env, pick, v, mode) => {
        const e = wire(env);
        check(mutate(e, pick, v, mode), 'mutated envelopes', e);
      }),
      { numRuns: RUNS },
    );
    expect(verifyInbound(wire(genuine), ctx()).ok).toBe(true);
    expect(verifyInbound(wire(relayed), ctx()).ok).toBe(true);
    console.info(JSON.stringify({ fuzz: 'federation-inbound', cases: tried }));
  });
});
