import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EcsEvent } from '@soc/schema';
import { normaliseBatch, parseLine } from './parse.ts';
import type { Format, ParseContext } from './types.ts';

/**
 * Parser boundaries, property-based: Zeek TSV headers and rows, Suricata records and syslog
 * lines. For every input: no throw, no "internal parser error", every line is an event that the
 * schema accepts, a rejection with a reason, or a consumed Zeek header line.
 */

const RECEIVED = new Date('2026-01-01T00:00:00Z');

function assertAccounted(lines: string[], ctx: ParseContext): { parsed: number; rejected: number; directives: number } {
  const { outcomes, stats } = normaliseBatch(lines, ctx);
  expect(outcomes.length).toBe(lines.length);
  expect(stats.parsed + stats.rejected + stats.directives).toBe(lines.length);
  for (const o of outcomes) {
    if (o === null) continue;
    if (o.ok) expect(EcsEvent.safeParse(o.event).success).toBe(true);
    else {
      expect(o.reason.length).toBeGreaterThan(0);
      expect(o.reason).not.toMatch(/^internal parser error/);
    }
  }
  return stats;
}

// ---------------------------------------------------------------- Zeek TSV

const ZEEK_TYPES = ['time', 'interval', 'double', 'count', 'int', 'port', 'bool', 'string', 'addr', 'subnet', 'enum', 'set[string]', 'vector[count]', 'table[addr]', 'set[bogus]', 'record', ''];
const ZEEK_FIELDS = ['ts', 'uid', 'id.orig_h', 'id.orig_p', 'id.resp_h', 'id.resp_p', 'proto', 'service', 'duration', 'orig_bytes', 'resp_bytes', 'conn_state', 'history', 'orig_pkts', 'resp_pkts', 'query', 'note', 'msg', 'src', 'dst'];
const value = fc.oneof(
  fc.constantFrom('-', '(empty)', '1700000000.123456', '0.5', '-1', '99999999999999999999', 'T', 'F', '10.0.0.1', '2001:db8::1', 'not-an-ip', 'tcp', 'SF', 'ShADadFf', 'a,b', '\\x09', '\\xff', '1e309', 'NaN', '80', '65536'),
  fc.string({ maxLength: 20 }).map((s) => s.replace(/[\t\n]/g, ' ')),
);
const zeekFile = fc
  .record({
    separator: fc.constantFrom('\\x09', '\\x09', '\\x2c', ' ', '\\x', '\\x00'),
    setSeparator: fc.constantFrom(',', '|', ''),
    path: fc.oneof(fc.constantFrom('conn', 'dns', 'notice', 'weird', 'x509', 'unknown'), fc.string({ maxLength: 12 })),
    fields: fc.uniqueArray(fc.oneof(fc.constantFrom(...ZEEK_FIELDS), fc.string({ maxLength: 8 })), { maxLength: 12 }),
    extraTypes: fc.integer({ min: -2, max: 2 }),
    rows: fc.array(fc.array(value, { maxLength: 14 }), { maxLength: 12 }),
    noise: fc.array(fc.constantFrom('#open\t2026', '#close\t2026', '#unknown\tx', '#', '#fields', '#types', '#separator', ''), { maxLength: 3 }),
  })
  .chain((f) =>
    fc.array(fc.constantFrom(...ZEEK_TYPES), { minLength: Math.max(0, f.fields.length + f.extraTypes), maxLength: Math.max(0, f.fields.length + f.extraTypes) }).map((types) => {
      const sep = f.separator === '\\x09' ? '\t' : f.separator === '\\x2c' ? ',' : f.separator;
      return [
        `#separator ${f.separator}`,
        `#set_separator${sep}${f.setSeparator}`,
        `#empty_field${sep}(empty)`,
        `#unset_field${sep}-`,
        `#path${sep}${f.path}`,
        `#fields${sep}${f.fields.join(sep)}`,
        `#types${sep}${types.join(sep)}`,
        ...f.noise,
        ...f.rows.map((r) => r.join(sep)),
      ].filter((l) => l !== '');
    }),
  );

describe('fuzz: Zeek TSV headers and rows', () => {
  for (const format of ['zeek', 'auto'] as Format[]) {
    it(`${format}: any header, any rows`, () => {
      fc.assert(fc.property(zeekFile, (lines) => void assertAccounted(lines, { format, source: 'fuzz', receivedAt: RECEIVED })));
    });
  }
});

// ---------------------------------------------------------------- Suricata

