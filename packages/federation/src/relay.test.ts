import { describe, expect, it } from 'vitest';
import type { Alert } from '@soc/schema';
import { createEnvelope, relayEnvelope, type Envelope } from './envelope.ts';
import { verifyInbound, type InboundContext, type RejectReason } from './inbound.ts';
import { generateKeyPair, type KeyPair, type SocIdentity } from './keys.ts';
import { decideOutbound, SharingPolicy } from './policy.ts';
import { MemoryReplayCache } from './replay.ts';
import { TrustStore } from './trust.ts';
import { SOC_EE, SOC_LT, SOC_LV, scanAlert, T0 } from './fixtures/alerts.ts';

/** One in-memory SOC: its inbound context, policy, alert store (upsert by id) and what it refused. */
interface Soc {
  identity: SocIdentity;
  keys: KeyPair;
  ctx: InboundContext;
  policy: SharingPolicy;
  store: Map<string, Alert>;
  rejected: RejectReason[];
}

const NOW = Date.parse(T0);
const SOCS = [SOC_EE, SOC_LV, SOC_LT];
const KEYS = new Map(SOCS.map((s) => [s.id, generateKeyPair()]));

function network(hopLimit: number): Map<string, Soc> {
  const trust = new TrustStore({ partners: SOCS.map((s) => ({ ...s, publicKey: KEYS.get(s.id)!.publicKey, allowRelayFrom: true })) });
  return new Map(
    SOCS.map((identity) => [
      identity.id,
      {
        identity,
        keys: KEYS.get(identity.id)!,
        ctx: { self: identity, trust, replay: new MemoryReplayCache(), now: () => NOW, hopLimit },
        policy: SharingPolicy.parse({ pseudonymKey: `${identity.id}-pseudonym-key-0123456789abcdef`, relay: { enabled: true, hopLimit } }),
        store: new Map(),
        rejected: [],
      },
    ]),
  );
}

/**
 * Runs the message flow to quiescence: each delivery is verified, stored, and (if the policy says
 * relay) forwarded to the receiver's neighbours. `copies` > 1 simulates an at-least-once transport.
 */
function run(socs: Map<string, Soc>, links: Record<string, string[]>, first: [string, Envelope][], copies = 1): number {
  const queue = [...first];
  let deliveries = 0;
  while (queue.length) {
    if (++deliveries > 200) throw new Error('message storm: the network does not quiesce');
    const [to, env] = queue.shift()!;
    const soc = socs.get(to)!;
    for (let i = 0; i < copies; i++) {
      const r = verifyInbound(JSON.parse(JSON.stringify(env)), soc.ctx);
      if (!r.ok) {
        soc.rejected.push(r.reason);
        continue;
      }
      soc.store.set(r.alert.id, r.alert);
      const d = decideOutbound(r.alert, soc.policy, { self: soc.identity });
      if (d.share && d.mode === 'relay') {
        const next = relayEnvelope(r.envelope, { identity: soc.identity, privateKey: soc.keys.privateKey });
        for (const n of links[to] ?? []) queue.push([n, next]);
      }
    }
  }
  return deliveries;
}

function originate(socs: Map<string, Soc>, from: string, tlp: Alert['tlp'] = 'GREEN'): Envelope {
  const soc = socs.get(from)!;
  const d = decideOutbound(scanAlert({ tlp }, soc.identity), soc.policy, { self: soc.identity });
  if (!d.share) throw new Error(d.reason);
  return createEnvelope(d.alert, { identity: soc.identity, privateKey: soc.keys.privateKey }, { now: new Date(NOW) });
}

const RING = { 'soc-ee': ['soc-lv'], 'soc-lv': ['soc-lt'], 'soc-lt': ['soc-ee'] };
const MESH = { 'soc-ee': ['soc-lv', 'soc-lt'], 'soc-lv': ['soc-ee', 'soc-lt'], 'soc-lt': ['soc-ee', 'soc-lv'] };

describe('relaying among three SOCs', () => {
  it('ring A→B→C→A: each partner stores the alert once and the origin stops the loop', () => {
    const socs = network(3);
    const env = originate(socs, 'soc-ee');
    run(socs, RING, [['soc-lv', env]]);
    const lv = [...socs.get('soc-lv')!.store.values()];
    const lt = [...socs.get('soc-lt')!.store.values()];
    expect(lv).toHaveLength(1);
    expect(lt).toHaveLength(1);
    expect(lt[0]!.id).toBe(lv[0]!.id); // same federated id wherever it lands
    expect(lv[0]!.federation).toMatchObject({ hops: 0, path: ['soc-ee'] });
    expect(lt[0]!.federation).toMatchObject({ hops: 1, path: ['soc-ee', 'soc-lv'] });
    expect(socs.get('soc-ee')!.store.size).toBe(0);
    expect(socs.get('soc-ee')!.rejected).toEqual(['loop']);
  });

  it('full mesh with a duplicating transport: no duplicates, every copy after the first is a replay', () => {
    const socs = network(3);
    const env = originate(socs, 'soc-ee');
    run(socs, MESH, [['soc-lv', env], ['soc-lt', env]], 2);
    for (const id of ['soc-lv', 'soc-lt']) {
      expect(socs.get(id)!.store.size).toBe(1);
      expect(socs.get(id)!.rejected.filter((r) => r !== 'replay' && r !== 'loop')).toEqual([]);
      expect(socs.get(id)!.rejected).toContain('replay');
    }
    expect(socs.get('soc-ee')!.store.size).toBe(0);
    expect(new Set(socs.get('soc-ee')!.rejected)).toEqual(new Set(['loop']));
  });

  it('respects the hop limit: with limit 0 nothing is relayed, with 1 one relay hop', () => {
    const none = network(0);
    run(none, RING, [['soc-lv', originate(none, 'soc-ee')]]);
    expect(none.get('soc-lv')!.store.size).toBe(1);
    expect(none.get('soc-lt')!.store.size).toBe(0);

    const one = network(1);
    const chain = { 'soc-ee': ['soc-lv'], 'soc-lv': ['soc-lt'], 'soc-lt': ['soc-lv'] };
    run(one, chain, [['soc-lv', originate(one, 'soc-ee')]]);
    expect(one.get('soc-lt')!.store.size).toBe(1);
    expect([...one.get('soc-lt')!.store.values()][0]!.federation?.hops).toBe(1);
    // soc-lt may not relay (1 hop already); soc-lv never sees it back.
    expect(one.get('soc-lv')!.rejected).toEqual([]);
  });

  it('AMBER reaches direct partners only: it is never relayed', () => {
    const socs = network(3);
    run(socs, RING, [['soc-lv', originate(socs, 'soc-ee', 'AMBER')]]);
    expect(socs.get('soc-lv')!.store.size).toBe(1);
    expect(socs.get('soc-lt')!.store.size).toBe(0);
  });
});
