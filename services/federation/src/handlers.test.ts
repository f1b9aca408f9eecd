import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryReplayCache, PSEUDONYM_RE, createEnvelope, generateKeyPair, type Envelope } from '@soc/federation';
import { planInbound, type InboundRecord } from './inbound.ts';
import { planOutbound } from './outbound.ts';
import { SqliteReplayCache } from './replay-cache.ts';
import { SOCS, federationOf, localAlert } from './testing.ts';

const fed = federationOf([SOCS.ee, SOCS.lv, SOCS.lt], { relay: { enabled: true, hopLimit: 2 } });
const ee = fed.ctx(SOCS.ee);
const lv = fed.ctx(SOCS.lv);
const lt = fed.ctx(SOCS.lt);
const rec = (e: unknown, i = 0): InboundRecord => ({ source: `soc.federation.v1/0@${i}`, value: typeof e === 'string' ? e : JSON.stringify(e) });

describe('planOutbound', () => {
  it('signs what the policy lets out and counts every alert it keeps home, with the reason', () => {
    const alerts = [
      localAlert(SOCS.ee, { message: 'amber' }),
      localAlert(SOCS.ee, { message: 'red', tlp: 'RED' }),
      localAlert(SOCS.ee, { message: 'low', severity: 'low' }),
      localAlert(SOCS.ee, { message: 'seen-first', links: [{ type: 'seen_by_partner_first', alert_id: 'x'.repeat(12), origin: 'soc-lv' }] }),
    ];
    const plan = planOutbound([...alerts.map((a) => JSON.stringify(a)), '{"not":"an alert"}'], ee);
    expect(plan.envelopes).toHaveLength(1);
    expect(plan.envelopes[0]!.payload.message).not.toContain('10.0.0.5');
    expect(plan.envelopes[0]!.payload.destination?.ip).toMatch(PSEUDONYM_RE);
    expect(plan.outcomes.map((o) => `${o.outcome}:${o.reason}`)).toEqual(['shared:AMBER', 'not_shared:tlp_red', 'not_shared:below_min_severity', 'not_shared:derived_from_partner', 'not_shared:invalid_alert']);
  });

  it('gives a redelivered alert the same message id, so partners drop the copy as a replay', () => {
    const a = JSON.stringify(localAlert(SOCS.ee));
    const first = planOutbound([a], ee, new Date()).envelopes[0]!;
    const again = planOutbound([a], ee, new Date(Date.now() + 1000)).envelopes[0]!;
    expect(again.message_id).toBe(first.message_id);
    const changed = planOutbound([JSON.stringify(localAlert(SOCS.ee, { count: 7 }))], ee).envelopes[0]!;
    expect(changed.message_id).not.toBe(first.message_id);

    const replay = new MemoryReplayCache();
    expect(planInbound([rec(first), rec(again, 1)], lv, replay).outcomes.filter((o) => o.direction === 'in').map((o) => o.outcome)).toEqual(['accepted', 'duplicate']);
  });

  it('leaves partner alerts to the inbound side', () => {
    const received = { ...localAlert(SOCS.lv), federation: { message_id: crypto.randomUUID(), received_at: new Date().toISOString(), hops: 0, path: ['soc-lv'] } };
    expect(planOutbound([JSON.stringify(received)], ee)).toEqual({ envelopes: [], outcomes: [] });
  });
});

