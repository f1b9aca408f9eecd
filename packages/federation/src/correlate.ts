import { z } from 'zod';
import { Alert, EcsEvent, Severity, Tlp, alertId } from '@soc/schema';
import { CidrSet, normalizeIp } from '@soc/netaddr';
import type { SocIdentity } from './keys.ts';
import { SEEN_BY_PARTNER_FIRST } from './links.ts';

export { SEEN_BY_PARTNER_FIRST };
/** On a local match of an imported indicator: the producer's indicator id it is a sighting of. */
export const SIGHTING_OF_LABEL = 'stix.sighting_of';

/** One partner (or feed) sighting of an attacker address. */
export const IndicatorEntry = z.object({
  /** Canonical address text (normalizeIp). */
  ip: z.string(),
  /** Who saw it: partner SOC id, or the feed name for STIX imports. */
  origin: z.string(),
  /** The local id of the alert that carries the sighting. */
  alert_id: z.string(),
  first_seen: z.iso.datetime({ offset: true }),
  severity: Severity,
  score: z.number().min(0).max(1),
  tlp: Tlp,
  name: z.string(),
  /** The producer's STIX indicator id, for an imported one: a local match is a sighting of it. */
  stix_id: z.string().optional(),
});
export type IndicatorEntry = z.infer<typeof IndicatorEntry>;

/**
 * Bounded index of external attacker addresses reported by partners. LRU over addresses (a Map in
 * insertion order, refreshed on add) plus a TTL on entries: indicators go stale, and a SOC under a
 * scan must not grow this without bound. Best-effort by design: an evicted entry only means a
 * missed early warning, never a wrong one.
 */
export class IndicatorIndex {
  private readonly byIp = new Map<string, IndicatorEntry[]>();
  constructor(readonly opts: { capacity?: number; ttlMs?: number; perAddress?: number } = {}) {}

  add(entry: IndicatorEntry): void {
    const e = IndicatorEntry.parse(entry);
    const ip = normalizeIp(e.ip);
    if (!ip) return;
    const list = (this.byIp.get(ip) ?? []).filter((x) => x.alert_id !== e.alert_id);
    list.push({ ...e, ip });
    this.byIp.delete(ip);
    this.byIp.set(ip, list.slice(-(this.opts.perAddress ?? 16)));
    for (const k of this.byIp.keys()) {
      if (this.byIp.size <= (this.opts.capacity ?? 100_000)) break;
      this.byIp.delete(k);
    }
  }

  /**
   * Indexes an accepted partner alert's source address when it is an external one from our point
   * of view. Pseudonyms and our own ranges never enter.
   */
  addAlert(alert: Alert, internal: CidrSet): boolean {
    const ip = alert.source?.ip === undefined ? undefined : normalizeIp(alert.source.ip);
    if (!ip || internal.contains(ip)) return false;
    this.add({ ip, origin: alert.origin.soc, alert_id: alert.id, first_seen: alert.first_seen, severity: alert.severity, score: alert.score, tlp: alert.tlp, name: alert.rule.name || alert.rule.id });
    return true;
  }

  lookup(ip: string, nowMs: number = Date.now()): IndicatorEntry[] {
    const key = normalizeIp(ip);
    if (!key) return [];
    const ttl = this.opts.ttlMs ?? 7 * 24 * 3_600_000;
    return (this.byIp.get(key) ?? []).filter((e) => Date.parse(e.first_seen) + ttl > nowMs);
  }

  get size(): number {
    return this.byIp.size;
  }
}


/**
 * Checks a local event or alert against partner indicators (its source and destination address:
 * an attacker scanning us, or one of our hosts calling out to it). Each match whose partner
 * sighting is no later than ours becomes a local alert linking the partner's, with an id fixed by
 * (address, partner alert) so repeated local traffic upserts one alert.
 */
export function correlate(subject: EcsEvent | Alert, index: IndicatorIndex, ctx: { self: SocIdentity; nowMs?: number }): Alert[] {
  const isAlert = 'detector' in subject;
  const seenAt = isAlert ? subject.first_seen : subject['@timestamp'];
  const out = new Map<string, Alert>();
  for (const addr of [subject.source?.ip, subject.destination?.ip]) {
    if (!addr) continue;
    for (const m of index.lookup(addr, ctx.nowMs)) {
      if (Date.parse(m.first_seen) > Date.parse(seenAt)) continue;
      const a = seenByPartnerAlert(subject, m, m.ip, ctx.self);
      out.set(a.id, a);
    }
  }
  return [...out.values()];
}

/** What every partner-report match needs to know about the report (address or other observable). */
export type PartnerReport = Omit<IndicatorEntry, 'ip'>;

/**
 * The local alert for a match of `subject` against a partner report on `matched` (an address, a
 * CIDR, a domain, a URL, a hash), with an id fixed by (matched, partner alert) so repeated local
 * traffic upserts one alert. Carries the producer's STIX indicator id when there is one, so the
 * STIX export can state the sighting that really happened here.
 */
export function seenByPartnerAlert(subject: EcsEvent | Alert, m: PartnerReport, matched: string, self: SocIdentity): Alert {
  const isAlert = 'detector' in subject;
  const seenAt = isAlert ? subject.first_seen : subject['@timestamp'];
  const id = alertId('federation', SEEN_BY_PARTNER_FIRST, `${matched}|${m.alert_id}`);
  return Alert.parse({
    id,
    '@timestamp': seenAt,
    first_seen: seenAt,
    last_seen: seenAt,
    detector: 'federation',
    rule: { id: SEEN_BY_PARTNER_FIRST, name: 'Address reported by a partner SOC before it was seen here', category: 'threat-intel' },
    score: m.score,
    severity: m.severity,
    message: `${matched} was reported by ${m.origin} (${m.name}) at ${m.first_seen}, before it was seen here at ${seenAt}`.slice(0, 8192),
    explanation: { summary: `Early warning from ${m.origin}: ${m.name}`.slice(0, 8192), values: { partner: m.origin, partner_alert_id: m.alert_id, partner_first_seen: m.first_seen, matched: matched.slice(0, 1024) } },
    source: subject.source?.ip ? { ip: subject.source.ip, port: subject.source.port } : undefined,
    destination: subject.destination?.ip ? { ip: subject.destination.ip, port: subject.destination.port } : undefined,
    related_events: isAlert ? (subject as Alert).related_events : [(subject as EcsEvent).event.id],
    origin: { soc: self.id, country: self.country, name: self.name },
    // Built from the partner's report, so it carries that report's marking.
    tlp: m.tlp,
    links: [{ type: SEEN_BY_PARTNER_FIRST, alert_id: m.alert_id, origin: m.origin }],
    ...(m.stix_id ? { labels: { [SIGHTING_OF_LABEL]: m.stix_id } } : {}),
  });
}
