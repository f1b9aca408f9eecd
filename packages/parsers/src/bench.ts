import { encodeLine } from './encode.ts';
import { normaliseBatch } from './parse.ts';
import type { Format, ParseContext } from './types.ts';
import { parseZeekTsvHeader } from './zeek/tsv.ts';

/**
 * Throughput of parse + normalise + validate, per format, on generated lines (no I/O).
 * Returns lines per second; the caller prints or compares them.
 */
export interface ParserBenchResult {
  format: string;
  lines: number;
  seconds: number;
  linesPerSecond: number;
  /** `encodeLine` (parse, validate and serialise, what the collector runs; direct encoders included) on the same lines. */
  encodedLinesPerSecond: number;
  /** Splitting the same lines into fields and serialising them (JSON.parse or split + JSON.stringify): the floor any parser pays. */
  baselineLinesPerSecond: number;
  ratioToBaseline: number;
}

/** Lines per second of the cheapest possible "parse": read the fields, write them out. */
function baseline(lines: string[]): number {
  const start = process.hrtime.bigint();
  let n = 0;
  for (const l of lines) n += JSON.stringify(l.startsWith('{') ? JSON.parse(l) : l.split(l.includes('\t') ? '\t' : ' ')).length;
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return n > 0 ? lines.length / seconds : 0;
}

const TSV_HEADER = [
  '#separator \\x09', '#set_separator\t,', '#empty_field\t(empty)', '#unset_field\t-', '#path\tconn',
  '#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\thistory\torig_pkts\tresp_pkts',
  '#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tstring\tcount\tcount',
];

const ip = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
const ts = (i: number) => 1_521_911_721 + i / 1000;

const GENERATORS: Record<string, { format: Format; line: (i: number) => string; ctx?: Partial<ParseContext> }> = {
  'zeek-json': {
    format: 'zeek',
    line: (i) => JSON.stringify({ _path: 'conn', ts: ts(i), uid: `C${i}`, 'id.orig_h': ip(i), 'id.orig_p': 1024 + (i % 60000), 'id.resp_h': ip(i * 7), 'id.resp_p': 80, proto: 'tcp', service: 'http', duration: 0.5, orig_bytes: i % 5000, resp_bytes: 100, conn_state: 'SF', history: 'ShADadFf', orig_pkts: 5, resp_pkts: 4 }),
  },
  'zeek-tsv': {
    format: 'zeek',
    line: (i) => [ts(i).toFixed(6), `C${i}`, ip(i), 1024 + (i % 60000), ip(i * 7), 80, 'tcp', 'http', '0.500000', i % 5000, 100, 'SF', 'ShADadFf', 5, 4].join('\t'),
    ctx: (() => { const h = parseZeekTsvHeader(TSV_HEADER); return h.ok ? { zeekTsv: h.header } : {}; })(),
  },
  suricata: {
    format: 'suricata',
    line: (i) => JSON.stringify({ timestamp: new Date(ts(i) * 1000).toISOString().replace('Z', '+0000'), flow_id: i, event_type: i % 10 === 0 ? 'alert' : 'flow', src_ip: ip(i), src_port: 40000, dest_ip: ip(i * 3), dest_port: 443, proto: 'TCP', alert: { action: 'allowed', signature_id: 2000000 + (i % 100), signature: 'ET TEST', category: 'Test', severity: 2 }, flow: { pkts_toserver: 5, pkts_toclient: 4, bytes_toserver: 500, bytes_toclient: 900, start: '2018-03-24T17:15:58.500000+0000', end: '2018-03-24T17:15:59.750000+0000', state: 'closed' }, tcp: { tcp_flags_ts: '1b', tcp_flags_tc: '1b' } }),
  },
  'syslog-5424': { format: 'syslog', line: (i) => `<165>1 2024-01-01T00:00:${String(i % 60).padStart(2, '0')}.003Z host${i % 50} app ${i} ID47 [x@1 k="v"] message number ${i}` },
  'syslog-3164': { format: 'syslog', line: (i) => `<34>Oct 11 22:14:${String(i % 60).padStart(2, '0')} host${i % 50} sshd[${i}]: Failed password for root from ${ip(i)}` },
};

export function benchParsers(linesPerFormat = 20_000): ParserBenchResult[] {
  const receivedAt = new Date('2024-06-01T00:00:00Z');
  return Object.entries(GENERATORS).map(([name, g]) => {
    const lines = Array.from({ length: linesPerFormat }, (_, i) => g.line(i));
    const start = process.hrtime.bigint();
    const { stats } = normaliseBatch(lines, { format: g.format, source: 'bench', receivedAt, ...g.ctx });
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    if (stats.parsed !== lines.length) throw new Error(`bench ${name}: ${stats.rejected} generated lines rejected: ${JSON.stringify(stats.reasons)}`);
    const linesPerSecond = lines.length / seconds;
    const ctx = { format: g.format, source: 'bench', receivedAt, ...g.ctx };
    const t0 = process.hrtime.bigint();
    for (const l of lines) if (!encodeLine(l, ctx).ok) throw new Error(`bench ${name}: a generated line was rejected by encodeLine`);
    const encodedLinesPerSecond = Math.round(lines.length / (Number(process.hrtime.bigint() - t0) / 1e9));
    const floor = baseline(lines);
    return { format: name, lines: lines.length, seconds, linesPerSecond: Math.round(linesPerSecond), encodedLinesPerSecond, baselineLinesPerSecond: Math.round(floor), ratioToBaseline: Number((linesPerSecond / floor).toFixed(3)) };
  });
}
