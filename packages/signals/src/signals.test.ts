import { describe, expect, it } from 'vitest';
import type { Flow } from '@soc/features';
import type { EcsEvent } from '@soc/schema';
import { combine, fitTail, kthCut, tailP } from './calibrate.ts';
import { contextFromEvent, isIpLiteral, type Context } from './context.ts';
import { EvidenceTracker, type PairEvidence } from './evidence.ts';
import { fitReference, fitSiteEvidence, scoreEvidence } from './evidence-calibrate.ts';
import { registeredFor } from './iana.ts';
import { LruMap } from './lru.ts';
import { internalClassifier } from './net.ts';
import { CidrSet } from '@soc/netaddr';

/** Seeded PRNG (an LCG is plenty for test data). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
}

const flow = (ts: number, src: string, dst: string, dstPort: number, extra: Partial<Flow> = {}): Flow => ({
  ts, srcIp: src, srcPort: 50000, dstIp: dst, dstPort, proto: 'tcp', service: 'ssl', connState: 'SF', duration: 0.3, srcBytes: 300, dstBytes: 300, ...extra,
});

describe('internalClassifier', () => {
  it('separates private, special and internet addresses, with site CIDRs', () => {
    const internal = internalClassifier(['203.0.113.0/24']);
    for (const ip of ['10.1.2.3', '172.20.0.1', '192.168.1.1', '169.254.1.1', '224.0.0.251', '255.255.255.255', '10.1.255.255', 'fd00::1', 'fe80::1%eth0', 'ff02::fb', '203.0.113.9', 'garbage'])
      expect(internal(ip), ip).toBe(true);
    for (const ip of ['8.8.8.8', '185.100.1.2', '2001:db8::1', '172.32.0.1']) expect(internal(ip), ip).toBe(false);
  });
  it('answers IPv4 by integer ranges exactly as the strict parser does', () => {
    const internal = internalClassifier(['198.51.100.0/25']);
    const r = rng(3);
    for (let i = 0; i < 5000; i++) {
      const o = () => String(Math.floor(r() * 256));
      const ip = r() < 0.3 ? `${['10', '172', '192', '100', '169', '198', '224', '0'][i % 8]}.${o()}.${o()}.${o()}` : `${o()}.${o()}.${o()}.${o()}`;
      const slow = new CidrSet(['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '127.0.0.0/8', '169.254.0.0/16', '100.64.0.0/10', '224.0.0.0/4', '240.0.0.0/4', '0.0.0.0/8', '198.51.100.0/25']).contains(ip) || ip.endsWith('.255');
      expect(internal(ip), ip).toBe(slow);
    }
    // Not strict dotted quads: never taken for an Internet peer.
    for (const ip of ['010.1.2.3', '1.2.3', '1.2.3.4.5', '256.1.1.1', '1..2.3', '']) expect(internal(ip), ip).toBe(true);
  });
});

const pairOf = (t: EvidenceTracker, f: Flow): PairEvidence => {
  const x = t.observe(f);
  if (x.kind !== 'outbound') throw new Error(`expected an outbound flow, got ${x.kind}`);
  return x.pair;
};

describe('IANA service registry', () => {
  it('knows which ports are registered for the protocols Zeek names', () => {
    expect(registeredFor('ssl', 'tcp', 443)).toBe(true);
    expect(registeredFor('ssl', 'tcp', 993)).toBe(true); // imaps
    expect(registeredFor('ssl', 'tcp', 8883)).toBe(true); // secure-mqtt
    expect(registeredFor('ssl', 'tcp', 447)).toBe(false);
    expect(registeredFor('http', 'tcp', 8080)).toBe(true);
    expect(registeredFor('http', 'tcp', 4444)).toBe(false);
    expect(registeredFor('irc', 'tcp', 6667)).toBe(true);
    expect(registeredFor('ssl,http', 'tcp', 80)).toBe(true);
    expect(registeredFor('dns', 'udp', 53)).toBe(true);
    expect(registeredFor('-', 'tcp', 1337)).toBeUndefined();
    expect(registeredFor('gquic', 'udp', 443)).toBeUndefined();
  });
});

describe('beacon evidence', () => {
  function beacon(intervals: () => number, n = 120): number {
    const t = new EvidenceTracker();
    let ts = 1_700_000_000;
    let last = 0;
    for (let i = 0; i < n; i++) {
      last = pairOf(t, flow(ts, '10.0.0.5', '185.1.2.3', 4443)).raw.beacon;
      ts += intervals();
    }
    return last;
  }
  it('scores a jittered periodic series far above a bursty human one', () => {
    const r = rng(7);
    const periodic = beacon(() => 60 * (1 + (r() * 2 - 1) * 0.3));
    const human = beacon(() => -Math.log(1 - r()) * 60 * (r() < 0.2 ? 20 : 1));
    expect(periodic).toBeGreaterThan(0.6);
    expect(human).toBeLessThan(periodic - 0.2);
  });
  it('keeps internal traffic and Internet scanners out of the pair evidence', () => {
    const t = new EvidenceTracker();
    expect(t.observe(flow(1000, '10.0.0.5', '10.0.0.2', 53)).kind).toBe('local');
    expect(t.observe(flow(1000, '198.51.100.7', '10.0.0.2', 22, { connState: 'S0' })).kind).toBe('inbound');
    // The sensor's own flags win over address ranges: a workstation on a public address.
    expect(t.observe(flow(1000, '147.32.81.167', '40.74.1.1', 443, { localOrig: true, localResp: false })).kind).toBe('outbound');
  });
});

describe('pair evidence', () => {
  it('flags a protocol on a port not registered for it, only once data flowed', () => {
    const t = new EvidenceTracker();
    expect(pairOf(t, flow(1, '10.0.0.5', '185.1.2.3', 447, { connState: 'S0', srcBytes: 0, dstBytes: 0 })).raw.service_port).toBe(0);
    expect(pairOf(t, flow(2, '10.0.0.5', '185.1.2.3', 447)).raw.service_port).toBe(1);
    expect(pairOf(t, flow(3, '10.0.0.5', '93.184.216.34', 443)).raw.service_port).toBe(0);
  });
  it('counts rotating destinations that share an odd port', () => {
    const t = new EvidenceTracker();
    let p: PairEvidence | undefined;
    for (let i = 0; i < 5; i++) p = pairOf(t, flow(10 * i, '10.0.0.5', `185.1.2.${i + 1}`, 449));
    expect(p!.raw.rotation).toBe(5);
    expect(pairOf(t, flow(60, '10.0.0.5', '93.184.216.34', 443)).raw.rotation).toBe(0);
  });
  it('counts a dense burst of sessions, decayed over minutes, not probes nor name lookups', () => {
    const t = new EvidenceTracker();
    let p: PairEvidence | undefined;
    // 700 connections in 8 minutes, records in connection-end order (starts slightly shuffled).
    for (let i = 0; i < 700; i++) p = pairOf(t, flow(1000 + i * 0.7 + (i % 3 === 0 ? 2 : 0), '10.0.0.5', '185.1.2.3', 6606, { service: '' }));
    expect(p!.raw.burst).toBeGreaterThan(300);
    // The same 700 spread over a day: a few at a time.
    let slow: PairEvidence | undefined;
    for (let i = 0; i < 700; i++) slow = pairOf(t, flow(1000 + i * 120, '10.0.0.5', '185.1.2.9', 6606, { service: '' }));
    expect(slow!.raw.burst).toBeLessThan(4);
    // A vertical scan's failed probes and a resolver's lookups are not sessions of a channel.
    let scan: PairEvidence | undefined;
    for (let i = 0; i < 700; i++) scan = pairOf(t, flow(1000 + i * 0.1, '10.0.0.5', '185.1.2.7', 1 + i, { service: '', connState: 'REJ', srcBytes: 0, dstBytes: 0 }));
    expect(scan!.raw.burst).toBe(0);
    let dns: PairEvidence | undefined;
    for (let i = 0; i < 700; i++) dns = pairOf(t, flow(1000 + i * 0.5, '10.0.0.5', '8.8.8.8', 53, { proto: 'udp', service: 'dns' }));
    expect(dns!.raw.burst).toBe(0);
  });
  it('uses DNS answers when the sensor writes them: no lookup before the connection', () => {
    const t = new EvidenceTracker();
    t.observeContext({ kind: 'dns', ts: 1, host: '10.0.0.5', query: 'example.com', rcode: 'NOERROR', answers: ['93.184.216.34'] });
    expect(pairOf(t, flow(2, '10.0.0.5', '93.184.216.34', 443)).raw.no_dns).toBe(0);
    pairOf(t, flow(3, '10.0.0.5', '185.1.2.3', 443));
    expect(pairOf(t, flow(4, '10.0.0.5', '185.1.2.3', 443)).raw.no_dns).toBeCloseTo(Math.log1p(2));
    // Without any DNS from the host (conn logs only) the evidence is simply absent.
    expect(pairOf(new EvidenceTracker(), flow(2, '10.0.0.6', '185.1.2.3', 443)).raw.no_dns).toBe(0);
  });
  it('counts NXDOMAIN bursts per host and self-signed TLS per pair', () => {
    const t = new EvidenceTracker();
    for (let i = 0; i < 30; i++) t.observeContext({ kind: 'dns', ts: 100 + i, host: '10.0.0.5', query: `x${i}.biz`, rcode: 'NXDOMAIN', answers: [] });
    pairOf(t, flow(140, '10.0.0.5', '185.1.2.3', 443));
    expect(t.hostActivity('10.0.0.5')!.nxMax).toBe(30);
    t.observeContext({ kind: 'tls', ts: 141, src: '10.0.0.5', dst: '185.1.2.3', serverName: 'a.test', selfSigned: true, invalid: false, ja3: '', ja4: '' });
    expect(pairOf(t, flow(142, '10.0.0.5', '185.1.2.3', 443)).raw.tls_cert).toBe(1);
  });
});

describe('protocol context from events', () => {
  const base = { '@timestamp': '2026-11-01T12:00:00.000Z', event: { id: 'e', kind: 'event', category: ['network'], type: ['protocol'], dataset: 'zeek.dns' }, source: { ip: '10.0.0.5' }, destination: { ip: '10.0.0.1' } };
  it('reads Zeek/Suricata dns, tls and http records and ignores flows', () => {
    expect(contextFromEvent({ ...base, dns: { question: { name: 'Evil.Example' }, response_code: 'NXDOMAIN' } } as EcsEvent)).toMatchObject({ kind: 'dns', host: '10.0.0.5', query: 'evil.example', rcode: 'NXDOMAIN' });
    expect(contextFromEvent({ ...base, destination: { ip: '185.1.2.3' }, tls: { client: { server_name: '' }, server: { subject: 'CN=x', issuer: 'CN=x' } } } as EcsEvent)).toMatchObject({ kind: 'tls', selfSigned: true, serverName: '' });
    expect(contextFromEvent({ ...base, destination: { ip: '185.1.2.3' }, http: {}, url: { domain: '185.1.2.3:8080' } } as EcsEvent)).toMatchObject({ kind: 'http', directIp: true });
    expect(contextFromEvent({ ...base, zeek: { connection: { state: 'SF' } } } as EcsEvent)).toBeNull();
    expect(isIpLiteral('[2001:db8::1]:443')).toBe(true);
    expect(isIpLiteral('example.com')).toBe(false);
  });
});

describe('bounded memory', () => {
  it('keeps at most the capped number of pairs, hosts and groups however many are seen', () => {
    const t = new EvidenceTracker({ maxPairs: 1000, maxHosts: 10, maxGroups: 50 });
    for (let i = 0; i < 20_000; i++) t.observe(flow(i, `10.0.${i % 50}.1`, `93.${(i >> 8) & 255}.${i & 255}.1`, 1024 + (i % 3000), { connState: i % 2 ? 'REJ' : 'SF' }));
    const s = t.stats();
    expect(s.pairs).toBeLessThanOrEqual(1000);
    expect(s.hosts).toBeLessThanOrEqual(10);
    expect(s.groups).toBeLessThanOrEqual(50);
  });
  it('the LRU map keeps what was touched within the last cap/2 insertions, never more than cap', () => {
    const m = new LruMap<number, number>(100);
    m.set(-1, -1);
    for (let i = 0; i < 10_000; i++) {
      m.set(i, i);
      if (i % 40 === 0) expect(m.get(-1)).toBe(-1); // touched every 40 < 50 insertions: kept
      expect(m.size).toBeLessThanOrEqual(100);
    }
    expect(m.get(0)).toBeUndefined(); // untouched for 10 000 insertions: forgotten
    expect(m.get(9_999)).toBe(9_999);
    m.set(9_999, 1); // a re-set shadows the old value
    expect(m.get(9_999)).toBe(1);
    expect(m.evictions).toBeGreaterThan(9_000);
  });
});

/** A benign workstation day (synthetic): HTTPS to a long tail of sites, DNS, NTP, one update server. */
function workstationDay(seed: number, host = '10.0.0.5', t0 = 1_700_000_000): Flow[] {
  const r = rng(seed);
  const out: Flow[] = [];
  for (let i = 0; i < 1500; i++) {
    const ts = t0 + r() * 86_400;
    const site = `93.${Math.floor(r() ** 2 * 200)}.${seed}.${Math.floor(r() * 20)}`;
    out.push(flow(ts, host, site, 443, { duration: r() * 30, srcBytes: 500 + r() * 3000, dstBytes: 2000 + r() * 50_000 }));
    if (r() < 0.1) out.push(flow(ts + 0.5, host, site, 80, { service: 'http', duration: 0.2, srcBytes: 400, dstBytes: 900 }));
  }
  for (let ts = t0; ts < t0 + 86_400; ts += 3600) out.push(flow(ts, host, '13.107.4.50', 443, { duration: 0.4, srcBytes: 900, dstBytes: 4000 }));
  return out.sort((a, b) => a.ts - b.ts);
}

