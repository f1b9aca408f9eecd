import { describe, expect, it } from 'vitest';
import { ValidationError } from '@soc/errors';
import { QueryError, parseEventQuery, parseQuery } from './parse.ts';
import { evaluate } from './evaluate.ts';
import { TEXT_FIELDS } from './fields.ts';

const text = (words: string[], prefix = false, fields = TEXT_FIELDS) => ({ kind: 'text', fields, words, prefix });

describe('query parser', () => {
  it('parses terms, phrases, -term, NOT, AND, OR and parentheses with the usual precedence', () => {
    expect(parseQuery('scan -ssh')).toEqual({ kind: 'and', children: [text(['scan']), { kind: 'not', child: text(['ssh']) }] });
    expect(parseQuery('ssh OR mssql')).toEqual({ kind: 'or', children: [text(['ssh']), text(['mssql'])] });
    expect(parseQuery('a or b and not c')).toEqual({
      kind: 'or',
      children: [text(['a']), { kind: 'and', children: [text(['b']), { kind: 'not', child: text(['c']) }] }],
    });
    expect(parseQuery('(a OR b) c')).toEqual({ kind: 'and', children: [{ kind: 'or', children: [text(['a']), text(['b'])] }, text(['c'])] });
    expect(parseQuery('"Port  Scan" exfil*')).toEqual({ kind: 'and', children: [text(['port', 'scan']), text(['exfil'], true)] });
    expect(parseQuery('foo-ba*')).toEqual({ kind: 'and', children: [text(['foo']), text(['ba'], true)] });
    expect(parseQuery('"AND"')).toEqual(text(['and']));
    expect(parseQuery('')).toEqual({ kind: 'all' });
    expect(parseQuery('  *  ')).toEqual({ kind: 'all' });
  });

  it('types field values: keywords, globs, severity, numbers, addresses, CIDR, times', () => {
    expect(parseQuery('severity:high')).toEqual({ kind: 'range', field: 'severity', op: 'eq', value: 3 });
    expect(parseQuery('severity >= HIGH')).toEqual({ kind: 'range', field: 'severity', op: 'gte', value: 3 });
    expect(parseQuery('score>=0.8')).toEqual({ kind: 'range', field: 'score', op: 'gte', value: 0.8 });
    expect(parseQuery('host.name:web-*')).toEqual({ kind: 'keyword', field: 'host.name', value: 'web-*', wildcard: true });
    expect(parseQuery('host.name:"web-*"')).toEqual({ kind: 'keyword', field: 'host.name', value: 'web-*', wildcard: false });
    expect(parseQuery('source.ip:10.0.0.0/8')).toMatchObject({ kind: 'ip', field: 'source.ip', cidr: { version: 4, prefix: 8, network: 10n << 24n } });
    expect(parseQuery('ip:2001:db8::1')).toMatchObject({ kind: 'ip', field: 'ip', cidr: { version: 6, prefix: 128 } });
    expect(parseQuery('@timestamp > now-1h')).toEqual({ kind: 'time', field: '@timestamp', op: 'gt', at: { offsetMs: -3_600_000 } });
    expect(parseQuery('last_seen <= 2024-03-01')).toEqual({ kind: 'time', field: 'last_seen', op: 'lte', at: { absoluteMs: Date.parse('2024-03-01T00:00:00Z') } });
    expect(parseQuery('message:"port scan"')).toEqual(text(['port', 'scan'], false, ['message']));
    expect(parseQuery('detector:(suricata OR anomaly)')).toEqual({
      kind: 'or',
      children: [
        { kind: 'keyword', field: 'detector', value: 'suricata', wildcard: false },
        { kind: 'keyword', field: 'detector', value: 'anomaly', wildcard: false },
      ],
    });
  });

  const bad: [string, number, RegExp][] = [
    ["'", 0, /no letter or digit/],
    ['"scan', 0, /unterminated quote/],
    ['scan )', 5, /unmatched "\)"/],
    ['(scan', 5, /expected "\)"/],
    ['()', 1, /empty parentheses/],
    ['nosuch:x', 0, /unknown field "nosuch"/],
    ['severity:urgent', 9, /severity is one of/],
    ['score >= high', 9, /takes a number/],
    ['source.ip:10.0.0.0/33', 10, /address or a CIDR/],
    ['@timestamp > yesterday', 13, /not a time/],
    ['host.name > a', 12, /compare with ":"/],
    ['scan AND', 8, /ends where a term was expected/],
    ['OR scan', 0, /"OR" where a term/],
    ['>= 3', 0, /needs a field/],
    ['sc*an', 0, /wildcard in free text/],
    ['detector:', 9, /expected a value/],
    ['detector:(a OR host.name:b)', 15, /field inside/],
  ];
  it.each(bad)('refuses %j at position %i', (q, pos, msg) => {
    let err: unknown;
    try {
      parseQuery(q);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(QueryError);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as QueryError).position).toBe(pos);
    expect((err as QueryError).reason).toMatch(msg);
    expect((err as QueryError).message).toContain(`position ${pos}`);
  });

  it('bounds length and nesting', () => {
    expect(() => parseQuery('a '.repeat(1100))).toThrow(QueryError);
    expect(() => parseQuery('('.repeat(40) + 'a' + ')'.repeat(40))).toThrow(/nesting/);
    expect(() => parseQuery('NOT '.repeat(40) + 'a')).toThrow(/nesting/);
  });
});

