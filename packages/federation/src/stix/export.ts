import type { Alert } from '@soc/schema';
import { CidrSet, normalizeIp } from '@soc/netaddr';
import type { SocIdentity } from '../keys.ts';
import { decideOutbound, type SharingPolicy } from '../policy.ts';
import { SIGHTING_OF_LABEL } from '../correlate.ts';
import { markingDefinitionOf, TLP2_MARKING_IDS } from './markings.ts';
import { INTEL_LABELS } from './import.ts';
import { ipPattern } from './pattern.ts';
import { scoId, sdoId, stixTime } from './ids.ts';

export type StixObject = Record<string, unknown> & { type: string; id: string };
export interface StixBundle {
  type: 'bundle';
  id: string;
  objects: StixObject[];
}

export interface StixExportOptions {
  /** Apply the outbound policy (gate and sanitisation) first, as for federation. */
  policy?: SharingPolicy;
  /** Our ranges, to tell attacker addresses from our own; defaults to the policy's. */
  internalCidrs?: readonly string[];
  /** The identity object's created/modified; fixed so the same SOC is always the same object. */
  identityCreated?: string;
}

const SPEC = { spec_version: '2.1' } as const;
const addrType = (ip: string): 'ipv4-addr' | 'ipv6-addr' => (ip.includes(':') ? 'ipv6-addr' : 'ipv4-addr');

export function stixIdentity(identity: SocIdentity, created = '2020-01-01T00:00:00.000Z'): StixObject {
  return { type: 'identity', ...SPEC, id: sdoId('identity', identity.id), created, modified: created, name: identity.name, identity_class: 'organization', description: `SOC ${identity.id} (${identity.country})` };
}

/**
 * Alerts to a STIX 2.1 bundle: per alert with an external attacker address, an indicator, the
 * observed-data with its SCOs, and a sighting of the indicator by this SOC. Ids are UUIDv5, so
 * exporting the same alerts twice yields the same bundle. TLP:RED alerts, and alerts without an
 * external source address (nothing to indicate), are left out.
 *
 * Provenance: imported intelligence goes out as its producer wrote it (same id, same
 * `created_by_ref`, the producer's identity object beside it), never as ours and without a
 * sighting; a local match of an imported indicator is a sighting of the producer's indicator by
 * this SOC. Under a sharing policy both are withheld, exactly as on the federation topic.
 */
export function toStixBundle(alerts: readonly Alert[], identity: SocIdentity, opts: StixExportOptions = {}): StixBundle {
  const internal = new CidrSet(opts.internalCidrs ?? opts.policy?.internalCidrs ?? []);
  const who = stixIdentity(identity, opts.identityCreated);
  const objects = new Map<string, StixObject>([[who.id, who]]);
  const usedMarkings = new Set<string>();
  for (const original of alerts) {
    if (original.tlp === 'RED') continue;
    let alert = original;
    if (opts.policy) {
      const d = decideOutbound(original, opts.policy, { self: identity });
      if (!d.share || d.mode !== 'originate') continue;
      alert = d.alert;
    }
    const kept = alert.detector === 'stix-import' ? producerObjects(alert) : undefined;
    if (kept) {
      for (const o of kept) objects.set(o.id, o);
      for (const o of kept) for (const m of (o.object_marking_refs as string[] | undefined) ?? []) usedMarkings.add(m);
      continue;
    }
    const attacker = alert.source?.ip === undefined ? undefined : normalizeIp(alert.source.ip);
    // A sighting of a producer's indicator stands on its own (our host may have called out to it).
    if (!attacker || (internal.contains(attacker) && !alert.labels?.[SIGHTING_OF_LABEL])) continue;
    usedMarkings.add(TLP2_MARKING_IDS[alert.tlp]);
    for (const o of alertObjects(alert, attacker, identity, who.id)) objects.set(o.id, o);
  }
  const markings = [...usedMarkings].flatMap((id) => markingDefinitionOf(id) ?? []) as StixObject[];
  const all = [who, ...markings, ...[...objects.values()].filter((o) => o.id !== who.id && o.type !== 'marking-definition')];
  return { type: 'bundle', id: sdoId('bundle', `${identity.id}|${all.map((o) => o.id).sort().join(',')}`), objects: all };
}