describe('reference and site calibration', () => {
  it('the reference threshold keeps benign days near one alert per host and day, and a C2 above it', () => {
    const c = fitReference([workstationDay(1), workstationDay(2, '10.0.0.6')], { sources: ['synthetic'] });
    // 2 host-days: a budget of 2, ties at the top may add as many again (kthCut never falls silent).
    expect(c.baseline.alertedPairs).toBeLessThanOrEqual(4);
    expect(c.tails.rarity).toBeUndefined(); // a site scorer: no tail in the shipped reference
    const t = new EvidenceTracker({ usage: c.usage });
    let best = 0;
    for (let i = 0; i < 60; i++) {
      const p = pairOf(t, flow(1_700_000_000 + i * 300 * (1 + (i % 3) * 0.02), '10.0.0.9', '185.1.2.3', 4443, { duration: 1, srcBytes: 700, dstBytes: 300 }));
      best = Math.max(best, scoreEvidence(c, p.raw).statistic);
    }
    expect(best).toBeGreaterThan(c.threshold);
  });
  it('a site fit keeps the priors and cannot raise the threshold from less than a day', () => {
    const ref = fitReference([workstationDay(1)], { sources: ['synthetic'] });
    const short = workstationDay(3).filter((f) => f.ts < 1_700_000_000 + 3 * 3600);
    const site = fitSiteEvidence(short, ref, { sources: ['short'] });
    expect(site.kind).toBe('site');
    expect(site.tails.service_port).toEqual(ref.tails.service_port);
    expect(site.tails.rarity).toBeDefined();
    expect(site.threshold).toBeLessThanOrEqual(ref.threshold);
  });
});

