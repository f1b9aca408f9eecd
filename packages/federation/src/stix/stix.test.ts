import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SharingPolicy } from '../policy.ts';
import { IndicatorIndex } from '../correlate.ts';
import { SOC_EE, scanAlert } from '../fixtures/alerts.ts';
import { pseudonym } from '../pseudonym.ts';
import { scoId } from './ids.ts';
import { toStixBundle, type StixBundle, type StixObject } from './export.ts';
import { fromStixBundle } from './import.ts';
import { TLP2_MARKING_IDS } from './markings.ts';
import { patternObservables } from './pattern.ts';
import { validateStixBundle } from './validate.ts';

const FIXTURE = JSON.parse(readFileSync(new URL('../fixtures/partner-intel.stix.json', import.meta.url), 'utf8')) as unknown;
const byType = (b: StixBundle, type: string): StixObject[] => b.objects.filter((o) => o.type === type);
const one = (b: StixBundle, type: string): StixObject => {
  const found = byType(b, type);
  expect(found).toHaveLength(1);
  return found[0]!;
};

describe('STIX deterministic SCO ids', () => {
  it('reproduces the STIX 2.1 specification example id for ipv4-addr 198.51.100.3', () => {
    expect(scoId('ipv4-addr', { value: '198.51.100.3' })).toBe('ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4');
  });
});

describe('toStixBundle', () => {
  const alert = scanAlert();
  const bundle = toStixBundle([alert], SOC_EE, { internalCidrs: ['10.0.0.0/8'] });

  it('maps an alert to identity, indicator, observed-data, SCOs, sighting and TLP 2.0 markings', () => {
    const identity = one(bundle, 'identity');
    expect(identity).toMatchObject({ name: 'CERT-EE SOC', identity_class: 'organization', spec_version: '2.1' });
    const ind = one(bundle, 'indicator');
    expect(ind).toMatchObject({
      spec_version: '2.1', pattern: "[ipv4-addr:value = '203.0.113.9']", pattern_type: 'stix', valid_from: '2026-03-01T09:58:00.000Z',
      name: 'Vertical port scan', indicator_types: ['malicious-activity'], created: '2026-03-01T10:00:00.000Z', modified: '2026-03-01T10:00:00.000Z',
      created_by_ref: identity.id, object_marking_refs: [TLP2_MARKING_IDS.AMBER], confidence: 91,
    });
    const src = byType(bundle, 'ipv4-addr').find((o) => o.value === '203.0.113.9')!;
    expect(src.id).toBe(scoId('ipv4-addr', { value: '203.0.113.9' }));
    const dst = byType(bundle, 'ipv4-addr').find((o) => o.value === '10.20.1.7')!;
    const traffic = one(bundle, 'network-traffic');
    expect(traffic).toMatchObject({ src_ref: src.id, dst_ref: dst.id, src_port: 51514, dst_port: 22, protocols: ['ipv4', 'tcp'] });
    const od = one(bundle, 'observed-data');
    expect(od).toMatchObject({ first_observed: '2026-03-01T09:58:00.000Z', last_observed: '2026-03-01T10:00:00.000Z', number_observed: 120, object_refs: [src.id, dst.id, traffic.id] });
    expect(one(bundle, 'sighting')).toMatchObject({ sighting_of_ref: ind.id, observed_data_refs: [od.id], where_sighted_refs: [identity.id], count: 120, first_seen: '2026-03-01T09:58:00.000Z' });
    const marking = one(bundle, 'marking-definition');
    expect(marking).toMatchObject({ id: 'marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421', name: 'TLP:AMBER' });
    expect(bundle.id).toMatch(/^bundle--[0-9a-f-]{36}$/);
  });

  it('is deterministic and passes the validator with every reference resolved', () => {
    expect(toStixBundle([scanAlert()], SOC_EE, { internalCidrs: ['10.0.0.0/8'] })).toEqual(bundle);
    expect(validateStixBundle(bundle, { requireResolvedRefs: true })).toEqual([]);
    const other = toStixBundle([scanAlert({ id: 'another-alert-id-0001' })], SOC_EE);
    expect(one(other, 'indicator').id).not.toBe(one(bundle, 'indicator').id);
  });

  it('leaves out RED alerts and alerts without an external attacker; marks per TLP', () => {
    const b = toStixBundle([scanAlert({ tlp: 'RED' }), scanAlert({ id: 'internal-source-0001', source: { ip: '10.9.9.9' } }), scanAlert({ id: 'green-alert-000001', tlp: 'GREEN' })], SOC_EE, { internalCidrs: ['10.0.0.0/8'] });
    expect(byType(b, 'indicator')).toHaveLength(1);
    expect(byType(b, 'marking-definition').map((m) => m.id)).toEqual([TLP2_MARKING_IDS.GREEN]);
    expect(JSON.stringify(b)).not.toContain(TLP2_MARKING_IDS.RED);
  });

  it('applies the sharing policy when given one', () => {
    const policy = SharingPolicy.parse({ pseudonymKey: 'k'.repeat(40), internalCidrs: ['10.0.0.0/8'], minSeverity: 'high' });
    const b = toStixBundle([scanAlert(), scanAlert({ id: 'low-severity-alert-01', severity: 'low' })], SOC_EE, { policy });
    expect(byType(b, 'indicator')).toHaveLength(1);
    // The internal destination was pseudonymised, so it is no address and no SCO is made of it.
    expect(byType(b, 'ipv4-addr').map((o) => o.value)).toEqual(['203.0.113.9']);
    expect(JSON.stringify(b)).not.toContain('10.20.1.7');
    expect(one(b, 'indicator').description).toContain(pseudonym(policy.pseudonymKey, 'host', 'ws-042.corp.ee'));
    expect(validateStixBundle(b, { requireResolvedRefs: true })).toEqual([]);
  });
});