/** An imported indicator and its producer's identity, as kept at import; undefined if not kept. */
function producerObjects(alert: Alert): StixObject[] | undefined {
  const parse = (label: string): StixObject | undefined => {
    const raw = alert.labels?.[label];
    if (!raw) return undefined;
    try {
      const o = JSON.parse(raw) as StixObject;
      return typeof o.id === 'string' && typeof o.type === 'string' ? o : undefined;
    } catch {
      return undefined;
    }
  };
  const indicator = parse(INTEL_LABELS.indicator);
  if (!indicator) return undefined;
  const producer = parse(INTEL_LABELS.identity);
  return producer && producer.id === indicator.created_by_ref ? [producer, indicator] : [indicator];
}

function alertObjects(alert: Alert, attacker: string, identity: SocIdentity, identityId: string): StixObject[] {
  const key = `${identity.id}|${alert.id}`;
  const marking = { created_by_ref: identityId, object_marking_refs: [TLP2_MARKING_IDS[alert.tlp]] };
  const scoMarking = { object_marking_refs: marking.object_marking_refs };
  const created = stixTime(alert['@timestamp']);
  const first = stixTime(alert.first_seen);
  const last = stixTime(alert.last_seen);

  const src: StixObject = { type: addrType(attacker), ...SPEC, id: scoId(addrType(attacker), { value: attacker }), value: attacker, ...scoMarking };
  const dstIp = alert.destination?.ip === undefined ? undefined : normalizeIp(alert.destination.ip);
  const dst: StixObject | undefined = dstIp ? { type: addrType(dstIp), ...SPEC, id: scoId(addrType(dstIp), { value: dstIp }), value: dstIp, ...scoMarking } : undefined;
  const protocols = [attacker.includes(':') ? 'ipv6' : 'ipv4', ...(alert.network?.transport ? [alert.network.transport.toLowerCase()] : [])];
  const trafficProps = {
    src_ref: src.id,
    ...(dst ? { dst_ref: dst.id } : {}),
    ...(alert.source?.port !== undefined ? { src_port: alert.source.port } : {}),
    ...(alert.destination?.port !== undefined ? { dst_port: alert.destination.port } : {}),
    protocols,
  };
  const traffic: StixObject = { type: 'network-traffic', ...SPEC, id: scoId('network-traffic', trafficProps), ...trafficProps, ...scoMarking };

  const indicator: StixObject = {
    type: 'indicator', ...SPEC, id: sdoId('indicator', key), created, modified: created, ...marking,
    name: alert.rule.name || `${alert.detector}: ${alert.rule.id}`,
    description: alert.message,
    indicator_types: ['malicious-activity'],
    labels: ['malicious-activity', `severity:${alert.severity}`],
    pattern: ipPattern(attacker), pattern_type: 'stix', pattern_version: '2.1', valid_from: first,
    confidence: Math.round(alert.score * 100),
    external_references: [{ source_name: identity.id, external_id: alert.id, description: `${alert.detector} rule ${alert.rule.id}` }],
  };
  const observed: StixObject = {
    type: 'observed-data', ...SPEC, id: sdoId('observed-data', key), created, modified: created, ...marking,
    first_observed: first, last_observed: last, number_observed: alert.count,
    object_refs: [src.id, ...(dst ? [dst.id] : []), traffic.id],
  };
  // A local match of a producer's indicator: our sighting of theirs, no indicator of our own.
  const sightingOf = alert.labels?.[SIGHTING_OF_LABEL];
  const sighting: StixObject = {
    type: 'sighting', ...SPEC, id: sdoId('sighting', key), created, modified: created, ...marking,
    sighting_of_ref: sightingOf ?? indicator.id, observed_data_refs: [observed.id], where_sighted_refs: [identityId],
    count: alert.count, first_seen: first, last_seen: last,
  };
  return [src, ...(dst ? [dst] : []), traffic, ...(sightingOf ? [] : [indicator]), observed, sighting];
}
