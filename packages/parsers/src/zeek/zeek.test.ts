import { communityId } from '../community-id.ts';
import { describe, expect, it } from 'vitest';
import { EcsEvent } from '@soc/schema';
import { normaliseBatch, parseLine } from '../parse.ts';
import { expectOk, fixtureLines, identity } from '../testing.ts';
import { inferZeekPath, zeekPathFromFileName } from './record.ts';
import { parseZeekTsvHeader, parseZeekTsvRow, ZeekTsvReader } from './tsv.ts';

const receivedAt = new Date('2018-03-24T18:00:00Z');
const ctx = { format: 'zeek' as const, source: 'test', receivedAt };

describe('zeek TSV header and rows', () => {
  const lines = fixtureLines('conn.tsv.log');
  const header = parseZeekTsvHeader(lines);

  it('reads every directive', () => {
    if (!header.ok) throw new Error(header.reason);
    expect(header.header.separator).toBe('\t');
    expect(header.header.setSeparator).toBe(',');
    expect(header.header.emptyField).toBe('(empty)');
    expect(header.header.unsetField).toBe('-');
    expect(header.header.path).toBe('conn');
    expect(header.header.fields).toHaveLength(21);
    expect(header.header.types[0]).toBe('time');
  });

  it('converts by type: time, interval, count, bool, unset, empty set, escapes, sets', () => {
    if (!header.ok) throw new Error(header.reason);
    const rows = lines.filter((l) => !l.startsWith('#'));
    const a = parseZeekTsvRow(header.header, rows[0]!);
    const b = parseZeekTsvRow(header.header, rows[1]!);
    if (!a.ok || !b.ok) throw new Error('row rejected');
    expect(a.record.fields.ts).toBe('2018-03-24T17:15:21.255387Z');
    expect(a.record.fields.duration).toBe(1.5);
    expect(a.record.fields.orig_bytes).toBe(120);
    expect(a.record.fields.local_orig).toBe(true);
    expect(a.record.fields.local_resp).toBe(false);
    expect(a.record.fields.tunnel_parents).toEqual([]);
    expect(b.record.fields.uid).toBe('Cx\ttab');
    expect(b.record.fields.tunnel_parents).toEqual(['Ca', 'Cb']);
    expect('service' in b.record.fields).toBe(false);
  });

  it('rejects rows with the wrong column count or bad typed values, with reasons', () => {
    if (!header.ok) throw new Error(header.reason);
    const row = lines.find((l) => !l.startsWith('#'))!;
    expect(parseZeekTsvRow(header.header, 'a\tb')).toMatchObject({ ok: false, reason: expect.stringContaining('2 columns') });
    const badCount = row.replace('\t120\t', '\tabc\t');
    expect(parseZeekTsvRow(header.header, badCount)).toMatchObject({ ok: false, reason: expect.stringContaining('orig_bytes') });
    const badBool = row.replace('\tT\tF\t', '\tX\tF\t');
    expect(parseZeekTsvRow(header.header, badBool)).toMatchObject({ ok: false, reason: expect.stringContaining('local_orig') });
  });

  it('keeps non-printable escapes as text, like the JSON writer', () => {
    const h = parseZeekTsvHeader(['#separator \\x09', '#fields\tts\tref_id', '#types\ttime\tstring']);
    if (!h.ok) throw new Error(h.reason);
    const r = parseZeekTsvRow(h.header, '1.0\t\\x00\\x41');
    expect(r.ok && r.record.fields.ref_id).toBe('\\x00A');
  });

  it('a row before any header is rejected, a reader picks the header up', () => {
    const row = fixtureLines('conn.tsv.log').find((l) => !l.startsWith('#'))!;
    expect(parseLine(row, ctx)).toMatchObject({ ok: false, reason: expect.stringContaining('header') });
    const reader = new ZeekTsvReader();
    for (const l of lines.filter((x) => x.startsWith('#'))) expect(reader.accept(l)).toBe('directive');
    expect(reader.header?.path).toBe('conn');
    expect(reader.accept(row)).toBe('row');
  });
});