describe('validateStixBundle', () => {
  const good = toStixBundle([scanAlert()], SOC_EE);
  const broken = (mutate: (b: StixBundle) => void): string[] => {
    const b = structuredClone(good);
    mutate(b);
    return validateStixBundle(b, { requireResolvedRefs: true }).map((i) => `${i.path}: ${i.message}`);
  };
  const find = (b: StixBundle, type: string) => b.objects.find((o) => o.type === type)!;

  it('catches broken bundles', () => {
    expect(validateStixBundle({ type: 'bundle', id: 'bundle--nope', objects: [] }).map((i) => i.path)).toEqual(['id']);
    expect(validateStixBundle([])).toHaveLength(1);
    expect(broken((b) => delete find(b, 'indicator').pattern)).toEqual([expect.stringMatching(/pattern: required/)]);
    expect(broken((b) => delete find(b, 'indicator').valid_from)).toEqual([expect.stringMatching(/valid_from: required/)]);
    expect(broken((b) => delete find(b, 'sighting').sighting_of_ref)).toEqual([expect.stringMatching(/sighting_of_ref: required/)]);
    expect(broken((b) => (find(b, 'observed-data').number_observed = 0))).toEqual([expect.stringMatching(/number_observed/)]);
    expect(broken((b) => delete find(b, 'identity').name)).toEqual([expect.stringMatching(/name: required/)]);
    expect(broken((b) => (find(b, 'indicator').created = '2026-03-01T10:00:00Z'))).toEqual([expect.stringMatching(/created.*millisecond/)]);
    expect(broken((b) => (find(b, 'indicator').id = 'indicator--1234'))).toContainEqual(expect.stringMatching(/id: must be/));
    expect(broken((b) => (find(b, 'indicator').id = find(b, 'sighting').id))).toContainEqual(expect.stringMatching(/prefix sighting does not match type indicator/));
    expect(broken((b) => (find(b, 'indicator').spec_version = '2.0'))).toEqual([expect.stringMatching(/spec_version/)]);
    expect(broken((b) => (find(b, 'sighting').where_sighted_refs = [find(b, 'indicator').id]))).toEqual([expect.stringMatching(/not a valid target/)]);
    expect(broken((b) => (find(b, 'sighting').sighting_of_ref = 'indicator--00000000-0000-4000-8000-000000000000'))).toEqual([expect.stringMatching(/not in the bundle/)]);
    expect(broken((b) => delete find(b, 'marking-definition').extensions)).toEqual([expect.stringMatching(/definition_type and definition, or extensions/)]);
    expect(broken((b) => b.objects.push(structuredClone(find(b, 'indicator'))))).toEqual([expect.stringMatching(/duplicate object indicator--/)]);
    expect(broken((b) => (find(b, 'network-traffic').src_ref = 'not-a-ref'))).toContainEqual(expect.stringMatching(/not a STIX identifier/));
  });
});

