import { flowState } from '@soc/schema';
import { describe, expect, it } from 'vitest';
import { normaliseBatch, parseLine } from './parse.ts';
import { suricataConnState } from './suricata.ts';
import { expectOk, fixtureLines } from './testing.ts';

const ctx = { format: 'suricata' as const, source: 'test', observer: { hostname: 'collector-1' } };
const lines = fixtureLines('suricata.eve.json');
const events = normaliseBatch(lines, ctx).outcomes.map(expectOk);
const byType = (t: string) => events.filter((e) => e.event.dataset === `suricata.${t}`);

describe('suricata EVE mapping', () => {
  it('every fixture line becomes an event, also in auto mode', () => {
    expect(events).toHaveLength(lines.length);
    for (const l of lines) expect(expectOk(parseLine(l, { ...ctx, format: 'auto' })).event.module).toBe('suricata');
  });

  it('alert', () => {
    const [e] = byType('alert');
    expect(e!['@timestamp']).toBe('2018-03-24T17:15:22.123456Z');
    expect(e!.event).toMatchObject({ kind: 'alert', category: ['network', 'intrusion_detection'], type: ['allowed'], severity: 1, action: 'allowed' });
    expect(e!.rule).toEqual({ id: '2024218', name: 'ET EXPLOIT Possible ETERNALBLUE MS17-010', category: 'Attempted Administrator Privilege Gain' });
    expect(e!.source).toEqual({ ip: '10.164.94.120', port: 4444 });
    expect(e!.destination).toEqual({ ip: '10.47.3.200', port: 445 });
    expect(e!.network).toEqual({ transport: 'tcp', protocol: 'smb', community_id: '1:abc=' });
    expect(e!.observer).toEqual({ hostname: 'sensor-1' });
    expect((e!.suricata?.eve as { flow_id: number }).flow_id).toBe(1234567890123);
    // What went to ECS whole is not repeated (as Elastic's pipeline renames it); the rest stays.
    expect(e!.suricata?.eve).toEqual({
      flow_id: 1234567890123, in_iface: 'eth0', event_type: 'alert', community_id: '1:abc=', app_proto: 'smb', host: 'sensor-1',
      alert: { gid: 1, signature_id: 2024218, rev: 3, signature: 'ET EXPLOIT Possible ETERNALBLUE MS17-010', category: 'Attempted Administrator Privilege Gain' },
    });
  });

  it('a field the mapping dropped or cut stays in suricata.eve', () => {
    const e = expectOk(parseLine(JSON.stringify({
      timestamp: '2018-03-24T17:15:22.123456+0000', event_type: 'alert', src_ip: '10.0.0.1', src_port: 70000, dest_ip: '10.0.0.2', dest_port: 445, proto: 'X'.repeat(40),
      alert: { action: 7, severity: 5000, signature: 'S' }, flow: { pkts_toserver: -1, bytes_toserver: 10 },
    }), ctx));
    expect(e.source).toEqual({ ip: '10.0.0.1' });
    expect(e.event.severity).toBeUndefined();
    // An alert's flow counters are not promoted (only a flow record's are): they stay.
    expect(e.suricata?.eve).toEqual({ event_type: 'alert', src_port: 70000, proto: 'X'.repeat(40), alert: { action: 7, severity: 5000, signature: 'S' }, flow: { pkts_toserver: -1, bytes_toserver: 10 } });
    const flow = expectOk(parseLine(JSON.stringify({ timestamp: '2018-03-24T17:15:22Z', event_type: 'flow', proto: 'UDP', flow: { pkts_toserver: -1, bytes_toserver: 10, state: 'new' } }), ctx));
    expect(flow.source).toEqual({ bytes: 10 });
    expect(flow.suricata?.eve).toEqual({ event_type: 'flow', flow: { pkts_toserver: -1, state: 'new', conn_state: 'S0' } });
  });

  it('flow: bytes, packets, duration and conn_state', () => {
    const [sf, rej, udp] = byType('flow');
    expect(sf!.event).toMatchObject({ category: ['network'], type: ['connection', 'end'], duration: 1_250_000_000 });
    expect(sf!.source).toMatchObject({ bytes: 1200, packets: 10 });
    expect(sf!.destination).toMatchObject({ bytes: 3400, packets: 8 });
    expect(sf!.network).toMatchObject({ bytes: 4600, packets: 18, transport: 'tcp', protocol: 'ssh' });
    expect([sf, rej, udp].map((e) => flowState(e!))).toEqual(['SF', 'REJ', 'S0']);
    expect(sf!.suricata?.eve).toMatchObject({ flow: { state: 'closed', conn_state: 'SF' } });
    expect((sf!.suricata?.eve as { flow: object }).flow).not.toHaveProperty('bytes_toserver');
    expect((sf!.suricata?.eve as { flow: object }).flow).not.toHaveProperty('pkts_toclient');
  });

  it('conn_state table', () => {
    const flow = (toclient: number) => ({ pkts_toclient: toclient });
    const st = (ts: string, tc: string | undefined, toclient = 1) => suricataConnState('tcp', flow(toclient), { tcp_flags_ts: ts, tcp_flags_tc: tc });
    expect(st('02', undefined, 0)).toBe('S0');
    expect(st('06', undefined, 0)).toBe('RSTOS0');
    expect(st('03', undefined, 0)).toBe('SH');
    expect(st('02', '14')).toBe('REJ');
    expect(st('16', '12')).toBe('RSTO');
    expect(st('12', '16')).toBe('RSTR');
    expect(st('13', '13')).toBe('SF');
    expect(st('13', '12')).toBe('S2');
    expect(st('12', '13')).toBe('S3');
    expect(st('12', '12')).toBe('S1');
    expect(st('10', '16')).toBe('RSTRH');
    expect(st('10', '13')).toBe('SHR');
    expect(st('18', '18')).toBe('OTH');
    expect(suricataConnState('tcp', flow(1), {})).toBe('OTH');
    expect(suricataConnState('udp', flow(3), {})).toBe('SF');
  });

  it('dns, http, tls, ssh, fileinfo, anomaly, unknown', () => {
    expect(byType('dns')[0]).toMatchObject({ dns: { type: 'query', id: '4242', question: { name: 'evil.example.com', type: 'A' } }, network: { protocol: 'dns', transport: 'udp' } });
    expect(byType('http')[0]).toMatchObject({ event: { category: ['network', 'web'] }, url: { original: '/index.php?id=1', domain: 'www.example.com' }, http: { request: { method: 'GET' }, response: { status_code: 200 }, version: 'HTTP/1.1' }, user_agent: { original: 'curl/7.58.0' } });
    expect(byType('tls')[0]!.tls).toMatchObject({ version: 'TLS 1.2', client: { server_name: 'example.com', ja3: 'e7d705a3286e19ea42f587b344ee6865' }, server: { subject: 'CN=example.com' } });
    // No top-level ssh.* (not ECS): the versions stay in the EVE record.
    expect(byType('ssh')[0]).not.toHaveProperty('ssh');
    expect(byType('ssh')[0]!.suricata?.eve).toMatchObject({ ssh: { client: { proto_version: '2.0', software_version: 'OpenSSH_7.6' }, server: { proto_version: '2.0', software_version: 'OpenSSH_7.4' } } });
    expect(byType('fileinfo')[0]).toMatchObject({ event: { category: ['network', 'file'] }, file: { name: 'payload.exe', size: 73802, mime_type: 'PE32 executable', hash: { md5: 'd41d8cd98f00b204e9800998ecf8427e' } } });
    expect(byType('anomaly')[0]).toMatchObject({ event: { action: 'ipv4.trunc_pkt' }, message: 'decode ipv4.trunc_pkt proto_detect' });
    expect(byType('stats')[0]!.event).toMatchObject({ kind: 'event', category: [], type: [] });
  });

  it('rejects with reasons', () => {
    expect(parseLine('{"event_type":"alert"}', ctx)).toMatchObject({ ok: false, reason: expect.stringContaining('timestamp') });
    expect(parseLine('{"timestamp":"2018-03-24T17:15:22Z"}', ctx)).toMatchObject({ ok: false, reason: expect.stringContaining('event_type') });
    expect(parseLine('{"timestamp":"2018-03-24T17:15:22Z","event_type":"../x"}', ctx)).toMatchObject({ ok: false });
    expect(parseLine('{"timestamp":"2018-03-24T17:15:22Z","event_type":"flow","src_port":70000}', ctx)).toMatchObject({ ok: true });
    expect(parseLine('not json', ctx)).toMatchObject({ ok: false, reason: expect.stringContaining('invalid JSON') });
  });
});
