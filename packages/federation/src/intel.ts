import { z } from 'zod';
import type { Alert, EcsEvent } from '@soc/schema';
import { cidrContains, parseCidr, parseIp, type Cidr } from '@soc/netaddr';
import type { SocIdentity } from './keys.ts';
import { IndicatorEntry, seenByPartnerAlert, type PartnerReport } from './correlate.ts';
import { normalizeUrl, type Observable } from './stix/pattern.ts';

/**
 * Partner intelligence the detector matches beyond exact addresses (those stay in IndicatorIndex):
 * CIDRs against flow endpoints, domains against DNS queries, TLS SNI and HTTP hosts, URLs against
 * HTTP requests, file hashes against Zeek files and Suricata fileinfo. Bounded like the address
 * index: a full index forgets its oldest entries (a missed early warning, never a wrong one).
 */
const Hash = z.string().regex(/^[0-9a-f]+$/);
export const ObservableSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('ip'), value: z.string() }),
  z.object({ kind: z.literal('cidr'), value: z.string() }),
  z.object({ kind: z.literal('domain'), value: z.string() }),
  z.object({ kind: z.literal('url'), value: z.string() }),
  z.object({ kind: z.literal('file'), hashes: z.object({ md5: Hash.optional(), sha1: Hash.optional(), sha256: Hash.optional(), sha512: Hash.optional() }), name: z.string().optional() }),
]);

export const IntelEntry = IndicatorEntry.omit({ ip: true }).extend({
  observable: ObservableSchema,
  /** The producer's valid_until: past it the entry no longer matches. */
  valid_until: z.iso.datetime({ offset: true }).optional(),
});
export type IntelEntry = z.infer<typeof IntelEntry>;

type Keyed = Map<string, IntelEntry[]>;

export class IntelIndex {
  private readonly cidrs = new Map<string, { cidr: Cidr; entries: IntelEntry[] }>();
  private readonly domains: Keyed = new Map();
  private readonly urls: Keyed = new Map();
  private readonly hashes: Keyed = new Map();
  constructor(readonly opts: { capacity?: number; perKey?: number } = {}) {}

  add(entry: IntelEntry): void {
    const e = IntelEntry.parse(entry);
    const o = e.observable;
    switch (o.kind) {
      case 'cidr': {
        const cidr = parseCidr(o.value);
        if (!cidr) return;
        const cur = this.cidrs.get(o.value);
        const entries = this.merge(cur?.entries, e);
        this.cidrs.delete(o.value);
        this.cidrs.set(o.value, { cidr, entries });
        return this.bound(this.cidrs);
      }
      case 'domain':
        return this.put(this.domains, o.value, e);
      case 'url':
        return this.put(this.urls, normalizeUrl(o.value), e);
      case 'file':
        for (const h of Object.values(o.hashes)) if (h) this.put(this.hashes, h, e);
        return;
      case 'ip':
        return; // exact addresses live in IndicatorIndex
    }
  }

  private merge(list: IntelEntry[] | undefined, e: IntelEntry): IntelEntry[] {
    return [...(list ?? []).filter((x) => x.alert_id !== e.alert_id), e].slice(-(this.opts.perKey ?? 16));
  }

  private put(map: Keyed, key: string, e: IntelEntry): void {
    const list = this.merge(map.get(key), e);
    map.delete(key);
    map.set(key, list);
    this.bound(map);
  }

  private bound(map: Map<string, unknown>): void {
    for (const k of map.keys()) {
      if (map.size <= (this.opts.capacity ?? 100_000)) break;
      map.delete(k);
    }
  }