describe('planInbound', () => {
  let dir: string;
  let replay: SqliteReplayCache;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'inbound-'));
    replay = new SqliteReplayCache(join(dir, 'r.db'));
  });
  afterEach(() => {
    replay.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const shared = (tlp: 'AMBER' | 'GREEN' = 'AMBER'): Envelope => planOutbound([JSON.stringify(localAlert(SOCS.ee, { tlp }))], ee).envelopes[0]!;

  it('accepts a partner envelope as a local alert with provenance, and skips its own', () => {
    const env = shared();
    const plan = planInbound([rec(env)], lv, replay);
    expect(plan.alerts).toHaveLength(1);
    expect(plan.alerts[0]).toMatchObject({ origin: { soc: 'soc-ee' }, federation: { message_id: env.message_id, hops: 0, path: ['soc-ee'] } });
    // The pseudonym is not an address: it moves to a label so the stores accept the alert.
    expect(plan.alerts[0]!.destination).toEqual({ port: 22 });
    expect(plan.alerts[0]!.labels?.['destination.pseudonym']).toBe(env.payload.destination?.ip);
    expect(plan.alerts[0]!.labels?.['destination.pseudonym']).toMatch(PSEUDONYM_RE);
    expect(plan.alerts[0]!.source?.ip).toBe('203.0.113.9');
    expect(plan.deadLetters).toEqual([]);
    expect(plan.relays).toEqual([]); // AMBER is never relayed
    expect(plan.outcomes).toContainEqual({ direction: 'relay', outcome: 'not_relayed', reason: 'tlp_not_relayable' });
    expect(planInbound([rec(env)], ee, new MemoryReplayCache())).toEqual({ alerts: [], deadLetters: [], relays: [], outcomes: [] });
  });

  it('quarantines forged, tampered and unreadable envelopes with their reason code and raw text', () => {
    const forger = { identity: SOCS.ee, privateKey: generateKeyPair().privateKey };
    const forged = createEnvelope(localAlert(SOCS.ee), forger);
    const tampered = shared();
    tampered.payload.message = 'nothing to see here';
    const plan = planInbound([rec(forged), rec(tampered, 1), rec('{oops', 2)], lv, replay);
    expect(plan.alerts).toEqual([]);
    expect(plan.deadLetters.map((d) => d.reason.split(':')[0])).toEqual(['bad_signature', 'bad_signature', 'malformed']);
    expect(plan.deadLetters.map((d) => d.stage)).toEqual(['federation', 'federation', 'federation']);
    expect(JSON.parse(plan.deadLetters[1]!.raw).payload.message).toBe('nothing to see here');
    expect(plan.deadLetters[2]!.source).toBe('soc.federation.v1/0@2');
    expect(plan.outcomes.map((o) => o.outcome)).toEqual(['rejected', 'rejected', 'rejected']);
  });

  it('remembers accepted messages only once committed: a discarded batch is accepted again', () => {
    const env = shared();
    expect(planInbound([rec(env)], lv, replay).alerts).toHaveLength(1);
    replay.discard();
    expect(planInbound([rec(env)], lv, replay).alerts).toHaveLength(1);
    replay.commit();
    const again = planInbound([rec(env)], lv, replay);
    expect(again.alerts).toEqual([]);
    expect(again.outcomes).toEqual([{ direction: 'in', outcome: 'duplicate', reason: 'replay' }]);
  });

  it('relays GREEN once; the relayed copy is a duplicate for the others and a loop for the origin', () => {
    const env = shared('GREEN');
    const atLv = planInbound([rec(env)], lv, replay);
    expect(atLv.relays).toHaveLength(1);
    expect(atLv.relays[0]!.path).toEqual(['soc-ee', 'soc-lv']);
    const ltCache = new MemoryReplayCache();
    const atLt = planInbound([rec(env), rec(atLv.relays[0], 1)], lt, ltCache);
    expect(atLt.alerts).toHaveLength(1);
    expect(atLt.outcomes.filter((o) => o.direction === 'in').map((o) => `${o.outcome}:${o.reason}`)).toEqual(['accepted:soc-ee', 'duplicate:replay']);
    const atEe = planInbound([rec(atLv.relays[0])], ee, new MemoryReplayCache());
    expect(atEe.outcomes).toEqual([{ direction: 'in', outcome: 'duplicate', reason: 'loop' }]);
    expect(atEe.deadLetters).toEqual([]);
  });
});