describe('query evaluation', () => {
  const now = Date.parse('2024-03-01T12:00:00Z');
  const doc = {
    message: 'Port scan from Héllo',
    rule: { name: 'ET SCAN Potential SSH Scan', id: '2001219' },
    explanation: { summary: 'many ports' },
    severity: 'high',
    score: 0.85,
    host: { name: 'web-01' },
    source: { ip: '10.1.2.3', port: 5555 },
    destination: { ip: '2001:db8::1' },
    '@timestamp': '2024-03-01T11:30:00Z',
  };
  const cases: [string, boolean][] = [
    ['scan', true],
    ['scan -ssh', false],
    ['scan -mssql', true],
    ['ssh OR mssql', true],
    ['mssql OR telnet', false],
    ['hello', true],
    ['"scan from"', true],
    ['"from scan"', false],
    ['severity:high', true],
    ['severity >= critical', false],
    ['score >= 0.8 AND score < 0.9', true],
    ['source.ip:10.0.0.0/8', true],
    ['source.ip:192.168.0.0/16', false],
    ['ip:2001:db8::/32', true],
    ['destination.ip:2001:db8:0:0::1', true],
    ['@timestamp > now-1h', true],
    ['@timestamp > now-15m', false],
    ['host.name:web-*', true],
    ['host.name:web-?1', true],
    ['host.name:WEB-*', false],
    ['host.name:*', true],
    ['network.protocol:*', false],
    ['message:ports', false],
    ['explanation.summary:ports', true],
    ['rule.id:2001219 source.port:5555', true],
    ['NOT (scan OR ssh)', false],
  ];
  it.each(cases)('%s -> %s', (q, want) => {
    expect(evaluate(parseQuery(q), doc, now)).toBe(want);
  });
});

describe('hunt queries over raw ECS events', () => {
  const now = Date.parse('2026-03-01T12:00:00Z');
  // As the collector writes a Zeek dns record and a Suricata TLS record (shapes from @soc/parsers).
  const dns = {
    '@timestamp': '2026-03-01T11:50:00Z',
    event: { id: 'ev-dns-1', kind: 'event', category: ['network'], type: ['protocol'], dataset: 'zeek.dns' },
    source: { ip: '10.0.0.7', port: 53211 },
    destination: { ip: '10.0.0.53', port: 53 },
    network: { transport: 'udp', protocol: 'dns' },
    dns: { question: { name: 'kq3vz8.example-dga.net' }, response_code: 'NXDOMAIN' },
    related: { ip: ['10.0.0.7', '10.0.0.53'] },
  };
  const tls = {
    '@timestamp': '2026-03-01T09:00:00Z',
    event: { id: 'ev-tls-1', kind: 'event', category: ['network'], dataset: 'suricata.tls' },
    source: { ip: '10.0.0.7', port: 50123 },
    destination: { ip: '203.0.113.9', port: 4433, bytes: 1200 },
    tls: { client: { server_name: 'cdn.example.org', ja3: 'e7d705a3286e19ea42f587b344ee6865' } },
  };
  const cases: [string, boolean, boolean][] = [
    ['dns.question.name:*.example-dga.net', true, false],
    ['dns.response_code:NXDOMAIN AND source.ip:10.0.0.0/8', true, false],
    ['event.category:network', true, true],
    ['event.dataset:suricata.* destination.port >= 1024', false, true],
    ['tls.client.ja3:e7d705a3286e19ea42f587b344ee6865', false, true],
    ['ip:203.0.113.0/24', false, true],
    ['destination.bytes > 1000', false, true],
    ['@timestamp > now-1h', true, false],
    ['NOT event.dataset:zeek.dns', false, true],
  ];
  it.each(cases)('%s -> dns %s, tls %s', (q, wantDns, wantTls) => {
    const tree = parseEventQuery(q);
    expect([evaluate(tree, dns, now), evaluate(tree, tls, now)]).toEqual([wantDns, wantTls]);
  });

  it('keeps the alert fields and the event fields apart, naming the known ones', () => {
    expect(() => parseEventQuery('severity:high')).toThrow(/unknown field "severity" \(known: message, rule.name, event.id/);
    expect(() => parseQuery('dns.question.name:x')).toThrow(/unknown field "dns.question.name"/);
    expect(() => parseEventQuery('destination.port:https')).toThrow(QueryError);
    expect(parseEventQuery('beacon')).toEqual({ kind: 'text', fields: ['message', 'rule.name'], words: ['beacon'], prefix: false });
  });
});
