import { describe, expect, it } from 'vitest';
import { ConnState, type EcsEvent } from '@soc/schema';
import { FEATURES, FEATURE_COUNT, featureIndex, parseKddLine } from './features.ts';
import { FlowFeatureExtractor } from './extractor.ts';
import { flowFromEvent, type Flow } from './flow.ts';
import { CONN_STATE_TO_FLAG, FLAGS, SERVICES, kddService } from './vocab.ts';

const base: Flow = {
  ts: 1000, srcIp: '10.0.0.1', srcPort: 40000, dstIp: '10.0.0.9', dstPort: 80, proto: 'tcp', service: 'http',
  connState: 'SF', duration: 0.5, srcBytes: 200, dstBytes: 1000,
};
const flow = (o: Partial<Flow>): Flow => ({ ...base, ...o });
const get = (v: Float32Array, name: string) => v[featureIndex(name)]!;

describe('FEATURES', () => {
  it('has unique names and categorical vocabularies', () => {
    expect(new Set(FEATURES.map((f) => f.name)).size).toBe(FEATURE_COUNT);
    for (const f of FEATURES) expect(f.encoding === 'onehot').toBe(f.vocabulary !== undefined);
    expect(SERVICES).toHaveLength(70);
  });

  it('parses an NSL-KDD line with CRLF into FEATURES order', () => {
    const line = '2,tcp,ftp_data,SF,491,7,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,2,3,0.10,0.20,0.30,0.40,1.00,0.00,0.50,150,25,0.17,0.03,0.17,0.00,0.00,0.01,0.05,0.02,normal,20\r';
    const r = parseKddLine(line)!;
    expect(r.attack).toBe(false);
    expect([get(r.vector, 'duration'), get(r.vector, 'src_bytes'), get(r.vector, 'dst_bytes'), get(r.vector, 'count'), get(r.vector, 'srv_count')]).toEqual([2, 491, 7, 2, 3]);
    expect(get(r.vector, 'service')).toBe(SERVICES.indexOf('ftp_data'));
    expect(get(r.vector, 'protocol_type')).toBe(0);
    expect(get(r.vector, 'srv_diff_host_rate')).toBeCloseTo(0.5);
    expect(get(r.vector, 'dst_host_srv_serror_rate')).toBeCloseTo(0.01);
    expect(parseKddLine('\r')).toBeNull();
    expect(() => parseKddLine('1,tcp,http')).toThrow(/fields/);
    expect(parseKddLine(line.replace('normal', 'neptune'))!.attack).toBe(true);
  });
});

describe('vocabulary maps', () => {
  it('maps every Zeek conn_state to a KDD flag', () => {
    const expected: Record<string, string> = {
      S0: 'S0', S1: 'S1', SF: 'SF', REJ: 'REJ', S2: 'S2', S3: 'S3', RSTO: 'RSTO', RSTR: 'RSTR', RSTOS0: 'RSTOS0',
      RSTRH: 'RSTR', SH: 'SH', SHR: 'SH', OTH: 'OTH',
    };
    for (const state of ConnState.options) {
      expect(CONN_STATE_TO_FLAG[state]).toBe(expected[state]);
      const v = new FlowFeatureExtractor().push(flow({ connState: state }));
      expect(FLAGS[get(v, 'flag')]).toBe(expected[state]);
    }
  });

  it('maps Zeek services, then ports, then private/other', () => {
    expect(kddService('dns', 'udp', 5353, 53)).toBe('domain_u');
    expect(kddService('dns', 'tcp', 5353, 53)).toBe('domain');
    expect(kddService('ssl', 'tcp', 5000, 443)).toBe('http_443');
    expect(kddService('ssl,http', 'tcp', 5000, 8443)).toBe('http');
    expect(kddService('', 'tcp', 5000, 22)).toBe('ssh');
    expect(kddService('', 'udp', 5000, 123)).toBe('ntp_u');
    expect(kddService('', 'tcp', 5000, 6001)).toBe('X11');
    expect(kddService('', 'tcp', 5000, 31337)).toBe('private');
    expect(kddService('', 'tcp', 5000, 999)).toBe('other');
    expect(kddService('', 'icmp', 8, 0)).toBe('eco_i');
    expect(kddService('', 'icmp', 0, 0)).toBe('ecr_i');
    expect(kddService('', 'icmp', 3, 3)).toBe('urp_i');
  });
});

