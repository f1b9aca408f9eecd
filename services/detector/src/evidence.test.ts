import { describe, expect, it } from 'vitest';
import type { Flow } from '@soc/features';
import { Alert, flowState, type EcsEvent } from '@soc/schema';
import { EvidenceTracker, fitReference } from '@soc/signals';
import { evidenceAnalyzer, type EvidenceModel } from './evidence.ts';

/** Seeded LCG for the synthetic fixtures. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
}

const T0 = 1_700_000_000;
let n = 0;
/** A Zeek conn record as the collector normalises it. */
function conn(ts: number, src: string, dst: string, port: number, o: { service?: string; state?: string; ob?: number; rb?: number; dur?: number } = {}): EcsEvent {
  return {
    '@timestamp': new Date(ts * 1000).toISOString(),
    event: { id: `ev${n++}`, kind: 'event', category: ['network'], type: ['connection'], dataset: 'zeek.conn', duration: (o.dur ?? 0.3) * 1e9 },
    source: { ip: src, port: 50000, bytes: o.ob ?? 400 },
    destination: { ip: dst, port, bytes: o.rb ?? 3000 },
    network: { transport: 'tcp', ...(o.service === '-' ? {} : { protocol: o.service ?? 'ssl' }) },
    zeek: { connection: { state: o.state ?? 'SF' } },
  };
}
const dns = (ts: number, host: string, query: string, rcode: string): EcsEvent => ({
  '@timestamp': new Date(ts * 1000).toISOString(),
  event: { id: `ev${n++}`, kind: 'event', category: ['network'], type: ['protocol'], dataset: 'zeek.dns' },
  source: { ip: host }, destination: { ip: '10.0.0.1', port: 53 }, dns: { question: { name: query }, response_code: rcode },
});

/** A benign office day: HTTPS and some HTTP to a long tail of sites from a few hosts. */
function office(seed: number, hosts = ['10.0.0.5', '10.0.0.6', '10.0.0.7']): EcsEvent[] {
  const r = rng(seed);
  const out: EcsEvent[] = [];
  for (let i = 0; i < 3000; i++) {
    const ts = T0 + r() * 86_400;
    const h = hosts[i % hosts.length]!;
    const site = `93.${Math.floor(r() ** 2 * 150)}.${seed}.${Math.floor(r() * 10)}`;
    out.push(r() < 0.85 ? conn(ts, h, site, 443, { ob: 500 + r() * 3000, rb: 2000 + r() * 60_000, dur: r() * 20 }) : conn(ts, h, site, 80, { service: 'http', ob: 400, rb: 900 + r() * 5000 }));
  }
  return out;
}

const byTime = (xs: EcsEvent[]) => xs.sort((a, b) => Date.parse(a['@timestamp']) - Date.parse(b['@timestamp']));
const flowsOf = (xs: EcsEvent[]): Flow[] => xs.map((e) => ({
  ts: Date.parse(e['@timestamp']) / 1000, srcIp: e.source!.ip!, srcPort: 50000, dstIp: e.destination!.ip!, dstPort: e.destination!.port!, proto: 'tcp',
  service: e.network?.protocol ?? '-', connState: flowState(e)!, duration: e.event.duration! / 1e9, srcBytes: e.source!.bytes!, dstBytes: e.destination!.bytes!,
}));

const reference = fitReference([flowsOf(byTime(office(1))), flowsOf(byTime(office(2)))], { sources: ['synthetic office days'] });
const model: EvidenceModel = { version: 'test-reference', calibration: reference };

async function run(events: EcsEvent[]): Promise<{ emitted: Alert[]; last: Map<string, Alert> }> {
  const a = evidenceAnalyzer({ current: () => model, tracker: new EvidenceTracker({ usage: reference.usage }), origin: { soc: 'test' }, tlp: 'AMBER' });
  const emitted: Alert[] = [];
  const sorted = byTime(events);
  for (let i = 0; i < sorted.length; i += 500) emitted.push(...(await a.analyze(sorted.slice(i, i + 500))));
  return { emitted, last: new Map(emitted.map((x) => [x.id, x])) };
}