  /** Every entry whose observable the event shows, with what matched. */
  match(e: EcsEvent, nowMs: number): { entry: IntelEntry; matched: string }[] {
    const out: { entry: IntelEntry; matched: string }[] = [];
    const live = (x: IntelEntry) => !x.valid_until || Date.parse(x.valid_until) > nowMs;
    const push = (list: IntelEntry[] | undefined, matched: string, ok: (x: IntelEntry) => boolean = () => true) => {
      for (const entry of list ?? []) if (live(entry) && ok(entry)) out.push({ entry, matched });
    };
    if (this.cidrs.size) {
      for (const addr of [e.source?.ip, e.destination?.ip]) {
        const ip = addr ? parseIp(addr) : undefined;
        if (!ip) continue;
        for (const [text, c] of this.cidrs) if (cidrContains(c.cidr, ip)) push(c.entries, `${addr} in ${text}`);
      }
    }
    for (const d of eventDomains(e)) push(this.domains.get(d), d);
    for (const u of eventUrls(e)) push(this.urls.get(u), u);
    const f = e.file as { name?: unknown; hash?: Record<string, unknown> } | undefined;
    for (const h of Object.values(f?.hash ?? {})) {
      if (typeof h !== 'string') continue;
      const key = h.toLowerCase();
      // A hash with a file name in the producer's pattern matches only that name (when the event has one).
      push(this.hashes.get(key), key, (x) => x.observable.kind !== 'file' || x.observable.name === undefined || typeof f?.name !== 'string' || x.observable.name === f.name);
    }
    return out;
  }

  get size(): number {
    return this.cidrs.size + this.domains.size + this.urls.size + this.hashes.size;
  }
}

const text = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const get = (o: unknown, path: string): unknown => path.split('.').reduce<unknown>((v, k) => (typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[k] : undefined), o);

/** The domain names an event shows: DNS question, TLS SNI, HTTP host, destination domain. */
export function eventDomains(e: EcsEvent): string[] {
  const names = [get(e.dns, 'question.name'), get(e.tls, 'client.server_name'), get(e.url, 'domain'), e.destination?.domain].map(text).filter((x): x is string => !!x);
  return [...new Set(names.map((n) => n.toLowerCase().replace(/\.$/, '')))];
}

/** The URLs an event shows: url.full, else scheme + host + the request target (Zeek, Suricata HTTP). */
export function eventUrls(e: EcsEvent): string[] {
  const full = text(get(e.url, 'full'));
  if (full) return [normalizeUrl(full)];
  const original = text(get(e.url, 'original'));
  if (!original) return [];
  if (/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(original)) return [normalizeUrl(original)];
  const host = text(get(e.url, 'domain'));
  if (!host || !original.startsWith('/')) return [];
  const scheme = text(get(e.url, 'scheme')) ?? (e.network?.protocol === 'tls' ? 'https' : 'http');
  const port = e.destination?.port;
  const hostPort = port && port !== (scheme === 'https' ? 443 : 80) ? `${host}:${port}` : host;
  return [...new Set([normalizeUrl(`${scheme}://${host}${original}`), normalizeUrl(`${scheme}://${hostPort}${original}`)])];
}

/**
 * Checks one local event against partner intelligence; each live match whose report is no later
 * than the event becomes a "seen by partner first" alert, like an address match.
 */
export function matchIntel(e: EcsEvent, index: IntelIndex, ctx: { self: SocIdentity; nowMs?: number }): Alert[] {
  const seenAt = Date.parse(e['@timestamp']);
  const out = new Map<string, Alert>();
  for (const { entry, matched } of index.match(e, ctx.nowMs ?? seenAt)) {
    if (Date.parse(entry.first_seen) > seenAt) continue;
    const a = seenByPartnerAlert(e, entry, matched, ctx.self);
    out.set(a.id, a);
  }
  return [...out.values()];
}

/** The partner report an alert carries, as the indexes keep it. */
export function reportOf(alert: Alert): PartnerReport {
  const stixId = alert.labels?.['stix.id'];
  return { origin: alert.origin.soc, alert_id: alert.id, first_seen: alert.first_seen, severity: alert.severity, score: alert.score, tlp: alert.tlp, name: alert.rule.name || alert.rule.id, ...(stixId ? { stix_id: stixId } : {}) };
}

/** What an imported-intelligence alert teaches IntelIndex: its non-address observables, until valid_until. */
export function intelEntriesOf(alert: Alert, observables: readonly Observable[]): IntelEntry[] {
  let validUntil: string | undefined;
  try {
    const v = (JSON.parse(alert.labels?.['stix.indicator'] ?? '{}') as { valid_until?: unknown }).valid_until;
    if (typeof v === 'string' && !Number.isNaN(Date.parse(v))) validUntil = new Date(v).toISOString();
  } catch {
    validUntil = undefined;
  }
  const base = { ...reportOf(alert), ...(validUntil ? { valid_until: validUntil } : {}) };
  return observables.filter((o) => o.kind !== 'ip').map((observable) => ({ observable, ...base }));
}