describe('FlowFeatureExtractor basic features', () => {
  it('sets land only for identical source and destination address and port', () => {
    const x = new FlowFeatureExtractor();
    expect(get(x.push(flow({ srcIp: '10.0.0.9', dstIp: '10.0.0.9', srcPort: 80, dstPort: 80 })), 'land')).toBe(1);
    expect(get(x.push(flow({ srcIp: '10.0.0.9', dstIp: '10.0.0.9', srcPort: 81, dstPort: 80 })), 'land')).toBe(0);
    expect(get(x.push(flow({})), 'land')).toBe(0);
  });

  it('encodes protocol, service, bytes and duration; unknown protocol is -1', () => {
    const v = new FlowFeatureExtractor().push(flow({ proto: 'sctp', service: '-', dstPort: 25 }));
    expect(get(v, 'protocol_type')).toBe(-1);
    expect(SERVICES[get(v, 'service')]).toBe('smtp');
    expect([get(v, 'duration'), get(v, 'src_bytes'), get(v, 'dst_bytes')]).toEqual([0.5, 200, 1000]);
  });
});

describe('FlowFeatureExtractor 2-second window', () => {
  it('counts same-host and same-service flows and evicts at 2 s', () => {
    const x = new FlowFeatureExtractor();
    x.push(flow({ ts: 0 }));
    x.push(flow({ ts: 0.5, dstPort: 22, service: 'ssh', connState: 'S0' }));
    x.push(flow({ ts: 1.0, dstIp: '10.0.0.8', connState: 'REJ' }));
    // At t=1.9: host .9 has {http SF, ssh S0, http SF(current)}; service http has {.9, .8 REJ, .9}.
    const v = x.push(flow({ ts: 1.9 }));
    expect(get(v, 'count')).toBe(3);
    expect(get(v, 'srv_count')).toBe(3);
    expect(get(v, 'serror_rate')).toBeCloseTo(1 / 3);
    expect(get(v, 'srv_serror_rate')).toBe(0);
    expect(get(v, 'rerror_rate')).toBe(0);
    expect(get(v, 'srv_rerror_rate')).toBeCloseTo(1 / 3);
    expect(get(v, 'same_srv_rate')).toBeCloseTo(2 / 3);
    expect(get(v, 'diff_srv_rate')).toBeCloseTo(1 / 3);
    expect(get(v, 'srv_diff_host_rate')).toBeCloseTo(1 / 3);
    // At t=2.0 the flow of t=0 is exactly 2 s old and leaves: window is (t-2, t].
    const w = x.push(flow({ ts: 2.0 }));
    expect(get(w, 'count')).toBe(3);
    expect(get(w, 'srv_count')).toBe(3);
    expect(get(w, 'same_srv_rate')).toBeCloseTo(2 / 3);
    // At t=3.85 only the flows of 1.9 and 2.0 remain (window (1.85, 3.85]), plus the current one.
    const z = x.push(flow({ ts: 3.85 }));
    expect(get(z, 'count')).toBe(3);
    expect(get(z, 'serror_rate')).toBe(0);
    expect(get(z, 'srv_rerror_rate')).toBe(0);
    expect(x.stats.timeWindowFlows).toBe(3);
    // At t=3.95 the flow of 1.9 has left too.
    expect(get(x.push(flow({ ts: 3.95 })), 'count')).toBe(3);
    expect(x.stats.timeWindowFlows).toBe(3);
  });

  it('caps the time window by count', () => {
    const x = new FlowFeatureExtractor({ maxTimeWindowFlows: 5 });
    let v: Float32Array = new Float32Array(0);
    for (let i = 0; i < 20; i++) v = x.push(flow({ ts: 10 + i * 0.001 }));
    expect(get(v, 'count')).toBe(5);
    expect(x.stats.timeWindowFlows).toBe(5);
  });

  it('admits late flows within tolerance and keeps older ones out of the windows', () => {
    const x = new FlowFeatureExtractor({ lateToleranceS: 1 });
    x.push(flow({ ts: 100 }));
    expect(get(x.push(flow({ ts: 99.5 })), 'count')).toBe(2); // within tolerance: joins
    expect(get(x.push(flow({ ts: 50 })), 'count')).toBe(3); // too late: counted for itself only
    expect(get(x.push(flow({ ts: 100.1 })), 'count')).toBe(3);
    expect(get(x.push(flow({ ts: 100.2 })), 'dst_host_count')).toBe(3); // the late one never joined
    expect(x.stats.late).toBe(1);
  });
});

