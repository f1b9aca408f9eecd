import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Alert } from '@soc/schema';
import { ConfigError } from '@soc/errors';
import { decideOutbound, loadSharingPolicy, SharingPolicy, type OutboundDecision } from './policy.ts';
import { pseudonym, PSEUDONYM_RE } from './pseudonym.ts';
import { SOC_EE, SOC_LV, scanAlert } from './fixtures/alerts.ts';

const KEY_A = 'a'.repeat(16) + '0123456789abcdef0123';
const KEY_B = 'b'.repeat(16) + '0123456789abcdef0123';
const policy = (over: Partial<SharingPolicy> = {}): SharingPolicy =>
  SharingPolicy.parse({ pseudonymKey: KEY_A, internalCidrs: ['10.0.0.0/8', 'fd00::/8'], minSeverity: 'medium', ...over });
const ctx = { self: SOC_EE };

function shared(d: OutboundDecision): Alert {
  if (!d.share) throw new Error(`not shared: ${d.reason}`);
  return d.alert;
}

describe('decideOutbound', () => {
  it('never lets TLP:RED out, whatever the policy', () => {
    for (const tlpMax of ['CLEAR', 'GREEN', 'AMBER', 'AMBER+STRICT'] as const) {
      expect(decideOutbound(scanAlert({ tlp: 'RED', severity: 'critical' }), policy({ tlpMax, minSeverity: 'low' }), ctx)).toMatchObject({ share: false, reason: 'tlp_red' });
    }
    expect(() => SharingPolicy.parse({ pseudonymKey: KEY_A, tlpMax: 'RED' })).toThrow();
  });

  it('applies tlpMax, minimum severity and the detector/rule allow-lists', () => {
    expect(decideOutbound(scanAlert({ tlp: 'AMBER+STRICT' }), policy({ tlpMax: 'AMBER' }), ctx)).toMatchObject({ share: false, reason: 'tlp_above_max' });
    expect(decideOutbound(scanAlert({ tlp: 'AMBER' }), policy({ tlpMax: 'GREEN' }), ctx)).toMatchObject({ share: false, reason: 'tlp_above_max' });
    expect(decideOutbound(scanAlert({ severity: 'low' }), policy(), ctx)).toMatchObject({ share: false, reason: 'below_min_severity' });
    expect(decideOutbound(scanAlert(), policy({ detectors: ['anomaly'] }), ctx)).toMatchObject({ share: false, reason: 'detector_not_allowed' });
    expect(decideOutbound(scanAlert(), policy({ rules: ['X-9'] }), ctx)).toMatchObject({ share: false, reason: 'rule_not_allowed' });
    expect(decideOutbound(scanAlert(), policy({ detectors: ['portscan'], rules: ['PS-1'] }), ctx)).toMatchObject({ share: true, mode: 'originate' });
  });

  it('AMBER: pseudonymises internal IPs, hosts and users everywhere, keeps the attacker address', () => {
    const out = shared(decideOutbound(scanAlert(), policy(), ctx));
    const ipP = pseudonym(KEY_A, 'ip', '10.20.1.7');
    const hostP = pseudonym(KEY_A, 'host', 'ws-042.corp.ee');
    const userP = pseudonym(KEY_A, 'user', 'jmeier');
    expect(ipP).toMatch(PSEUDONYM_RE);
    expect(out.source).toEqual({ ip: '203.0.113.9', port: 51514 });
    expect(out.destination).toEqual({ ip: ipP, port: 22 });
    expect(out.host?.name).toBe(hostP);
    expect(out.message).toBe(`host ${hostP} (${ipP}) was scanned on 120 ports by 203.0.113.9; user ${userP} logged in at 10:01`);
    expect(out.explanation.summary).toBe(`203.0.113.9 -> ${ipP}: 120 distinct ports in 60 s`);
    expect(out.explanation.values).toEqual({ 'user.name': userP, 'dst.host': hostP, ports: 120 });
    expect(out.labels).toEqual({ analyst_note: `escalated by ${userP}` });
    const text = JSON.stringify(out);
    for (const secret of ['10.20.1.7', 'ws-042', 'jmeier']) expect(text).not.toContain(secret);
    // Local triage state stays home; the id is kept so partners dedupe resends.
    expect(out.status).toBe('new');
    expect(out.id).toBe(scanAlert().id);
  });

  it('AMBER pseudonyms are stable for an asset and differ between senders keys', () => {
    const a1 = shared(decideOutbound(scanAlert(), policy(), ctx));
    const a2 = shared(decideOutbound(scanAlert({ message: 'again 10.20.1.7', first_seen: '2026-03-01T09:00:00.000Z' }), policy(), ctx));
    const b = shared(decideOutbound(scanAlert(), policy({ pseudonymKey: KEY_B }), ctx));
    expect(a2.destination?.ip).toBe(a1.destination?.ip);
    expect(a2.message).toBe(`again ${a1.destination?.ip}`);
    expect(b.destination?.ip).not.toBe(a1.destination?.ip);
    expect(b.host?.name).not.toBe(a1.host?.name);
    // IPv6 internal addresses, written differently, are one asset.
    const v6a = shared(decideOutbound(scanAlert({ destination: { ip: 'fd00:0:0::1' } }), policy(), ctx));
    const v6b = shared(decideOutbound(scanAlert({ destination: { ip: 'FD00::1' } }), policy(), ctx));
    expect(v6a.destination?.ip).toMatch(PSEUDONYM_RE);
    expect(v6a.destination?.ip).toBe(v6b.destination?.ip);
  });

  it('GREEN/CLEAR: shared as is through the field allow-list', () => {
    const out = shared(decideOutbound(scanAlert({ tlp: 'GREEN' }), policy({ fieldAllowList: ['source', 'rule.name', 'network.transport'] }), ctx));
    expect(out.source).toEqual({ ip: '203.0.113.9', port: 51514 });
    expect(out.rule).toEqual({ id: 'PS-1', name: 'Vertical port scan' });
    expect(out.network).toEqual({ transport: 'TCP' });
    expect(out.destination).toBeUndefined();
    expect(out.host).toBeUndefined();
    expect(out.labels).toBeUndefined();
    expect(out.message).toBe('');
    expect(out.explanation).toEqual({ summary: '' });
    expect(out.related_events).toEqual([]);
    expect(out.tlp).toBe('GREEN');
    const dflt = shared(decideOutbound(scanAlert({ tlp: 'CLEAR' }), policy(), ctx));
    expect(dflt.message).toBe(scanAlert().message); // as is: CLEAR/GREEN content is the sender's choice
    expect(dflt.host).toBeUndefined();
  });

  it('never re-shares a received alert unless relaying is on, and then within hop limit and without loops', () => {
    const received = scanAlert({ tlp: 'GREEN', federation: { message_id: crypto.randomUUID(), received_at: '2026-03-01T10:00:01.000Z', hops: 0, path: ['soc-lv'] } }, SOC_LV);
    expect(decideOutbound(received, policy(), ctx)).toMatchObject({ share: false, reason: 'received' });
    expect(decideOutbound(scanAlert({ tlp: 'GREEN' }, SOC_LV), policy({ relay: { enabled: true, hopLimit: 3 } }), ctx)).toMatchObject({ share: false, reason: 'received' });
    const relay = policy({ relay: { enabled: true, hopLimit: 2 } });
    expect(decideOutbound(received, relay, ctx)).toMatchObject({ share: true, mode: 'relay' });
    expect(decideOutbound({ ...received, federation: { ...received.federation!, hops: 2 } }, relay, ctx)).toMatchObject({ share: false, reason: 'hop_limit' });
    expect(decideOutbound({ ...received, federation: { ...received.federation!, path: ['soc-lv', 'soc-ee'] } }, relay, ctx)).toMatchObject({ share: false, reason: 'loop' });
    expect(decideOutbound({ ...received, tlp: 'AMBER' }, relay, ctx)).toMatchObject({ share: false, reason: 'tlp_not_relayable' });
  });
});