describe('fromStixBundle', () => {
  it('imports a MISP/OpenCTI-style bundle: matchable indicators in, everything else skipped with a reason', () => {
    expect(validateStixBundle(FIXTURE)).toEqual([]);
    const r = fromStixBundle(FIXTURE, { source: 'misp-circl', now: new Date('2026-03-01T00:00:00Z') });
    expect(r.indicators.map((i) => i.ip).sort()).toEqual(['192.0.2.200', '198.51.100.23', '2001:db8:bad::1', '203.0.113.77']);
    expect(r.alerts).toHaveLength(3);
    expect(r.intel.map((i) => i.observable)).toEqual([{ kind: 'domain', value: 'login-example.test' }]);
    const brute = r.alerts.find((a) => a.source?.ip === '203.0.113.77')!;
    expect(brute).toMatchObject({ tlp: 'GREEN', score: 0.85, severity: 'high', detector: 'stix-import', origin: { soc: 'misp-circl', name: 'CIRCL MISP (test fixture)' }, first_seen: '2026-02-27T12:00:00.000Z', last_seen: '2026-02-28T06:30:00.000Z' });
    const c2 = r.alerts.find((a) => a.source?.ip === '198.51.100.23')!;
    expect(c2).toMatchObject({ tlp: 'AMBER', score: 0.7, severity: 'medium' });
    expect(r.indicators.filter((i) => i.alert_id === c2.id)).toHaveLength(3);
    expect(r.objects.filter((o) => o.type === 'indicator' && o.outcome === 'skipped').map((s) => [s.id, s.reason])).toEqual([
      ['indicator--0b9a8c7d-6e5f-4a3b-9c1d-2e3f4a5b6c04', expect.stringMatching(/network-traffic/)],
      ['indicator--c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e05', 'expired (valid_until passed)'],
      ['indicator--d4e5f6a7-b8c9-4d0e-9f1a-2b3c4d5e6f06', 'pattern_type sigma'],
    ]);
    expect(r.counts.rejected).toBe(0);
    // Imported twice: same alert ids (upsert).
    expect(fromStixBundle(FIXTURE, { source: 'misp-circl', now: new Date('2026-03-01T00:00:00Z') }).alerts.map((a) => a.id)).toEqual(r.alerts.map((a) => a.id));
    const index = new IndicatorIndex();
    for (const e of r.indicators) index.add(e);
    expect(index.lookup('2001:DB8:BAD:0::1', Date.parse('2026-03-01T00:00:00Z'))).toHaveLength(1);
  });

  it('round-trips our own export', () => {
    const r = fromStixBundle(toStixBundle([scanAlert({ tlp: 'GREEN' })], SOC_EE), { source: 'soc-ee-stix', now: new Date('2026-03-01T10:00:00Z') });
    expect(r.indicators).toMatchObject([{ ip: '203.0.113.9', tlp: 'GREEN', severity: 'high' }]);
  });

  it('keeps an indicator whose free text exceeds the alert bounds (found by fuzzing: it threw, a 500)', () => {
    const b = toStixBundle([scanAlert({ tlp: 'GREEN' })], SOC_EE) as { objects: Record<string, unknown>[] };
    const ind = b.objects.find((o) => o.type === 'indicator')!;
    ind.name = 'n'.repeat(5000);
    ind.description = 'd'.repeat(20_000);
    const r = fromStixBundle(b, { source: 'misp', now: new Date('2026-03-01T10:00:00Z') });
    expect(r.alerts).toHaveLength(1);
    expect(r.alerts[0]!.rule.name).toHaveLength(1024);
    expect(r.alerts[0]!.message).toHaveLength(8192);
  });

  it('refuses a structurally invalid bundle', () => {
    expect(() => fromStixBundle({ type: 'bundle', id: 'x', objects: [] }, { source: 's' })).toThrow(/refused/);
  });

  it('reads address, CIDR, domain, URL and hash patterns, MISP forms included', () => {
    const obs = (p: string) => {
      const r = patternObservables(p);
      return r.ok ? r.observables : r.error;
    };
    expect(obs("[ipv4-addr:value = '1.2.3.4'] OR [ipv6-addr:value = '::1']")).toEqual([{ kind: 'ip', value: '1.2.3.4' }, { kind: 'ip', value: '::1' }]);
    expect(obs("[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '5.6.7.8']")).toEqual([{ kind: 'ip', value: '5.6.7.8' }]);
    expect(obs("[ipv4-addr:value = '198.51.100.7' OR domain-name:value = 'Evil.Example.']")).toEqual([{ kind: 'ip', value: '198.51.100.7' }, { kind: 'domain', value: 'evil.example' }]);
    expect(obs("[ipv4-addr:value = '10.0.0.0/8']")).toEqual([{ kind: 'cidr', value: '10.0.0.0/8' }]);
    expect(obs("[ipv4-addr:value ISSUBSET '198.51.100.0/24']")).toEqual([{ kind: 'cidr', value: '198.51.100.0/24' }]);
    expect(obs("[url:value = 'HTTP://Evil.Example/a?b=1']")).toEqual([{ kind: 'url', value: 'http://evil.example/a?b=1' }]);
    expect(obs("[file:hashes.MD5 = '8764605C6F388C89096B534D33565802' AND file:name = 'oui']")).toEqual([{ kind: 'file', hashes: { md5: '8764605c6f388c89096b534d33565802' }, name: 'oui' }]);
    // Unmatchable disjuncts are dropped (less is safe); unmatchable conjunctions refuse the pattern.
    expect(patternObservables("[ipv4-addr:value = '1.2.3.4' OR user-account:user_id = 'x']")).toMatchObject({ ok: true, dropped: [expect.stringMatching(/user-account/)] });
    for (const p of ["[ipv4-addr:value = '1.2.3.4'] AND [ipv4-addr:value = '1.2.3.5']", "[ipv4-addr:value = '1.2.3.4'] WITHIN 5 SECONDS", "[ipv4-addr:value = '::1']", "[ipv4-addr:value != '1.2.3.4']",
      "[domain-name:value = 'circl.lu' AND domain-name:resolves_to_refs[*].value = '149.13.33.14']", "[file:name = 'x']", "[file:hashes.MD5 = 'abc']"]) {
      expect(patternObservables(p).ok, p).toBe(false);
    }
  });
});