describe('client rarity at the site (JA3/JA4, User-Agent)', () => {
  it('is scored only when the baseline had protocol logs, and a client no other host resembles stands out', () => {
    const hosts = Array.from({ length: 12 }, (_, i) => `10.0.0.${10 + i}`);
    const flows: Flow[] = [];
    const contexts: Context[] = [];
    for (let i = 0; i < 2400; i++) {
      const h = hosts[i % hosts.length]!;
      const dst = `93.${i % 40}.1.${(i * 7) % 50}`;
      const ts = 1_700_000_000 + i * 30;
      contexts.push({ kind: 'tls', ts, src: h, dst, serverName: 'site.test', selfSigned: false, invalid: false, ja3: 'browser-ja3', ja4: '' });
      contexts.push({ kind: 'http', ts, src: h, dst, hostHeader: 'site.test', directIp: false, userAgent: 'Mozilla/5.0 (Windows NT 10.0)' });
      flows.push(flow(ts, h, dst, 443, { duration: 1 }));
    }
    const ref = fitReference([workstationDay(1)], { sources: ['synthetic'] });
    const withLogs = fitSiteEvidence(flows, ref, { sources: ['site'], contexts });
    expect(withLogs.tails.tls_client).toBeDefined();
    expect(withLogs.tails.user_agent).toBeDefined();
    // Conn logs only: no tail, the scorers stay off (an all-zero tail would make every client surprising).
    const connOnly = fitSiteEvidence(flows, ref, { sources: ['site'] });
    expect(connOnly.tails.tls_client).toBeUndefined();
    expect(connOnly.tails.user_agent).toBeUndefined();
    // At run time: one host with a fingerprint and agent nobody else has.
    const t = new EvidenceTracker({ usage: ref.usage });
    for (const c of contexts.slice(0, 200)) t.observeContext(c);
    t.observeContext({ kind: 'tls', ts: 1, src: '10.0.0.10', dst: '185.1.2.3', serverName: 'x.test', selfSigned: false, invalid: false, ja3: '', ja4: 't13d1516h2_8daaf6152771_e5627efa2ab1' });
    t.observeContext({ kind: 'http', ts: 1, src: '10.0.0.10', dst: '185.1.2.3', hostHeader: 'x.test', directIp: false, userAgent: 'python-requests/2.31' });
    const odd = pairOf(t, flow(2, '10.0.0.10', '185.1.2.3', 443));
    const usual = pairOf(t, flow(2, '10.0.0.11', '93.1.1.7', 443));
    expect(odd.raw.tls_client).toBe(1);
    expect(odd.raw.user_agent).toBe(1);
    expect(usual.raw.tls_client).toBeLessThanOrEqual(1 / 12);
    const p = (raw: PairEvidence['raw'], s: 'tls_client' | 'user_agent') => scoreEvidence(withLogs, raw).terms.find((x) => x.scorer === s)!.p;
    expect(p(odd.raw, 'tls_client')).toBeLessThan(0.01);
    expect(p(odd.raw, 'user_agent')).toBeLessThan(0.01);
    expect(p(usual.raw, 'tls_client')).toBe(1);
  });
});