describe('evidence analyzer', () => {
  it('one alert per C2 episode, updated in place as the beacon goes on, explained with numbers and ATT&CK ids', async () => {
    const r = rng(9);
    const c2: EcsEvent[] = [];
    for (let ts = T0 + 3600, i = 0; i < 72; i++, ts += 300 * (1 + (r() * 2 - 1) * 0.08)) c2.push(conn(ts, '10.0.0.9', '185.220.1.3', 4433, { ob: 700 + r() * 20, rb: 300 }));
    const { emitted, last } = await run([...office(3), ...c2]);
    const pair = [...last.values()].filter((a) => a.destination?.ip === '185.220.1.3');
    expect(pair).toHaveLength(1);
    const alert = Alert.parse(pair[0]);
    expect(emitted.filter((a) => a.id === alert.id).length).toBeGreaterThan(1); // updates are upserts of one id
    // Updated when the evidence doubles, grows, or hourly: the last update counts most of the flows.
    expect(alert.count).toBeGreaterThanOrEqual(48);
    expect(alert.count).toBeLessThanOrEqual(72);
    expect(alert.threat?.technique?.id).toEqual(expect.arrayContaining(['T1571', 'T1071']));
    expect(alert.threat?.tactic?.id).toEqual(['TA0011']);
    expect(alert.message).toMatch(/10\.0\.0\.9 → 185\.220\.1\.3:4433\/tcp \(ssl\)/);
    expect(alert.message).toMatch(/SSL on port 4433, which IANA does not register for SSL/);
    expect(alert.message).toMatch(/repeats every [\d.]+ min ±[\d.]+%/);
    expect(alert.explanation.features!.every((f) => f.value !== 0)).toBe(true);
    expect(['medium', 'high', 'critical']).toContain(alert.severity);
    // The first alert came within the first hour of the beacon.
    expect(Date.parse(alert['@timestamp']) - Date.parse(alert.first_seen)).toBeLessThan(3_600_000);
  });

  it('stays within a couple of alerts on a benign day it was not calibrated on', async () => {
    const { last } = await run(office(4));
    // Calibrated at one alert per host and day; three hosts.
    expect([...last.values()].filter((a) => a.rule.id.startsWith('c2-pair')).length).toBeLessThanOrEqual(6);
  });

  it('reports scans, DGA bursts and Internet background noise once per host and day', async () => {
    const scan = Array.from({ length: 300 }, (_, i) => conn(T0 + 100 + i * 0.5, '10.0.0.7', `10.0.1.${1 + (i % 30)}`, 1 + i, { service: '-', state: 'REJ', ob: 0, rb: 0 }));
    const noise = Array.from({ length: 400 }, (_, i) => conn(T0 + 200 + i * 10, `198.51.${i % 40}.${i % 7}`, '10.0.0.5', [23, 445, 22][i % 3]!, { service: '-', state: 'S0', ob: 0, rb: 0 }));
    const nx = Array.from({ length: 40 }, (_, i) => dns(T0 + 500 + i, '10.0.0.6', `q${i}xk${i * 7}.biz`, 'NXDOMAIN'));
    const { last } = await run([...scan, ...noise, ...nx, conn(T0 + 600, '10.0.0.6', '93.1.1.1', 443)]);
    const rules = [...last.values()].map((a) => a.rule.id.split('@')[0]).sort();
    expect(rules).toEqual(['dga-nxdomain', 'inbound-scan', 'port-scan']);
    const get = (id: string) => [...last.values()].find((a) => a.rule.id.startsWith(id))!;
    expect(get('port-scan').threat?.technique?.id).toEqual(['T1046']);
    expect(get('inbound-scan')).toMatchObject({ severity: 'low', destination: { ip: '10.0.0.5' } });
    expect(get('inbound-scan').threat?.technique?.id).toEqual(['T1595']);
    expect(get('dga-nxdomain').threat?.technique?.subtechnique?.id).toEqual(['T1568.002']);
  });

  it('a batch handled again (the bus retrying or bisecting it) is not counted twice, and its alerts come again', async () => {
    const r = rng(11);
    const c2: EcsEvent[] = [];
    for (let ts = T0 + 3600, i = 0; i < 48; i++, ts += 300 * (1 + (r() * 2 - 1) * 0.05)) c2.push(conn(ts, '10.0.0.9', '185.220.1.3', 4433, { ob: 700, rb: 300 }));
    const nx = Array.from({ length: 40 }, (_, i) => dns(T0 + 500 + i, '10.0.0.6', `q${i}zz.biz`, 'NXDOMAIN'));
    const batch = byTime([...office(5).slice(0, 500), ...c2, ...nx]);
    const tracker = new EvidenceTracker({ usage: reference.usage });
    const a = evidenceAnalyzer({ current: () => model, tracker, origin: { soc: 'test' }, tlp: 'AMBER' });
    const first = new Map((await a.analyze(batch)).map((x) => [x.id, x]));
    const pair = tracker.pair('10.0.0.9', '185.220.1.3')!;
    const snapshot = { flows: pair.flows, burst: pair.raw.burst, beacon: pair.raw.beacon, nx: tracker.hostActivity('10.0.0.6')!.nxMax };
    expect(snapshot.flows).toBe(48);
    // The whole batch again (a retry), then its halves (bisection): nothing is observed twice.
    const again = [...(await a.analyze(batch)), ...(await a.analyze(batch.slice(0, 300))), ...(await a.analyze(batch.slice(300)))];
    expect({ flows: pair.flows, burst: pair.raw.burst, beacon: pair.raw.beacon, nx: tracker.hostActivity('10.0.0.6')!.nxMax }).toEqual(snapshot);
    // Every alert of the first attempt (lost if that attempt failed) is emitted again, same id.
    const ids = new Set(again.map((x) => x.id));
    for (const [id, x] of first) expect(ids.has(id), `${x.rule.id} ${x.source?.ip} ${x.destination?.ip}`).toBe(true);
    expect(again.find((x) => x.destination?.ip === '185.220.1.3')?.count).toBe(48);
  });
});
