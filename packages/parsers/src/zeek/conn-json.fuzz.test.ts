import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readLines } from '../io.ts';
import { ABSENT, encoderContexts, expectEncodedAsParsed, field, fixtureLines, mutations, optional, pick, referenceEncoding } from '../testing.ts';
import { encodeZeekConnJson } from './conn-json.ts';
import { parseZeekTsvRow, ZeekTsvReader } from './tsv.ts';

/**
 * The conn encoder writes events without zod and without the mapper: here it is held to
 * `parseLine` + `JSON.stringify` (the path every other line takes, validated by `EcsEvent`) on
 * the fixtures, their mutations, generated records of every shape and, when present, the real
 * Zeek captures rewritten as Zeek's JSON writer would write them. Whatever the encoder takes must
 * come out byte for byte the same, with the same bus key; what it leaves, `encodeLine` hands on.
 */

const REAL = new URL('../../../../../shared/data/zeek-real/', import.meta.url).pathname;
const CONTEXTS = encoderContexts({ zeekPath: 'conn' }, { zeekPath: 'dns' });
const expectSame = (lines: string[]): number => expectEncodedAsParsed(lines, encodeZeekConnJson, ['auto', 'zeek'], CONTEXTS);

describe('Zeek conn JSON encoder against parseLine + JSON.stringify', () => {
  it('a conn line of the common shape is written directly, the same as the generic path', () => {
    const [line] = fixtureLines('conn.json');
    const fast = encodeZeekConnJson(line!, CONTEXTS[1]!);
    expect(fast).toEqual(referenceEncoding(line!, CONTEXTS[1]!));
    expect(fast?.key).toBe('10.47.3.200');
  });

  it('an observer object changed between calls is read again, not taken from the last line', () => {
    const [line] = fixtureLines('conn.json');
    const observer: { ip?: string; name?: string } = { ip: '127.0.0.1' };
    const ctx = { ...CONTEXTS[0]!, observer };
    expect(encodeZeekConnJson(line!, ctx)?.json).toContain('"observer":{"ip":"127.0.0.1"}');
    observer.ip = '10.9.9.9';
    observer.name = 'sensor-9';
    expect(encodeZeekConnJson(line!, ctx)).toEqual(referenceEncoding(line!, ctx));
    expect(encodeZeekConnJson(line!, ctx)?.json).toContain('"observer":{"name":"sensor-9","ip":"10.9.9.9"}');
  });

  it('every fixture line and their mutations (rejections and edge cases included)', () => {
    const lines = ['conn.json', 'conn.tsv.log', 'suricata.eve.json', 'syslog.txt'].flatMap(fixtureLines);
    const mutated = mutations(lines);
    const all = [...lines, ...mutated, ...lines.map((l) => `${l}\r`), ...lines.map((l) => ` ${l}`)];
    expect(expectSame(all)).toBeGreaterThan(40);
  });

  it('generated conn records of every shape', () => {
    const address = field(pick('10.0.0.1', '192.168.1.5', '8.8.8.8', '2001:db8::1', 'fd00::5'), pick('fe80::1%eth0', '010.0.0.1', '', 'x', 7, '10.0.0.1 '));
    const portish = field(fc.integer({ min: 0, max: 65535 }), pick(-1, 65536, 1.5, '80', null));
    const countish = optional(fc.oneof(fc.nat(), pick(0, 2 ** 52)), pick(-1, 1.5, 2 ** 53, '5', null));
    const record = fc.record({
      _path: optional(pick('conn'), pick('dns', 'CONN', 1)),
      _write_ts: optional(pick('2018-03-24T17:15:22.100000Z'), pick(5, null)),
      ts: field(fc.oneof(fc.double({ min: 0, max: 4e9, noNaN: true }), pick(1521911721.255387, '2018-03-24T17:15:22.000001Z', '2018-03-24 17:15:22')), fc.oneof(fc.double({ noNaN: true }), pick('2026-02-30T00:00:00Z', 'x', null, 1e300))),
      uid: field(pick('CHhAvVGS1DHFjwGM9', 'C\t"é'), fc.oneof(pick('', 5), fc.string({ maxLength: 8 }))),
      'id.orig_h': address,
      'id.orig_p': portish,
      'id.resp_h': address,
      'id.resp_p': portish,
      proto: field(pick('tcp', 'udp'), pick('icmp', 'TCP', 'sctp', '', 6)),
      service: optional(fc.oneof(pick('ssl', 'http,ssl', 'x'.repeat(64)), fc.string({ minLength: 1, maxLength: 6 })), pick('', 'x'.repeat(65), null)),
      duration: optional(fc.oneof(fc.double({ min: 0, max: 1e6, noNaN: true }), pick(0, 1.5, 9.1e6)), pick(-1, 1e300, '1.5')),
      orig_bytes: countish,
      resp_bytes: countish,
      conn_state: field(pick('SF', 'S0', 'REJ', 'OTH', 'RSTRH'), pick('XX', '__proto__', 'constructor', '', 3)),
      local_orig: optional(fc.boolean(), pick('T', null)),
      local_resp: optional(fc.boolean(), pick('F', null)),
      missed_bytes: countish,
      history: optional(fc.oneof(pick('ShADadFf', 'S', ''), fc.string({ maxLength: 6 })), pick(null, 1)),
      orig_pkts: countish,
      orig_ip_bytes: countish,
      resp_pkts: countish,
      resp_ip_bytes: countish,
      tunnel_parents: optional(pick([], ['CabC']), pick([1], [null], 'x')),
      orig_l2_addr: optional(pick('00:11:22:33:44:55', 'x'.repeat(64)), pick('', 'x'.repeat(65))),
      resp_l2_addr: optional(pick('66:77:88:99:aa:bb'), pick(null)),
      vlan: optional(fc.integer(), pick('10', true)),
      community_id: optional(fc.oneof(pick('1:wF2IkIWv08XMfs195LL7pZkMscQ=', '', 'x'.repeat(128)), fc.string({ maxLength: 4 })), pick('x'.repeat(129), 5)),
      extra: optional(pick({}), pick({ foo: 1 }, { id: { orig_h: '1.2.3.4' } }, { state: 'S0' }, { note: 'x' }, { event_type: 'alert' }, { '@timestamp': '2018-03-24T17:15:22Z' }, { ip_proto: 6 }, { inner_vlan: null })),
    });
    let direct = 0, runs = 0;
    fc.assert(
      fc.property(record, fc.boolean(), (r, reverse) => {
        const { extra, ...fields } = r;
        const entries = Object.entries({ ...fields, ...(extra === ABSENT ? {} : (extra as object)) }).filter(([, v]) => v !== ABSENT);
        direct += expectSame([JSON.stringify(Object.fromEntries(reverse ? entries.reverse() : entries))]);
        runs++;
      }),
      { numRuns: Math.max(3000, Number(process.env.FUZZ_RUNS ?? 100)) },
    );
    // Both sides were exercised: lines written directly (in up to four contexts each) and lines handed to parseLine.
    expect(direct).toBeGreaterThan(runs / 2);
    expect(direct).toBeLessThan(runs * 3);
  });

  const captures = existsSync(REAL) ? readdirSync(REAL).filter((d) => existsSync(join(REAL, d, 'conn.log.gz'))) : [];
  if (!captures.length) console.warn(`skipping the real-capture part of the conn encoder comparison: ${REAL} not found`);
  it.skipIf(!captures.length)('the real Zeek conn logs, as Zeek writes them in JSON (epoch and ISO 8601 times)', { timeout: 300_000 }, async () => {
    let lines = 0, direct = 0;
    for (const d of captures) {
      const reader = new ZeekTsvReader();
      const json: string[] = [];
      for await (const line of readLines(join(REAL, d, 'conn.log.gz'))) {
        if (reader.accept(line) === 'directive' || !reader.header) continue;
        const r = parseZeekTsvRow(reader.header, line);
        if (!r.ok) continue;
        const ts = r.record.fields.ts as string;
        // Zeek's JSON writer: epoch seconds by default, ISO 8601 with JSON::TS_ISO8601; `_path` only on some writers.
        const epoch = Date.parse(`${ts.slice(0, 19)}Z`) / 1000 + Number(`0.${ts.slice(20, -1)}`);
        json.push(JSON.stringify(json.length % 2 ? { _path: 'conn', ...r.record.fields, ts: +epoch.toFixed(6) } : r.record.fields));
        if (json.length >= 2000) break;
      }
      lines += json.length;
      direct += expectSame(json);
    }
    expect(lines).toBeGreaterThan(5000);
    // Most real conn lines are of the common shape (ICMP and odd records are not).
    expect(direct).toBeGreaterThan(lines);
  });
});