describe('zeek conn mapping', () => {
  const tsv = normaliseBatch(fixtureLines('conn.tsv.log'), ctx);
  const json = normaliseBatch(fixtureLines('conn.json'), ctx);

  it('accounts for every line', () => {
    expect(tsv.stats).toMatchObject({ lines: 11, parsed: 2, rejected: 0, directives: 9 });
    expect(json.stats).toMatchObject({ lines: 2, parsed: 2, rejected: 0 });
  });

  it('maps a flow field by field', () => {
    const e = expectOk(json.outcomes[0]);
    expect(e['@timestamp']).toBe('2018-03-24T17:15:21.255387Z');
    // As Elastic's Zeek connection pipeline: event.type from conn_state, IP-level bytes in
    // source/destination, payload bytes and the state under zeek.connection, direction from local_*.
    expect(e.event).toMatchObject({ kind: 'event', category: ['network'], type: ['connection', 'start', 'end'], dataset: 'zeek.conn', module: 'zeek', duration: 1_500_000_000 });
    expect(e.source).toEqual({ ip: '10.47.1.10', port: 52100, bytes: 440, packets: 6 });
    expect(e.destination).toEqual({ ip: '10.47.3.200', port: 80, bytes: 4768, packets: 5 });
    expect(e.network).toEqual({ transport: 'tcp', protocol: 'http', bytes: 5208, packets: 11, direction: 'outbound', community_id: communityId({ srcIp: '10.47.1.10', dstIp: '10.47.3.200', proto: 6, srcPort: 52100, dstPort: 80 }) });
    expect(e).not.toHaveProperty('connection');
    expect(e.zeek?.session_id).toBe('C8DRTq3pYuvKxRbsAb');
    expect(e.zeek?.connection).toEqual({ state: 'SF', history: 'ShADadFf', local_orig: true, local_resp: false, orig_bytes: 120, resp_bytes: 4500, missed_bytes: 0, tunnel_parents: [] });
    expect(e.related?.ip).toEqual(['10.47.1.10', '10.47.3.200']);
    expect(e.event.original).toBe(fixtureLines('conn.json')[0]);
    expect(e.event.ingested).toBe(receivedAt.toISOString());
    expect(EcsEvent.safeParse(e).success).toBe(true);
  });

  it('the same conn log in JSON and TSV gives identical events (apart from id/original/ingested)', () => {
    const t = tsv.outcomes.filter((o) => o !== null).map((o) => identity(expectOk(o)));
    const j = json.outcomes.map((o) => identity(expectOk(o)));
    expect(t).toEqual(j);
    expect(expectOk(tsv.outcomes[8]).event.id).not.toBe(expectOk(json.outcomes[0]).event.id);
  });

  it('a conn field promoted whole is not repeated under zeek.connection; one the promotion dropped or cut stays', () => {
    const conn = (fields: string) => expectOk(parseLine(`{"_path":"conn","ts":1521911721.5,"uid":"C1","id.orig_h":"10.0.0.1","id.orig_p":1234,"id.resp_h":"10.0.0.2","id.resp_p":80,"conn_state":"SF",${fields}}`, ctx));
    const whole = conn('"proto":"tcp","service":"http","duration":0.25,"orig_pkts":3,"resp_pkts":2,"orig_ip_bytes":180,"resp_ip_bytes":1200,"orig_l2_addr":"00:11:22:33:44:55"');
    expect(whole.zeek?.connection).toEqual({ state: 'SF' });
    expect(whole.network).toMatchObject({ transport: 'tcp', protocol: 'http' });
    expect(whole.event.duration).toBe(250_000_000);
    expect(whole.source).toMatchObject({ packets: 3, bytes: 180, mac: '00:11:22:33:44:55' });
    expect(whole.destination).toMatchObject({ packets: 2, bytes: 1200 });
    // A negative count, a fractional one and an over-long service name are not what ECS carries.
    const long = 's'.repeat(80);
    const kept = conn(`"proto":"tcp","service":"${long}","duration":-1,"orig_pkts":-3,"resp_ip_bytes":1.5`);
    expect(kept.zeek?.connection).toEqual({ state: 'SF', service: long, duration: -1, orig_pkts: -3, resp_ip_bytes: 1.5 });
    expect(kept.network?.protocol).toBe(long.slice(0, 64));
    expect(kept.source?.packets).toBeUndefined();
  });

  it('event ids are deterministic', () => {
    const line = fixtureLines('conn.json')[0]!;
    expect(expectOk(parseLine(line, ctx)).event.id).toBe(expectOk(parseLine(line, { ...ctx, receivedAt: new Date() })).event.id);
  });
});

