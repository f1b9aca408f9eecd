import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConnState } from '@soc/schema';
import { FEATURE_COUNT, featureIndex } from './features.ts';
import { FlowFeatureExtractor, type ExtractorOptions } from './extractor.ts';
import type { Flow } from './flow.ts';
import { CONN_STATE_TO_FLAG, FLAGS, PROTOCOLS, RERROR_FLAGS, SERROR_FLAGS, SERVICES, kddService } from './vocab.ts';

/**
 * The extractor keeps running counts (O(1) per flow); this reference recounts every feature from
 * the flows themselves, by the definitions, on each push. The two must agree bit for bit (the
 * vectors are float32, as the model reads them), whatever the order, lateness and caps, and
 * whether a vector is written alone or into a batch matrix. A fast path that miscounts,
 * forgets an eviction or reuses a stale window fails here.
 */
interface Seen { ts: number; host: string; srv: number; srcPort: number; serror: boolean; rerror: boolean }

function reference(o: Required<ExtractorOptions>): (f: Flow) => Float32Array {
  const time: Seen[] = [];
  const hosts = new Map<string, Seen[]>(); // Map order: least recently joined first
  const services = new Map<number, string[]>();
  let watermark = -Infinity;
  return (f) => {
    const flag = CONN_STATE_TO_FLAG[f.connState] ?? 'OTH';
    const srv = SERVICES.indexOf(kddService(f.service === '-' ? '' : f.service, f.proto, f.srcPort, f.dstPort));
    const cur: Seen = { ts: f.ts, host: f.dstIp, srv, srcPort: f.srcPort, serror: SERROR_FLAGS.has(flag), rerror: RERROR_FLAGS.has(flag) };
    const onTime = f.ts >= watermark - o.lateToleranceS;
    if (onTime) {
      watermark = Math.max(watermark, f.ts);
      // The window is a queue in arrival order: it drops from its head only.
      while (time.length && (time[0]!.ts <= watermark - o.timeWindowS || time.length >= o.maxTimeWindowFlows)) time.shift();
    }
    const win = [...time, cur];
    if (onTime) time.push(cur);
    const ratio = (a: number, b: number) => (b === 0 ? 0 : a / b);
    const v = new Float32Array(FEATURE_COUNT);
    const set = (name: string, x: number) => (v[featureIndex(name)] = x);
    set('duration', Math.max(0, f.duration));
    set('protocol_type', (PROTOCOLS as readonly string[]).indexOf(f.proto));
    set('service', srv);
    set('flag', FLAGS.indexOf(flag));
    set('src_bytes', f.srcBytes);
    set('dst_bytes', f.dstBytes);
    set('land', f.srcIp === f.dstIp && f.srcPort === f.dstPort ? 1 : 0);
    const sameHost = win.filter((x) => x.host === cur.host);
    const sameSrv = win.filter((x) => x.srv === srv);
    set('count', sameHost.length);
    set('srv_count', sameSrv.length);
    set('serror_rate', ratio(sameHost.filter((x) => x.serror).length, sameHost.length));
    set('srv_serror_rate', ratio(sameSrv.filter((x) => x.serror).length, sameSrv.length));
    set('rerror_rate', ratio(sameHost.filter((x) => x.rerror).length, sameHost.length));
    set('srv_rerror_rate', ratio(sameSrv.filter((x) => x.rerror).length, sameSrv.length));
    set('same_srv_rate', ratio(sameHost.filter((x) => x.srv === srv).length, sameHost.length));
    set('diff_srv_rate', ratio(sameHost.filter((x) => x.srv !== srv).length, sameHost.length));
    set('srv_diff_host_rate', ratio(sameSrv.filter((x) => x.host !== cur.host).length, sameSrv.length));
    const h = hosts.get(cur.host) ?? [];
    const hs = h.filter((x) => x.srv === srv);
    set('dst_host_count', h.length);
    set('dst_host_srv_count', hs.length);
    set('dst_host_same_srv_rate', ratio(hs.length, h.length));
    set('dst_host_diff_srv_rate', ratio(h.length - hs.length, h.length));
    set('dst_host_same_src_port_rate', ratio(h.filter((x) => x.srcPort === f.srcPort).length, h.length));
    set('dst_host_serror_rate', ratio(h.filter((x) => x.serror).length, h.length));
    set('dst_host_srv_serror_rate', ratio(hs.filter((x) => x.serror).length, hs.length));
    set('dst_host_rerror_rate', ratio(h.filter((x) => x.rerror).length, h.length));
    set('dst_host_srv_rerror_rate', ratio(hs.filter((x) => x.rerror).length, hs.length));
    const s = services.get(srv) ?? [];
    set('dst_host_srv_diff_host_rate', ratio(s.filter((x) => x !== cur.host).length, s.length));
    if (onTime) {
      // The last hostWindow flows per destination (the least recently joined destination is
      // forgotten beyond maxHosts) and per service.
      if (!hosts.has(cur.host) && hosts.size >= o.maxHosts) hosts.delete(hosts.keys().next().value!);
      hosts.delete(cur.host);
      hosts.set(cur.host, [...h, cur].slice(-o.hostWindow));
      services.set(srv, [...s, cur.host].slice(-o.hostWindow));
    }
    return v;
  };
}

