import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeSuricataAlertJson } from './suricata-alert-json.ts';
import { ABSENT, encoderContexts, expectEncodedAsParsed, field, fixtureLines, mutations, optional, pick, referenceEncoding } from './testing.ts';

/**
 * The alert encoder writes events without zod and without the mapper: here it is held to
 * `parseLine` + `JSON.stringify` on the fixtures, their mutations and generated alerts of every
 * shape. Whatever it takes must come out byte for byte the same, with the same bus key.
 */

const CONTEXTS = encoderContexts();
const expectSame = (lines: string[]): number => expectEncodedAsParsed(lines, encodeSuricataAlertJson, ['auto', 'suricata'], CONTEXTS);

/** An alert as Suricata 7 writes one with its flow, HTTP and rule metadata (the EVE documentation's fields). */
const FULL = JSON.stringify({
  timestamp: '2024-05-06T10:02:03.123456+0200', flow_id: 1_676_775_106_924_582, in_iface: 'enp0s3', event_type: 'alert', src_ip: '10.20.1.5', src_port: 51234,
  dest_ip: '203.0.113.9', dest_port: 80, proto: 'TCP', pkt_src: 'wire/pcap', community_id: '1:3YIl7vtZ7jY5/x0m5l4PsXF2b5E=', tx_id: 0,
  alert: { action: 'allowed', gid: 1, signature_id: 2_019_401, rev: 4, signature: 'ET POLICY Vulnerable Java Version 1.8.x Detected', category: 'Potentially Bad Traffic', severity: 2,
    metadata: { created_at: ['2014_10_15'], updated_at: ['2019_07_26'], signature_severity: ['Minor'] } },
  http: { hostname: 'example.net', url: '/jre/', http_user_agent: 'Java/1.8.0_66', http_content_type: 'text/html', http_method: 'GET', protocol: 'HTTP/1.1', status: 200, length: 12 },
  app_proto: 'http', direction: 'to_server',
  flow: { pkts_toserver: 4, pkts_toclient: 3, bytes_toserver: 420, bytes_toclient: 500, start: '2024-05-06T10:02:03.000001+0200', src_ip: '10.20.1.5', dest_ip: '203.0.113.9', src_port: 51234, dest_port: 80 },
});