describe('zeek log types', () => {
  const base = '"ts":1521911721.5,"uid":"Cabc","id.orig_h":"10.0.0.1","id.orig_p":1234,"id.resp_h":"10.0.0.2","id.resp_p":88';
  const ev = (path: string, extra: string) => expectOk(parseLine(`{"_path":"${path}",${base}${extra ? ',' + extra : ''}}`, ctx));

  it('notice is an alert with rule and message', () => {
    const e = ev('notice', '"note":"Scan::Port_Scan","msg":"10.0.0.1 scanned 20 ports","dropped":false');
    expect(e.event).toMatchObject({ kind: 'alert', category: ['intrusion_detection'], type: ['info', 'allowed'], dataset: 'zeek.notice' });
    expect(e.rule).toMatchObject({ name: 'Scan::Port_Scan', description: '10.0.0.1 scanned 20 ports' });
    expect(e.message).toBe('10.0.0.1 scanned 20 ports');
  });

  it('kerberos: authentication, user from the client principal, outcome', () => {
    const e = ev('kerberos', '"request_type":"AS","client":"alice/CORP.EXAMPLE","success":false');
    expect(e.event).toMatchObject({ category: ['network', 'authentication'], type: ['connection', 'protocol', 'access'], action: 'AS', outcome: 'failure' });
    expect(e.user).toEqual({ name: 'alice', domain: 'CORP.EXAMPLE' });
  });

  it('ntlm, ftp, dce_rpc, weird, dns, http, ssl promote their key fields', () => {
    expect(ev('ntlm', '"username":"bob","domainname":"CORP","success":true')).toMatchObject({ user: { name: 'bob', domain: 'CORP' }, event: { outcome: 'success', category: ['network', 'authentication'] } });
    expect(ev('ftp', '"user":"anonymous","command":"STOR"')).toMatchObject({ user: { name: 'anonymous' }, event: { action: 'STOR' }, network: { protocol: 'ftp' } });
    expect(ev('dce_rpc', '"endpoint":"samr","operation":"SamrConnect2"').event.action).toBe('SamrConnect2');
    expect(ev('weird', '"name":"bad_TCP_checksum","notice":false').rule?.name).toBe('bad_TCP_checksum');
    expect(ev('dns', '"proto":"udp","query":"example.com","qtype_name":"A","rcode_name":"NOERROR"')).toMatchObject({ dns: { question: { name: 'example.com', type: 'A' }, response_code: 'NOERROR' }, network: { transport: 'udp', protocol: 'dns' } });
    expect(ev('http', '"method":"GET","host":"x.test","uri":"/a","status_code":404,"user_agent":"curl"')).toMatchObject({ event: { category: ['network', 'web'] }, url: { original: '/a', domain: 'x.test' }, http: { response: { status_code: 404 } } });
    expect(ev('ssl', '"version":"TLSv12","server_name":"x.test","established":true').tls).toMatchObject({ version: 'TLSv12', client: { server_name: 'x.test' } });
  });

  it('an unknown path is kept as a generic event', () => {
    const e = ev('mything', '"foo":"bar"');
    expect(e.event).toMatchObject({ kind: 'event', category: [], type: [], dataset: 'zeek.mything' });
    expect(e.zeek?.mything).toEqual({ foo: 'bar' });
  });

  it('the log type comes from _path, else the hint, else the field set', () => {
    const line = `{${base},"auth_success":true,"client":"SSH-2.0"}`;
    expect(expectOk(parseLine(line, ctx)).event.dataset).toBe('zeek.ssh');
    expect(expectOk(parseLine(line, { ...ctx, zeekPath: 'custom' })).event.dataset).toBe('zeek.custom');
    expect(inferZeekPath({ ts: 1, port_num: 80, port_proto: 'tcp', host: '1.2.3.4' })).toBe('known_services');
    expect(zeekPathFromFileName('/logs/ssh.json.gz')).toBe('ssh');
    expect(zeekPathFromFileName('conn.2024-01-01-00-00-00.log.gz')).toBe('conn');
  });

  it('rejects records without a usable ts or with invalid ports', () => {
    expect(parseLine('{"_path":"conn","uid":"C1"}', ctx)).toMatchObject({ ok: false, reason: expect.stringContaining('no ts') });
    expect(parseLine('{"_path":"conn","ts":"yesterday"}', ctx)).toMatchObject({ ok: false, reason: expect.stringContaining('ts') });
    expect(parseLine('{"_path":"../etc","ts":1}', ctx)).toMatchObject({ ok: false, reason: expect.stringContaining('invalid log path') });
  });

});