describe('FlowFeatureExtractor host window', () => {
  it('computes host-window rates over previous connections to the host', () => {
    const x = new FlowFeatureExtractor();
    expect(get(x.push(flow({ ts: 0 })), 'dst_host_count')).toBe(0);
    x.push(flow({ ts: 10, connState: 'S0' }));
    x.push(flow({ ts: 20, dstPort: 22, service: 'ssh', connState: 'REJ', srcPort: 40001 }));
    x.push(flow({ ts: 30, dstIp: '10.0.0.7' }));
    const v = x.push(flow({ ts: 40 }));
    expect(get(v, 'dst_host_count')).toBe(3);
    expect(get(v, 'dst_host_srv_count')).toBe(2);
    expect(get(v, 'dst_host_same_srv_rate')).toBeCloseTo(2 / 3);
    expect(get(v, 'dst_host_diff_srv_rate')).toBeCloseTo(1 / 3);
    expect(get(v, 'dst_host_same_src_port_rate')).toBeCloseTo(2 / 3);
    expect(get(v, 'dst_host_serror_rate')).toBeCloseTo(1 / 3);
    expect(get(v, 'dst_host_srv_serror_rate')).toBeCloseTo(1 / 2);
    expect(get(v, 'dst_host_rerror_rate')).toBeCloseTo(1 / 3);
    expect(get(v, 'dst_host_srv_rerror_rate')).toBe(0);
    // Previous http connections (any host): .9, .9, .7 → one of three to a different host.
    expect(get(v, 'dst_host_srv_diff_host_rate')).toBeCloseTo(1 / 3);
  });

  it('keeps the last 100 connections per host', () => {
    const x = new FlowFeatureExtractor();
    x.push(flow({ ts: 0, dstPort: 22, service: 'ssh', connState: 'S0' }));
    for (let i = 1; i < 100; i++) x.push(flow({ ts: i * 10 }));
    const full = x.push(flow({ ts: 1000 }));
    expect(get(full, 'dst_host_count')).toBe(100);
    expect(get(full, 'dst_host_srv_count')).toBe(99);
    expect(get(full, 'dst_host_serror_rate')).toBeCloseTo(1 / 100);
    // The ssh flow has now been pushed out by the 101st connection.
    const after = x.push(flow({ ts: 1010 }));
    expect(get(after, 'dst_host_count')).toBe(100);
    expect(get(after, 'dst_host_srv_count')).toBe(100);
    expect(get(after, 'dst_host_same_srv_rate')).toBe(1);
    expect(get(after, 'dst_host_serror_rate')).toBe(0);
  });

  it('forgets the least recently seen host beyond maxHosts', () => {
    const x = new FlowFeatureExtractor({ maxHosts: 2 });
    x.push(flow({ ts: 0, dstIp: 'A' }));
    x.push(flow({ ts: 10, dstIp: 'B' }));
    x.push(flow({ ts: 20, dstIp: 'A' })); // A is now the most recent
    x.push(flow({ ts: 30, dstIp: 'C' })); // evicts B
    expect(x.stats.trackedHosts).toBe(2);
    expect(get(x.push(flow({ ts: 40, dstIp: 'A' })), 'dst_host_count')).toBe(2);
    expect(get(x.push(flow({ ts: 50, dstIp: 'B' })), 'dst_host_count')).toBe(0);
  });
});

describe('flowFromEvent', () => {
  const event = (o: Partial<EcsEvent> = {}): EcsEvent => ({
    '@timestamp': '2024-01-01T00:00:01.500Z',
    event: { id: 'x', kind: 'event', category: ['network'], type: ['connection'], dataset: 'zeek.conn', duration: 1_500_000_000 },
    source: { ip: '10.0.0.1', port: 4000, bytes: 10, packets: 2 },
    destination: { ip: '10.0.0.2', port: 53, bytes: 20 },
    network: { transport: 'UDP', protocol: 'dns' },
    zeek: { connection: { state: 'SF' } },
    ...o,
  });

  it('reads a flow event', () => {
    expect(flowFromEvent(event())).toEqual({
      ts: Date.UTC(2024, 0, 1, 0, 0, 1, 500) / 1000, srcIp: '10.0.0.1', srcPort: 4000, dstIp: '10.0.0.2', dstPort: 53,
      proto: 'udp', service: 'dns', connState: 'SF', duration: 1.5, srcBytes: 10, dstBytes: 20, srcPkts: 2,
    });
  });

  it('reads ICMP type and code where ECS events keep them (Zeek, Suricata), not from ports', () => {
    const zeek = flowFromEvent(event({ source: { ip: '10.0.0.1' }, destination: { ip: '10.0.0.2' }, network: { transport: 'icmp' }, zeek: { connection: { state: 'OTH', icmp: { type: 8, code: 0 } } } }));
    expect(zeek).toMatchObject({ proto: 'icmp', srcPort: 8, dstPort: 0 });
    const eve = flowFromEvent(event({ source: { ip: '10.0.0.1' }, destination: { ip: '10.0.0.2' }, network: { transport: 'icmp' }, zeek: undefined, suricata: { eve: { icmp_type: 3, icmp_code: 3, flow: { conn_state: 'S0' } } } }));
    expect(eve).toMatchObject({ srcPort: 3, dstPort: 3, connState: 'S0' });
  });

  it('returns null for non-flow events', () => {
    expect(flowFromEvent(event({ zeek: { connection: {} } }))).toBeNull();
    expect(flowFromEvent(event({ event: { ...event().event, category: ['authentication'] } }))).toBeNull();
    expect(flowFromEvent(event({ destination: { port: 53 } }))).toBeNull();
  });
});