describe('Suricata alert encoder against parseLine + JSON.stringify', () => {
  it('an alert of the common shape is written directly, the same as the generic path', () => {
    const fast = encodeSuricataAlertJson(FULL, CONTEXTS[2]!);
    expect(fast).toEqual(referenceEncoding(FULL, CONTEXTS[2]!));
    expect(fast?.key).toBe('203.0.113.9');
  });

  it('every fixture line and their mutations (rejections and edge cases included)', () => {
    const lines = ['suricata.eve.json', 'conn.json', 'syslog.txt', FULL].flatMap((f) => (f.startsWith('{') ? [f] : fixtureLines(f)));
    // The fixture's alert names its sensor (`host`), which the encoder leaves to parseLine: a copy without it is taken.
    const withoutHost = lines.filter((l) => l.includes('"event_type":"alert"')).map((l) => JSON.stringify({ ...(JSON.parse(l) as object), host: undefined }));
    const all = [...lines, ...withoutHost, ...mutations([...lines, ...withoutHost]), ...lines.map((l) => `${l}\r`), ...lines.map((l) => ` ${l}`)];
    expect(expectSame(all)).toBeGreaterThan(30);
  });

  it('generated alerts of every shape', () => {
    const address = field(pick('10.0.0.1', '192.168.1.5', '8.8.8.8', '2001:db8::1', 'fd00::5'), pick('fe80::1%eth0', '010.0.0.1', '', 7));
    const portish = field(fc.integer({ min: 0, max: 65535 }), pick(-1, 65536, 1.5, '80', null));
    const nested = fc.oneof(pick({ a: 1 }, { a: [1, { b: 2 }] }, [1, 'x'], 'text', 5, true), pick({}, { a: {} }, [{}], { __proto__x: 1 }, JSON.parse('{"__proto__":{"x":1}}')));
    const strOf = (max: number) => fc.oneof(fc.string({ minLength: 1, maxLength: 8 }), pick('x'.repeat(max), 'ET SCAN Suspicious inbound to mySQL port 3306', 'Ünïcode "quoted" \\ \n'));
    const alert = fc.record({
      action: optional(pick('allowed', 'blocked', 'drop', 'x'.repeat(256)), pick('', 'x'.repeat(257), 5, null)),
      gid: optional(fc.nat(), pick(null)),
      signature_id: optional(fc.oneof(fc.integer({ min: 1, max: 3e9 }), pick('2010935', 'x'.repeat(128))), pick(true, 'x'.repeat(129), '', null, 1.5)),
      rev: optional(fc.nat(), pick('1')),
      signature: optional(strOf(1024), pick('', 'x'.repeat(1025), 5)),
      category: optional(strOf(256), pick('', 'x'.repeat(257))),
      severity: optional(fc.integer({ min: 0, max: 1000 }), pick(1.5, -1, 1001, '1', null)),
      metadata: optional(pick({ signature_severity: ['Major'], tag: ['c2'] }), nested),
    });
    const record = fc.record({
      timestamp: field(pick('2024-05-06T10:02:03.123456+0200', '2018-03-24T17:15:22.123456+0000', '2018-03-24T17:15:22Z', 1521911721.5), pick('2024-02-30T00:00:00+0000', 'x', null)),
      flow_id: optional(fc.nat(), pick('x')),
      in_iface: optional(pick('eth0'), pick(null)),
      event_type: field(pick('alert'), pick('flow', 'dns', 'Alert')),
      src_ip: address,
      src_port: portish,
      dest_ip: address,
      dest_port: portish,
      proto: field(pick('TCP', 'UDP', 'tcp', 'udp'), pick('ICMP', 'IPv6-ICMP', 'SCTP', '', 6)),
      app_proto: optional(pick('http', 'tls', 'SMB', 'failed', 'x'.repeat(64)), pick('', 'x'.repeat(65), 'İ'.repeat(40), 5)),
      community_id: optional(pick('1:3YIl7vtZ7jY5/x0m5l4PsXF2b5E=', 'x'.repeat(128)), pick('', 'x'.repeat(129), 5)),
      alert: field(alert, pick(null, 'x', [], {})),
      flow: optional(pick({ pkts_toserver: 4, pkts_toclient: 3, start: '2024-05-06T10:02:03.000001+0200' }), nested),
      http: optional(pick({ hostname: 'example.net', url: '/', status: 200 }), nested),
      payload: optional(pick('R0VUIC8gSFRUUC8xLjENCg=='), pick(null)),
      host: optional(pick(ABSENT), pick('sensor-1')),
      extra: optional(pick({}), pick({ '@timestamp': '2024-05-06T10:02:03Z' }, { event: { kind: 'alert' } }, { conn_state: 'SF' }, JSON.parse('{"__proto__":{"x":1}}'))),
    });
    const drop = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== ABSENT));
    let direct = 0, runs = 0;
    fc.assert(
      fc.property(record, fc.boolean(), (r, reverse) => {
        const { extra, alert: a, ...fields } = r;
        const entries = Object.entries(drop({ ...fields, alert: typeof a === 'object' && a !== null && !Array.isArray(a) && Object.keys(a).length ? drop(a as Record<string, unknown>) : a, ...(extra === ABSENT ? {} : (extra as object)) }));
        direct += expectSame([JSON.stringify(Object.fromEntries(reverse ? entries.reverse() : entries))]);
        runs++;
      }),
      { numRuns: Math.max(3000, Number(process.env.FUZZ_RUNS ?? 100)) },
    );
    // Both sides were exercised: alerts written directly (in up to six contexts each) and lines handed to parseLine.
    expect(direct).toBeGreaterThan(runs / 2);
    expect(direct).toBeLessThan(runs * 4);
  });
});
