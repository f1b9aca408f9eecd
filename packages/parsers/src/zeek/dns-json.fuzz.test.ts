import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ABSENT, encoderContexts, expectEncodedAsParsed, field, fixtureLines, mutations, optional, pick, referenceEncoding } from '../testing.ts';
import { encodeZeekDnsJson } from './dns-json.ts';

/**
 * The dns encoder writes events without zod and without the mapper: here it is held to
 * `parseLine` + `JSON.stringify` on lines as Zeek's JSON writer writes dns.log, their mutations
 * and generated records of every shape. Whatever it takes must come out byte for byte the same.
 */

const CONTEXTS = encoderContexts({ zeekPath: 'dns' }, { zeekPath: 'conn' });
const expectSame = (lines: string[]): number => expectEncodedAsParsed(lines, encodeZeekDnsJson, ['auto', 'zeek'], CONTEXTS);

/** dns.log lines with the fields Zeek 6 writes (a lookup answered, one refused, one over TCP without answers). */
const LINES = [
  { _path: 'dns', ts: 1521911727.405641, uid: 'CHhAvVGS1DHFjwGM9', 'id.orig_h': '10.47.1.10', 'id.orig_p': 53218, 'id.resp_h': '10.47.1.1', 'id.resp_p': 53, proto: 'udp', trans_id: 48263, rtt: 0.012, query: 'www.example.org', qclass: 1, qclass_name: 'C_INTERNET', qtype: 1, qtype_name: 'A', rcode: 0, rcode_name: 'NOERROR', AA: false, TC: false, RD: true, RA: true, Z: 0, answers: ['93.184.216.34', 'www.example.org.cdn.net'], TTLs: [3600.0, 60.0], rejected: false },
  { ts: 1521911728.1, uid: 'C2', 'id.orig_h': 'fd00::10', 'id.orig_p': 40000, 'id.resp_h': 'fd00::1', 'id.resp_p': 53, proto: 'udp', trans_id: 7, query: 'xkcd7q9z.info', qclass: 1, qclass_name: 'C_INTERNET', qtype: 28, qtype_name: 'AAAA', rcode: 3, rcode_name: 'NXDOMAIN', AA: false, TC: false, RD: true, RA: false, Z: 0, rejected: false },
  { _path: 'dns', _write_ts: '2018-03-24T17:15:30.000000Z', ts: '2018-03-24T17:15:29.5Z', uid: 'C3', 'id.orig_h': '10.47.1.10', 'id.orig_p': 53219, 'id.resp_h': '8.8.8.8', 'id.resp_p': 53, proto: 'tcp', trans_id: 1, query: 'example.org', qtype_name: 'TXT', rejected: true },
].map((o) => JSON.stringify(o));

describe('Zeek dns JSON encoder against parseLine + JSON.stringify', () => {
  it('a dns line of the common shape is written directly, the same as the generic path', () => {
    const fast = encodeZeekDnsJson(LINES[0]!, CONTEXTS[1]!);
    expect(fast).toEqual(referenceEncoding(LINES[0]!, CONTEXTS[1]!));
    expect(fast?.json).toContain('"dns":{"id":"48263","question":{"name":"www.example.org","type":"A","class":"C_INTERNET"},"response_code":"NOERROR","answers":[{"data":"93.184.216.34"}');
  });

  it('dns lines, the fixtures and their mutations (rejections and edge cases included)', () => {
    const lines = [...LINES, ...['conn.json', 'suricata.eve.json', 'syslog.txt'].flatMap(fixtureLines)];
    const all = [...lines, ...mutations(lines), ...lines.map((l) => `${l}\r`), ...lines.map((l) => ` ${l}`)];
    expect(expectSame(all)).toBeGreaterThan(40);
  });

  it('generated dns records of every shape', () => {
    const address = field(pick('10.0.0.1', '192.168.1.5', '8.8.8.8', '2001:db8::1'), pick('fe80::1%eth0', '010.0.0.1', '', 7));
    const portish = field(fc.integer({ min: 0, max: 65535 }), pick(-1, 65536, 1.5, '53', null));
    const textish = optional(fc.oneof(fc.string({ maxLength: 12 }), pick('www.example.org', 'NOERROR', 'A')), pick(null, 5, { a: 1 }));
    const flag = optional(fc.boolean(), pick('T', null));
    const record = fc.record({
      _path: optional(pick('dns'), pick('conn', 'DNS', 1, null)),
      _write_ts: optional(pick('2018-03-24T17:15:22.100000Z'), pick({ a: 1 }, [1])),
      ts: field(fc.oneof(fc.double({ min: 0, max: 4e9, noNaN: true }), pick(1521911721.255387, '2018-03-24T17:15:22.000001Z')), pick('2026-02-30T00:00:00Z', 'x', null, true)),
      uid: field(pick('CHhAvVGS1DHFjwGM9', 'C\t"é'), pick('', 5)),
      'id.orig_h': address,
      'id.orig_p': portish,
      'id.resp_h': address,
      'id.resp_p': portish,
      proto: field(pick('udp', 'tcp'), pick('icmp', 'UDP', '', 17)),
      trans_id: optional(fc.integer({ min: 0, max: 65535 }), pick('7', [7], 1.5, null)),
      rtt: optional(fc.double({ min: 0, max: 5, noNaN: true }), pick(null)),
      query: textish,
      qclass: optional(fc.nat(), pick(null)),
      qclass_name: textish,
      qtype: optional(fc.nat(), pick(null)),
      qtype_name: textish,
      rcode: optional(fc.nat(), pick(null)),
      rcode_name: textish,
      AA: flag, TC: flag, RD: flag, RA: flag,
      Z: optional(fc.nat(), pick(null)),
      answers: optional(fc.oneof(fc.array(fc.oneof(fc.string({ maxLength: 8 }), fc.nat(), fc.boolean()), { maxLength: 3 }), pick(['93.184.216.34'])), pick('x', [null], [{ a: 1 }], [[1]])),
      TTLs: optional(fc.array(fc.double({ min: 0, max: 1e5, noNaN: true }), { maxLength: 3 }), pick([null])),
      rejected: flag,
      community_id: optional(pick('1:wF2IkIWv08XMfs195LL7pZkMscQ=', 'x'.repeat(128)), pick('', 'x'.repeat(129), 5)),
      extra: optional(pick({}), pick({ conn_state: 'SF' }, { note: 'x' }, { event_type: 'alert' }, { '@timestamp': '2018-03-24T17:15:22Z', event: { kind: 'event' } }, { till: 5 }, { id: { orig_h: '1.2.3.4' } }, { '5': 'x' }, JSON.parse('{"__proto__":{"x":1}}'))),
    });
    const drop = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== ABSENT));
    let direct = 0, runs = 0;
    fc.assert(
      fc.property(record, fc.boolean(), (r, reverse) => {
        const { extra, ...fields } = r;
        const entries = Object.entries(drop({ ...fields, ...(extra === ABSENT ? {} : (extra as object)) }));
        direct += expectSame([JSON.stringify(Object.fromEntries(reverse ? entries.reverse() : entries))]);
        runs++;
      }),
      { numRuns: Math.max(3000, Number(process.env.FUZZ_RUNS ?? 100)) },
    );
    // Both sides were exercised: lines written directly (in up to six contexts each) and lines handed to parseLine.
    expect(direct).toBeGreaterThan(runs / 2);
    expect(direct).toBeLessThan(runs * 5);
  });
});