const flowArb = (hosts: number): fc.Arbitrary<{ dt: number; flow: Omit<Flow, 'ts'> }> =>
  fc.record({
    // Mostly forward in time, sometimes late (within the tolerance or beyond it).
    dt: fc.oneof({ weight: 6, arbitrary: fc.double({ min: 0, max: 1.5, noNaN: true }) }, { weight: 1, arbitrary: fc.double({ min: -5, max: 0, noNaN: true }) }),
    flow: fc.record({
      srcIp: fc.constantFrom('10.0.0.1', '10.0.0.2', '10.0.0.9'),
      srcPort: fc.constantFrom(0, 8, 40000, 40001, 55555),
      dstIp: fc.integer({ min: 0, max: hosts - 1 }).map((i) => (i === 0 ? '10.0.0.1' : `192.0.2.${i}`)),
      dstPort: fc.constantFrom(0, 22, 53, 80, 443, 6001, 8080, 40000),
      proto: fc.constantFrom('tcp', 'udp', 'icmp', 'sctp'),
      service: fc.constantFrom('', '-', 'http', 'ssl', 'dns', 'ssl,http', 'SSH', 'weird'),
      connState: fc.constantFrom(...ConnState.options),
      duration: fc.double({ min: -1, max: 100, noNaN: true }),
      srcBytes: fc.nat(1e9),
      dstBytes: fc.nat(1e9),
    }),
  });

/** The float32 bit patterns: -0 and 0, or two NaNs, are not the same input to the model. */
const bits = (v: Float32Array) => Array.from(new Uint32Array(Float32Array.from(v).buffer));

const OPTIONS: Required<ExtractorOptions>[] = [
  { timeWindowS: 2, hostWindow: 100, maxHosts: 50_000, maxTimeWindowFlows: 200_000, lateToleranceS: 1 },
  { timeWindowS: 2, hostWindow: 3, maxHosts: 3, maxTimeWindowFlows: 4, lateToleranceS: 0.5 },
];

describe('FlowFeatureExtractor against a recount by the definitions', () => {
  for (const o of OPTIONS) {
    it(`agrees bit for bit, alone and in a batch matrix (${JSON.stringify(o)})`, () => {
      fc.assert(
        fc.property(fc.array(flowArb(6), { minLength: 1, maxLength: 120 }), (steps) => {
          const ref = reference(o);
          const x = new FlowFeatureExtractor(o);
          const y = new FlowFeatureExtractor(o);
          const matrix = new Float32Array((steps.length + 1) * FEATURE_COUNT).fill(-7);
          let ts = 1_700_000_000;
          steps.forEach(({ dt, flow }, i) => {
            ts += dt;
            const f: Flow = { ts, ...flow };
            const want = ref(f);
            expect(bits(x.push(f))).toEqual(bits(want));
            // Row i+1 of the matrix, so that an offset mistake lands in another row.
            expect(y.push(f, matrix, (i + 1) * FEATURE_COUNT)).toBe(matrix);
            expect(bits(matrix.subarray((i + 1) * FEATURE_COUNT, (i + 2) * FEATURE_COUNT))).toEqual(bits(want));
          });
          // Nothing written outside the rows asked for.
          expect(Array.from(matrix.subarray(0, FEATURE_COUNT))).toEqual(new Array(FEATURE_COUNT).fill(-7));
        }),
      );
    });
  }

  it('agrees bit for bit on a long sequence whose 2 s window outgrows its first storage while wrapped', () => {
    const o = OPTIONS[0]!;
    const ref = reference(o);
    const x = new FlowFeatureExtractor(o);
    // 600 flows 5 ms apart (the window slides, so its head has moved on), then 1,800 flows 0.1 ms
    // apart: the window passes 1,024 and then 2,048 flows with its oldest flow mid-storage.
    const flows = fc.sample(flowArb(40).map((s) => s.flow), { seed: 11, numRuns: 2400 });
    let ts = 1_700_000_000;
    flows.forEach((flow, i) => {
      ts += i < 600 ? 0.005 : 0.0001;
      const f: Flow = { ts, ...flow };
      expect(bits(x.push(f))).toEqual(bits(ref(f)));
    });
    expect(x.stats.timeWindowFlows).toBeGreaterThan(2048);
  });
});