describe('loadSharingPolicy', () => {
  it('reads the key from the environment or a file, never from the policy file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fed-policy-'));
    const path = join(dir, 'policy.json');
    await writeFile(path, JSON.stringify({ internalCidrs: ['10.0.0.0/8'], pseudonymKey: { env: 'FED_TEST_KEY' } }));
    await expect(loadSharingPolicy(path, {})).rejects.toBeInstanceOf(ConfigError);
    expect((await loadSharingPolicy(path, { FED_TEST_KEY: KEY_A })).pseudonymKey).toBe(KEY_A);
    await writeFile(join(dir, 'key'), `${KEY_B}\n`);
    await writeFile(path, JSON.stringify({ pseudonymKey: { file: join(dir, 'key') }, relay: { enabled: true } }));
    const p = await loadSharingPolicy(path, {});
    expect(p).toMatchObject({ pseudonymKey: KEY_B, relay: { enabled: true, hopLimit: 2 }, tlpMax: 'AMBER' });
    await writeFile(path, JSON.stringify({ pseudonymKey: 'inline-secret-is-refused-0123456789abcdef' }));
    await expect(loadSharingPolicy(path, {})).rejects.toThrow(/sharing policy/);
    await writeFile(path, JSON.stringify({ pseudonymKey: { env: 'K' }, internalCidrs: ['10.0.0.0/40'] }));
    await expect(loadSharingPolicy(path, { K: KEY_A })).rejects.toThrow(/CIDR/);
    await writeFile(path, JSON.stringify({ pseudonymKey: { env: 'K' } }));
    await expect(loadSharingPolicy(path, { K: 'short' })).rejects.toThrow(/32/);
  });
});

describe('text pseudonymisation', () => {
  it('finds internal addresses in free text in their usual spellings, leaves the rest', () => {
    const msg = 'conn 10.1.2.3:445 from 198.51.100.4:5000, v6 [fd00::7]:22 and ::ffff:10.9.9.9 at 12:30:45; 10.1.2.3. Done, not 10.1.2.3.4 nor 110.1.2.3';
    const out = shared(decideOutbound(scanAlert({ message: msg, host: undefined }), policy(), ctx)).message;
    const p = (ip: string) => pseudonym(KEY_A, 'ip', ip);
    expect(out).toBe(`conn ${p('10.1.2.3')}:445 from 198.51.100.4:5000, v6 [${p('fd00::7')}]:22 and ${p('10.9.9.9')} at 12:30:45; ${p('10.1.2.3')}. Done, not 10.1.2.3.4 nor 110.1.2.3`);
  });
});