const anyValue = fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.constantFrom(1e308, -0, 4294967296, 'NaN', '', 'x'.repeat(5000)));
const suricata = fc.record(
  {
    timestamp: fc.oneof(fc.constantFrom('2026-11-01T12:00:00.123456+0000', '2026-11-01T12:00:00Z', 'nope', '2026-13-01T00:00:00Z'), anyValue),
    event_type: fc.oneof(fc.constantFrom('alert', 'flow', 'dns', 'http', 'tls', 'anomaly', 'fileinfo', 'stats', 'netflow'), anyValue),
    src_ip: fc.oneof(fc.ipV4(), fc.ipV6(), anyValue),
    dest_ip: fc.oneof(fc.ipV4(), fc.ipV6(), anyValue),
    src_port: fc.oneof(fc.integer({ min: -1, max: 70000 }), anyValue),
    dest_port: fc.oneof(fc.integer({ min: -1, max: 70000 }), anyValue),
    proto: anyValue,
    alert: fc.oneof(fc.record({ signature_id: anyValue, signature: anyValue, category: anyValue, severity: anyValue, metadata: anyValue }, { requiredKeys: [] }), anyValue),
    flow: fc.oneof(fc.record({ bytes_toserver: anyValue, bytes_toclient: anyValue, pkts_toserver: anyValue, start: anyValue, end: anyValue, state: anyValue }, { requiredKeys: [] }), anyValue),
    dns: anyValue,
    http: anyValue,
    anomaly: anyValue,
  },
  { requiredKeys: [] },
);

describe('fuzz: Suricata EVE records', () => {
  for (const format of ['suricata', 'auto'] as Format[]) {
    it(`${format}: any record`, () => {
      fc.assert(fc.property(fc.array(suricata, { maxLength: 8 }), (recs) => void assertAccounted(recs.map((r) => JSON.stringify(r)), { format, source: 'fuzz', receivedAt: RECEIVED })));
    });
  }
});

// ---------------------------------------------------------------- syslog

const syslogLine = fc
  .tuple(
    fc.oneof(fc.integer({ min: 0, max: 200 }).map((p) => `<${p}>`), fc.constantFrom('', '<>', '<-1>', '<0013>', '<999999999999>')),
    fc.oneof(
      fc.constantFrom('1 ', '2 ', '1  ', ''),
      fc.constant(''),
    ),
    fc.oneof(
      fc.constantFrom('2026-11-01T12:00:00.123Z ', '2026-11-01T12:00:00+02:00 ', '- ', 'Oct 11 22:14:15 ', 'Feb 29 00:00:00 ', 'Oct  1 01:02:03 ', '2026-02-30T00:00:00Z '),
      fc.string({ maxLength: 30 }).map((s) => s + ' '),
    ),
    fc.oneof(fc.constantFrom('host ', '- ', ''), fc.string({ maxLength: 20 }).map((s) => s + ' ')),
    fc.oneof(fc.constantFrom('app[123]: ', 'app: ', 'app - ID47 ', '- - ', 'app 99999999999 - '), fc.string({ maxLength: 20 })),
    fc.oneof(fc.constantFrom('[exampleSDID@32473 iut="3" eventSource="App"] ', '[a b="\\"]"] ', '[', '- ', '[x@1 k="v"][y@2] '), fc.constant('')),
    fc.string({ unit: 'grapheme', maxLength: 200 }),
  )
  .map((parts) => parts.join('').replace(/\n/g, ' '));

describe('fuzz: syslog lines through the parser', () => {
  for (const format of ['syslog', 'auto'] as Format[]) {
    it(`${format}: RFC 5424, RFC 3164 and neither`, () => {
      fc.assert(fc.property(fc.array(fc.oneof(syslogLine, fc.string({ unit: 'binary', maxLength: 100 })), { maxLength: 10 }), (lines) => void assertAccounted(lines, { format, source: 'fuzz', receivedAt: RECEIVED })));
    });
  }

  it('parses a well-formed RFC 5424 line whatever its message', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 191 }), fc.string({ unit: 'grapheme', maxLength: 300 }).map((s) => s.replace(/[\r\n]/g, ' ')), (pri, msg) => {
        const r = parseLine(`<${pri}>1 2026-11-01T12:00:00.000Z host app 42 ID1 - ${msg}`, { format: 'syslog', source: 'fuzz', receivedAt: RECEIVED });
        expect(r.ok).toBe(true);
      }),
    );
  });
});

// ---------------------------------------------------------------- whitespace-only lines

describe('fuzz: whitespace-only lines are rejected with a reason, never dropped', () => {
  it('any mix of Unicode whitespace', () => {
    const ws = fc.constantFrom(' ', '\t', '\v', '\f', '\u00a0', '\u1680', '\u2000', '\u200a', '\u2028', '\u2029', '\u202f', '\u205f', '\u3000', '\ufeff', '\u0085');
    fc.assert(
      fc.property(fc.array(ws, { minLength: 1, maxLength: 6 }).map((a) => a.join('')), fc.constantFrom<Format>('auto', 'zeek', 'suricata', 'syslog', 'ecs'), (line, format) => {
        const r = parseLine(line, { format, source: 'fuzz', receivedAt: RECEIVED });
        expect(r.ok).toBe(false);
        if (!r.ok) expect(r.reason.length).toBeGreaterThan(0);
      }),
    );
  });
});
