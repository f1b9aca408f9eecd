import { describe, expect, it } from 'vitest';
import { EcsEvent } from '@soc/schema';
import { correlate, IndicatorIndex, SEEN_BY_PARTNER_FIRST } from './correlate.ts';
import { CidrSet } from '@soc/netaddr';
import { toLocalAlert } from './inbound.ts';
import { SOC_EE, SOC_LV, scanAlert } from './fixtures/alerts.ts';
import { decideOutbound, SharingPolicy } from './policy.ts';
import { createEnvelope } from './envelope.ts';
import { generateKeyPair } from './keys.ts';

const RECEIVER_INTERNAL = new CidrSet(['10.0.0.0/8']);

/** A partner alert as it would be stored after verifyInbound. */
function partnerAlert(over: Parameters<typeof scanAlert>[0] = {}) {
  const env = createEnvelope(scanAlert(over, SOC_EE), { identity: SOC_EE, privateKey: generateKeyPair().privateKey });
  return toLocalAlert(env, '2026-03-01T10:00:05.000Z');
}

const event = (src: string, ts: string, dst = '10.5.5.5') =>
  EcsEvent.parse({ '@timestamp': ts, event: { id: `ev-${src}-${ts}`, kind: 'event', dataset: 'zeek.conn' }, source: { ip: src, port: 40000 }, destination: { ip: dst, port: 22 } });

describe('IndicatorIndex and correlate', () => {
  it('indexes external attacker addresses only, and raises "seen by partner first"', () => {
    const index = new IndicatorIndex();
    const partner = partnerAlert();
    expect(index.addAlert(partner, RECEIVER_INTERNAL)).toBe(true);
    expect(index.addAlert(partnerAlert({ source: { ip: '10.1.1.1' } }), RECEIVER_INTERNAL)).toBe(false);
    expect(index.addAlert(partnerAlert({ source: { ip: 'pseudo-0123456789abcdef' } }), RECEIVER_INTERNAL)).toBe(false);
    expect(index.size).toBe(1);

    const nowMs = Date.parse('2026-03-01T11:00:00.000Z');
    const later = correlate(event('203.0.113.9', '2026-03-01T10:30:00.000Z'), index, { self: SOC_LV, nowMs });
    expect(later).toHaveLength(1);
    const a = later[0]!;
    expect(a.links).toEqual([{ type: SEEN_BY_PARTNER_FIRST, alert_id: partner.id, origin: 'soc-ee' }]);
    expect(a.origin.soc).toBe('soc-lv');
    expect(a.tlp).toBe('AMBER');
    expect(a.severity).toBe('high');
    expect(a.related_events).toEqual(['ev-203.0.113.9-2026-03-01T10:30:00.000Z']);
    // Deterministic: the next flow from the same attacker upserts the same alert.
    const again = correlate(event('203.0.113.9', '2026-03-01T10:31:00.000Z'), index, { self: SOC_LV, nowMs });
    expect(again[0]!.id).toBe(a.id);
    // Our host calling out to the attacker also matches.
    expect(correlate(event('10.5.5.5', '2026-03-01T10:30:00.000Z', '203.0.113.9'), index, { self: SOC_LV, nowMs })).toHaveLength(1);
    // Seen here before the partner saw it: not an early warning.
    expect(correlate(event('203.0.113.9', '2026-03-01T09:00:00.000Z'), index, { self: SOC_LV, nowMs })).toEqual([]);
    expect(correlate(event('198.51.100.1', '2026-03-01T10:30:00.000Z'), index, { self: SOC_LV, nowMs })).toEqual([]);
    // Built from the partner's report: never re-originated to other partners.
    const policy = SharingPolicy.parse({ pseudonymKey: 'k'.repeat(40), minSeverity: 'low' });
    expect(decideOutbound(a, policy, { self: SOC_LV })).toMatchObject({ share: false, reason: 'derived_from_partner' });
    // Local alerts are subjects too.
    expect(correlate(scanAlert({ first_seen: '2026-03-01T10:20:00.000Z', last_seen: '2026-03-01T10:20:00.000Z' }, SOC_LV), index, { self: SOC_LV, nowMs })).toHaveLength(1);
  });

  it('is bounded by capacity (least recently added goes) and by TTL', () => {
    const index = new IndicatorIndex({ capacity: 2, ttlMs: 3_600_000 });
    const base = { origin: 'soc-ee', first_seen: '2026-03-01T10:00:00.000Z', severity: 'high' as const, score: 0.9, tlp: 'GREEN' as const, name: 'x' };
    index.add({ ...base, ip: '203.0.113.1', alert_id: 'a1' });
    index.add({ ...base, ip: '203.0.113.2', alert_id: 'a2' });
    index.add({ ...base, ip: '203.0.113.1', alert_id: 'a1b' }); // refresh .1
    index.add({ ...base, ip: '2001:DB8::3', alert_id: 'a3' });
    expect(index.size).toBe(2);
    const at = Date.parse('2026-03-01T10:30:00.000Z');
    expect(index.lookup('203.0.113.2', at)).toEqual([]);
    expect(index.lookup('203.0.113.1', at).map((e) => e.alert_id)).toEqual(['a1', 'a1b']);
    expect(index.lookup('2001:db8:0::3', at)).toHaveLength(1);
    expect(index.lookup('203.0.113.1', Date.parse('2026-03-01T11:30:00.000Z'))).toEqual([]);
  });
});
