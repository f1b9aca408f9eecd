import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fromStixBundle, IntelIndex, SEEN_BY_PARTNER_FIRST, SIGHTING_OF_LABEL, toStixBundle } from '@soc/federation';
import { parseLine } from '@soc/parsers';
import type { EcsEvent } from '@soc/schema';
import { learnIntel, partnerIntelAnalyzer } from './intel.ts';

/**
 * The detector path for imported intelligence beyond addresses: MISP's own STIX 2.1 output
 * (vendored), imported, learned from the alert topic's records, matched against events exactly
 * as the parsers produce them from Zeek and Suricata lines.
 */
const MISP = JSON.parse(readFileSync(new URL('../../../packages/federation/src/fixtures/reference/misp/misp_attributes_to_stix21.json', import.meta.url), 'utf8')) as Record<string, { STIX: unknown[] }>;
const SELF = { id: 'soc-ee', country: 'EE', name: 'CERT-EE SOC' };
const NOW = new Date('2026-03-01T00:00:00Z');

function event(line: object, format: 'zeek' | 'suricata'): EcsEvent {
  const o = parseLine(JSON.stringify(line), { format, source: 'test' });
  if (!o.ok) throw new Error(o.reason);
  return o.event;
}

describe('partner intelligence in the detector', () => {
  const intel = new IntelIndex();
  for (const type of ['domain', 'url', 'md5', 'sha256']) {
    for (const a of fromStixBundle({ type: 'bundle', id: 'bundle--3f1b1c5e-5a9c-4d2e-8f3a-6b7c8d9e0f10', objects: MISP[type]!.STIX }, { source: 'misp', now: NOW }).alerts) {
      // As the indicator feed does: from the alert record, serialised and read back.
      learnIntel(intel, JSON.parse(JSON.stringify(a)));
    }
  }
  const analyzer = partnerIntelAnalyzer({ intel, self: SELF });
  const ts = 1772400000; // 2026-03-01T21:20:00Z, after the MISP reports
  const base = { ts, 'id.orig_h': '10.0.0.5', 'id.orig_p': 40000, 'id.resp_h': '198.51.100.80' };

  it('matches a Zeek DNS query, a Suricata TLS SNI, a Zeek HTTP request, a Zeek file and a Suricata fileinfo', async () => {
    const events = [
      event({ ...base, _path: 'dns', uid: 'C1', 'id.resp_p': 53, proto: 'udp', query: 'circl.lu', qtype_name: 'A' }, 'zeek'),
      event({ timestamp: '2026-03-01T21:20:00.000000+0000', event_type: 'tls', src_ip: '10.0.0.5', src_port: 40001, dest_ip: '198.51.100.80', dest_port: 443, proto: 'TCP', tls: { sni: 'circl.lu', version: 'TLS 1.3' } }, 'suricata'),
      event({ ...base, _path: 'http', uid: 'C2', 'id.resp_p': 443, method: 'GET', host: 'vm.misp-project.org', uri: '/latest/' }, 'zeek'),
      event({ ts, _path: 'files', fuid: 'F1', tx_hosts: ['198.51.100.80'], rx_hosts: ['10.0.0.5'], md5: 'b2a5abfeef9e36964281a31e17b57c97' }, 'zeek'),
      event({ timestamp: '2026-03-01T21:20:00.000000+0000', event_type: 'fileinfo', src_ip: '198.51.100.80', src_port: 80, dest_ip: '10.0.0.5', dest_port: 40002, proto: 'TCP', fileinfo: { filename: '/x.bin', sha256: '7fa3abc229fd3cb9a0a6f07d9da15e35528c630d0ad5902d5422b305cae7eaa4', size: 10 } }, 'suricata'),
      event({ ...base, _path: 'dns', uid: 'C3', 'id.resp_p': 53, proto: 'udp', query: 'example.org' }, 'zeek'),
    ];
    const alerts = await analyzer.analyze(events);
    expect(alerts.map((a) => a.explanation.values?.matched)).toEqual(['circl.lu', 'circl.lu', 'b2a5abfeef9e36964281a31e17b57c97', '7fa3abc229fd3cb9a0a6f07d9da15e35528c630d0ad5902d5422b305cae7eaa4']);
    // The Zeek HTTP request went to port 443 without TLS, so http://vm.misp-project.org:443/latest/
    // is not MISP's https URL: no match, as it must be.
    for (const a of alerts) expect(a).toMatchObject({ detector: 'federation', rule: { id: SEEN_BY_PARTNER_FIRST }, links: [{ type: SEEN_BY_PARTNER_FIRST, origin: 'misp' }], labels: { [SIGHTING_OF_LABEL]: expect.stringMatching(/^indicator--/) } });
    // A real local match is exported as our sighting of MISP's indicator, never as our indicator.
    const bundle = toStixBundle(alerts.slice(0, 1), SELF, { internalCidrs: ['10.0.0.0/8'] });
    expect(bundle.objects.filter((o) => o.type === 'indicator')).toEqual([]);
    const mispIndicator = (MISP.domain!.STIX as { type: string; id: string }[]).find((o) => o.type === 'indicator')!;
    expect(bundle.objects.find((o) => o.type === 'sighting')).toMatchObject({ sighting_of_ref: mispIndicator.id, where_sighted_refs: [bundle.objects[0]!.id] });
  });

  it('a Zeek HTTP request on port 80 matches the reported URL of the same scheme', async () => {
    const local = new IntelIndex();
    const bundle = { type: 'bundle', id: 'bundle--3f1b1c5e-5a9c-4d2e-8f3a-6b7c8d9e0f13', objects: [{ type: 'indicator', spec_version: '2.1', id: 'indicator--3f1b1c5e-5a9c-4d2e-8f3a-6b7c8d9e0f14', created: '2026-01-01T00:00:00.000Z', modified: '2026-01-01T00:00:00.000Z', pattern: "[url:value = 'http://evil.example/payload.bin']", pattern_type: 'stix', valid_from: '2026-01-01T00:00:00Z' }] };
    for (const a of fromStixBundle(bundle, { source: 'feed', now: NOW }).alerts) learnIntel(local, a);
    const hit = event({ ...base, _path: 'http', uid: 'C9', 'id.resp_p': 80, method: 'GET', host: 'EVIL.example', uri: '/payload.bin' }, 'zeek');
    expect((await partnerIntelAnalyzer({ intel: local, self: SELF }).analyze([hit])).map((a) => a.explanation.values?.matched)).toEqual(['http://evil.example/payload.bin']);
  });
});