describe('calibration', () => {
  it('tail probabilities are empirical and never zero', () => {
    const t = fitTail([0, 0, 1, 2, 3]);
    expect(tailP(t, 0)).toBe(1);
    expect(tailP(t, 3)).toBeCloseTo(2 / 6);
    // Beyond the largest value: a Pareto tail (p ∝ max/x), bounded at min(1000, n+1)× below 1/(n+1).
    expect(tailP(t, 6)).toBeCloseTo(1 / 12);
    expect(tailP(t, 99)).toBeCloseTo(1 / 36); // bound for n = 5: 1/(6·6)
    const big = fitTail(Array.from({ length: 5000 }, (_, i) => i % 10));
    expect(tailP(big, 90)).toBeCloseTo(9 / 90 / 5001);
    expect(tailP(big, 1e9)).toBeCloseTo(1 / 1000 / 5001);
  });
  it('truncated Fisher ignores unremarkable scorers', () => {
    expect(combine([0.5, 0.9, 1], 0.05)).toBe(0);
    expect(combine([0.01, 0.5], 0.05)).toBeCloseTo(-2 * Math.log(0.01));
  });
});

describe('kthCut', () => {
  it('alerts strictly above the k-th largest value', () => {
    const v = Float64Array.from([1, 9, 3, 7, 5]);
    expect(kthCut(v, 2)).toBe(5);
    expect([...v].filter((x) => x > kthCut(v, 2))).toEqual([9, 7]);
    expect(kthCut(v, 0)).toBe(9);
  });

  it('does not fall silent when the top values tie', () => {
    const v = Float64Array.from([8, 8, 8, 8, 2, 1]);
    const cut = kthCut(v, 2);
    expect([...v].filter((x) => x > cut)).toEqual([8, 8, 8, 8]);
  });
});
