import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEmbeddedBus, type EmbeddedBus } from '@soc/bus';
import { Alert, TOPICS, alertId } from '@soc/schema';
import { createEnvelope, generateKeyPair, validateStixBundle, TLP2_MARKING_IDS } from '../../packages/federation/src/index.ts';
import { DEMO_SOCS, attackLines, prepareFederation, type FederationMember } from '../../services/soc/src/federation.ts';
import { api, startSoc, waitFor, type SocProcess } from '../helpers/soc-process.ts';

const FIXTURE = readFileSync(new URL('../../packages/federation/src/fixtures/partner-intel.stix.json', import.meta.url), 'utf8');

/** The value of one soc_federation_messages_total series, 0 when absent. */
function fedCount(metricsText: string, direction: string, outcome: string, reason: string): number {
  const line = metricsText.split('\n').find((l) => l.startsWith(`soc_federation_messages_total{direction="${direction}",outcome="${outcome}",reason="${reason}"}`));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

/** An alert as the detector of `m` would publish it, with a rule id of the test's choosing. */
function localAlert(m: FederationMember, ruleId: string, tlp: Alert['tlp']): Alert {
  const ts = new Date().toISOString();
  return Alert.parse({
    id: alertId('e2e', ruleId, m.identity.id),
    '@timestamp': ts,
    first_seen: ts,
    last_seen: ts,
    detector: 'e2e',
    rule: { id: ruleId, name: `e2e ${ruleId}` },
    score: 0.9,
    severity: 'high',
    message: `${ruleId} from 198.51.100.9`,
    explanation: { summary: ruleId },
    source: { ip: '198.51.100.9', port: 4444 },
    destination: { ip: '10.1.2.3', port: 443 },
    origin: { soc: m.identity.id, country: m.identity.country, name: m.identity.name },
    tlp,
  });
}

describe('federation between three member-state SOCs (real processes, one shared bus file)', () => {
  let dir: string;
  let members: FederationMember[];
  let sharedBusPath: string;
  let socs: SocProcess[];
  let ee: SocProcess, lv: SocProcess, lt: SocProcess;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'soc-fed-e2e-'));
    ({ members, sharedBusPath } = await prepareFederation(dir, DEMO_SOCS.slice(0, 3), { relay: true }));
    socs = await Promise.all(members.map((m) => startSoc({ dataDir: m.dataDir, env: { ...m.env, SOC_DETECTOR_ANOMALY: 'false' } })));
    [ee, lv, lt] = socs as [SocProcess, SocProcess, SocProcess];
  });
  afterAll(async () => {
    const codes = await Promise.all((socs ?? []).map((s) => s.stop('SIGTERM')));
    expect(codes.every((c) => c === 0)).toBe(true);
    rmSync(dir, { recursive: true, force: true });
  });

  const alertsAt = async (s: SocProcess, q: string) => (await api(s.url, s.analystToken, `/v1/alerts?limit=100&${q}`)).body as { total: number; alerts: Alert[] };
  const metricsOf = async (s: SocProcess) => String((await api(s.url, s.analystToken, '/metrics')).body);
  /** Appends alerts to a SOC's own alert topic, as its detector would. */
  async function publishLocal(m: FederationMember, alerts: Alert[]): Promise<void> {
    const bus = openEmbeddedBus({ path: join(m.dataDir, 'bus.db') });
    const p = await bus.producer();
    await p.send(TOPICS.alerts, alerts.map((a) => ({ key: a.id, value: JSON.stringify(a) })));
    await p.close();
    await bus.close();
  }

  it('delivers a shared alert, verified and pseudonymised, to both partners', async () => {
    const body = attackLines('203.0.113.66', '10.0.0.5', 3).join('\n');
    const r = await api(ee.url, ee.sensorToken, '/v1/events?format=suricata', { method: 'POST', body });
    expect(r.body.accepted).toBe(3);
    for (const s of [lv, lt]) {
      const got = await waitFor(async () => {
        const a = await alertsAt(s, 'origin=soc-ee&detector=suricata');
        return a.total === 3 ? a : undefined;
      }, 'three alerts from soc-ee');
      for (const a of got.alerts) {
        expect(a.federation).toMatchObject({ hops: 0, path: ['soc-ee'] });
        expect(a.origin).toMatchObject({ soc: 'soc-ee', country: 'EE' });
        expect(a.source?.ip).toBe('203.0.113.66');
        // The internal address left soc-ee only as a keyed pseudonym.
        expect(a.labels?.['destination.pseudonym']).toMatch(/^pseudo-[0-9a-f]{16}$/);
        expect(JSON.stringify(a)).not.toContain('10.0.0.5');
      }
      expect((await alertsAt(s, 'origin=soc-lv&detector=suricata')).total).toBe(0);
    }
    await waitFor(async () => fedCount(await metricsOf(ee), 'out', 'shared', 'AMBER') >= 3, 'the shared AMBER count');
  });

  it('quarantines a forged and a tampered envelope at every receiver, with reason codes', async () => {
    const origin = members[0]!;
    const forged = createEnvelope(localAlert(origin, 'FORGED-1', 'AMBER'), { identity: origin.identity, privateKey: generateKeyPair().privateKey });
    const tampered = createEnvelope(localAlert(origin, 'TAMPER-1', 'AMBER'), { identity: origin.identity, privateKey: readFileSync(origin.env.SOC_FEDERATION_PRIVATE_KEY_FILE!, 'utf8') });
    tampered.payload.severity = 'critical';
    const shared: EmbeddedBus = openEmbeddedBus({ path: sharedBusPath });
    const p = await shared.producer();
    await p.send(TOPICS.federationOut, [forged, tampered].map((e) => ({ key: e.origin.id, value: JSON.stringify(e) })));
    await p.close();
    await shared.close();

    for (const s of [lv, lt]) {
      const dead = await waitFor(async () => {
        const items = (await api(s.url, s.analystToken, '/v1/deadletters?limit=1000')).body.items as { stage: string; reason: string; raw: string }[];
        const ours = items.filter((d) => d.stage === 'federation' && (d.raw.includes(forged.message_id) || d.raw.includes(tampered.message_id)));
        return ours.length === 2 ? ours : undefined;
      }, 'two quarantined envelopes');
      for (const d of dead) expect(d.reason).toMatch(/^bad_signature: /);
      // Counts are made after the writes they follow, and a stage thread's metrics reach /metrics
      // on its next report: each count is waited for (then must be exact), not read once.
      await waitFor(async () => fedCount(await metricsOf(s), 'in', 'rejected', 'bad_signature') >= 2, 'the bad_signature count');
      expect(fedCount(await metricsOf(s), 'in', 'rejected', 'bad_signature')).toBe(2);
      expect((await alertsAt(s, 'rule_id=FORGED-1')).total + (await alertsAt(s, 'rule_id=TAMPER-1')).total).toBe(0);
    }
  });

  it('keeps a TLP:RED alert home while an AMBER one sent after it arrives', async () => {
    const origin = members[0]!;
    await publishLocal(origin, [localAlert(origin, 'RED-1', 'RED'), localAlert(origin, 'MARKER-1', 'AMBER')]);
    for (const s of [lv, lt]) await waitFor(async () => (await alertsAt(s, 'rule_id=MARKER-1')).total === 1, 'the marker alert');
    await waitFor(async () => (await alertsAt(ee, 'rule_id=RED-1')).total === 1, 'the RED alert indexed at home');
    for (const s of [lv, lt]) expect((await alertsAt(s, 'rule_id=RED-1')).total).toBe(0);
    await waitFor(async () => fedCount(await metricsOf(ee), 'out', 'not_shared', 'tlp_red') >= 1, 'the tlp_red count');
    expect(fedCount(await metricsOf(ee), 'out', 'not_shared', 'tlp_red')).toBe(1);
  });

  it('relays GREEN around the ring without loops or duplicates', async () => {
    const origin = members[0]!;
    await publishLocal(origin, [localAlert(origin, 'RING-1', 'GREEN')]);
    // Settled: both partners relayed, and the origin saw both relays come back as loops.
    await waitFor(async () => fedCount(await metricsOf(ee), 'in', 'duplicate', 'loop') >= 2, 'both relays back at the origin');
    for (const s of [lv, lt]) await waitFor(async () => fedCount(await metricsOf(s), 'in', 'duplicate', 'replay') >= 1, 'the other relay seen as a replay');
    for (const s of [ee, lv, lt]) {
      // The federation counts do not wait for the indexer, which writes the alert on its next poll.
      await waitFor(async () => (await alertsAt(s, 'rule_id=RING-1')).total >= 1, 'the ring alert indexed');
      const a = await alertsAt(s, 'rule_id=RING-1');
      expect(a.total).toBe(1);
      expect(a.alerts[0]!.origin.soc).toBe('soc-ee');
    }
    for (const s of [lv, lt]) {
      const m = await metricsOf(s);
      expect(fedCount(m, 'relay', 'relayed', 'GREEN')).toBe(1);
      const items = (await api(s.url, s.analystToken, '/v1/deadletters?limit=1000')).body.items as { reason: string }[];
      expect(items.filter((d) => /^(loop|replay)/.test(d.reason))).toEqual([]);
    }
  });

  it('exports a known alert as a valid STIX 2.1 bundle with TLP markings', async () => {
    const res = await api(ee.url, ee.analystToken, '/v1/stix?origin=soc-ee&detector=suricata');
    expect(res.status).toBe(200);
    const bundle = res.body as { type: string; objects: { type: string; object_marking_refs?: string[] }[] };
    expect(validateStixBundle(bundle, { requireResolvedRefs: true })).toEqual([]);
    const types = new Set(bundle.objects.map((o) => o.type));
    for (const t of ['indicator', 'observed-data', 'sighting', 'identity', 'marking-definition']) expect(types).toContain(t);
    expect(bundle.objects.filter((o) => o.type === 'indicator')).toHaveLength(3);
    for (const o of bundle.objects.filter((x) => x.type === 'indicator')) expect(o.object_marking_refs).toContain(TLP2_MARKING_IDS.AMBER);
    expect(JSON.stringify(bundle)).toContain('203.0.113.66');
    expect(JSON.stringify(bundle)).not.toContain('10.0.0.5');
  });

  it('imports STIX intelligence so a later local event from that address raises "seen by partner first"', async () => {
    const imp = await api(lv.url, lv.analystToken, '/v1/stix?source=misp-circl', { method: 'POST', body: FIXTURE });
    expect(imp.status).toBe(202);
    const bad = await api(lv.url, lv.analystToken, '/v1/stix?source=misp-circl', { method: 'POST', body: JSON.stringify({ type: 'bundle', id: 'bundle--x', objects: [] }) });
    expect(bad.status).toBe(400);
    expect(bad.body.issues.length).toBeGreaterThan(0);
    // The fixture's indicator for 203.0.113.77 is valid from 2026-02-27T12:00Z; the event is a day later.
    const event = attackLines('203.0.113.77', '10.0.0.9', 1, new Date('2026-02-28T12:00:00Z'))[0]!;
    expect((await api(lv.url, lv.sensorToken, '/v1/events?format=suricata', { method: 'POST', body: event })).body.accepted).toBe(1);
    const found = await waitFor(async () => {
      const a = await alertsAt(lv, 'detector=federation&ip=203.0.113.77');
      return a.total > 0 ? a.alerts[0] : undefined;
    }, 'a seen-by-partner-first alert');
    expect(found.rule.id).toBe('seen_by_partner_first');
    expect(found.links).toEqual([{ type: 'seen_by_partner_first', alert_id: expect.any(String), origin: 'misp-circl' }]);
    expect(imp.body.alerts).toContain(found.links![0]!.alert_id);
    expect((await api(lv.url, lv.analystToken, `/v1/alerts/${found.links![0]!.alert_id}`)).status).toBe(200);
  });
});
