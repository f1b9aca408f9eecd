import type { Alert, Tlp } from '@soc/schema';
import { AlertQuery, type AlertStore } from '@soc/store';
import { SOC_NAMESPACE, TLP_ORDER, tlpRank, toStixBundle, uuidv5, type SharingPolicy, type SocIdentity, type StixObject } from '@soc/federation';
import { collectAlerts } from '../stix.ts';
import { TaxiiError } from './media.ts';

/**
 * What this SOC serves over TAXII: one collection of its shared alerts per TLP level the sharing
 * policy lets out (never RED), one of its indicators alone, and an inbox partners add to. The
 * objects are exactly what the STIX export makes under the same policy as the federation topic.
 */
export type CollectionKind = { kind: 'alerts'; tlp: Tlp } | { kind: 'indicators' } | { kind: 'inbox' };
export interface Collection {
  id: string;
  title: string;
  description: string;
  spec: CollectionKind;
}

export function collectionsOf(self: SocIdentity, policy: SharingPolicy): Collection[] {
  const id = (name: string) => uuidv5(SOC_NAMESPACE, `taxii|${self.id}|${name}`);
  const tlps = TLP_ORDER.filter((t) => t !== 'RED' && tlpRank(t) <= tlpRank(policy.tlpMax));
  return [
    ...tlps.map((tlp): Collection => ({ id: id(`alerts-${tlp}`), title: `${self.name}: shared alerts, TLP:${tlp}`, description: `Indicators, observed data and sightings of the alerts ${self.id} shares at TLP:${tlp}`, spec: { kind: 'alerts', tlp } })),
    { id: id('indicators'), title: `${self.name}: indicators`, description: `The indicators of every alert ${self.id} shares (up to TLP:${policy.tlpMax})`, spec: { kind: 'indicators' } },
    { id: id('inbox'), title: `${self.name}: partner inbox`, description: 'Partners add STIX 2.1 intelligence here; it is imported per object like POST /v1/stix', spec: { kind: 'inbox' } },
  ];
}

export interface Entry {
  object: StixObject;
  date_added: string;
  version: string;
}

/** The store is walked up to this many alerts per request (the STIX export's own cap). */
const MAX_ALERTS = 10_000;

const versionOf = (o: StixObject, dateAdded: string): string => String(o.modified ?? o.created ?? dateAdded);

/**
 * The collection's objects added after `addedAfter`, oldest first, each with its date_added (the
 * alert's time: an alert updated later is a later addition) and version (modified, else created,
 * else date_added). An object several alerts share is listed once, with its first addition.
 */
export async function entriesOf(c: Collection, o: { store: AlertStore; identity: SocIdentity; policy: SharingPolicy }, addedAfter?: string): Promise<Entry[]> {
  if (c.spec.kind === 'inbox') return [];
  // The whole collection is walked, not only alerts after added_after: an object several alerts
  // share keeps the date it was first added, whichever page or filter asks.
  const query = AlertQuery.parse({ sort: '@timestamp', order: 'asc', limit: 1000, ...(c.spec.kind === 'alerts' ? { tlp: c.spec.tlp } : {}) });
  const { alerts } = await collectAlerts(o.store, { ...query, max: MAX_ALERTS });
  const after = addedAfter ? Date.parse(addedAfter) : -Infinity;
  const seen = new Map<string, Entry>();
  for (const a of alerts as Alert[]) {
    const dateAdded = new Date(a['@timestamp']).toISOString();
    for (const obj of toStixBundle([a], o.identity, { policy: o.policy }).objects) {
      if (c.spec.kind === 'indicators' && !['indicator', 'identity', 'marking-definition'].includes(obj.type)) continue;
      const version = versionOf(obj, dateAdded);
      const key = `${obj.id}|${version}`;
      if (!seen.has(key)) seen.set(key, { object: obj, date_added: dateAdded, version });
    }
  }
  // An identity or marking alone (no alert object shared) is not worth serving.
  const entries = [...seen.values()];
  const substantive = entries.some((e) => e.object.type !== 'identity' && e.object.type !== 'marking-definition');
  return (substantive ? entries : []).filter((e) => Date.parse(e.date_added) > after).sort((x, y) => x.date_added.localeCompare(y.date_added) || x.object.id.localeCompare(y.object.id) || x.version.localeCompare(y.version));
}

/** `match[...]` filters (§3.5): id, type, version (last, first, all or timestamps), spec_version. */
export function applyMatch(entries: Entry[], params: URLSearchParams): Entry[] {
  const list = (k: string) => params.get(`match[${k}]`)?.split(',').map((s) => s.trim()).filter(Boolean);
  const ids = list('id'), types = list('type'), specs = list('spec_version'), versions = list('version') ?? ['last'];
  let out = entries.filter((e) => (!ids || ids.includes(e.object.id)) && (!types || types.includes(e.object.type)) && (!specs || specs.includes(String(e.object.spec_version ?? '2.1'))));
  if (!versions.includes('all')) {
    const byId = new Map<string, Entry[]>();
    for (const e of out) byId.set(e.object.id, [...(byId.get(e.object.id) ?? []), e]);
    const keep = new Set<Entry>();
    for (const list of byId.values()) {
      const sorted = [...list].sort((x, y) => Date.parse(x.version) - Date.parse(y.version));
      for (const v of versions) {
        if (v === 'last') keep.add(sorted.at(-1)!);
        else if (v === 'first') keep.add(sorted[0]!);
        else for (const e of sorted) if (Date.parse(e.version) === Date.parse(v)) keep.add(e);
      }
    }
    out = out.filter((e) => keep.has(e));
  }
  return out;
}

/** `limit` and `next` (§3.4): an opaque cursor naming the last entry served. */
export function page(entries: Entry[], params: URLSearchParams, maxLimit: number): { items: Entry[]; more: boolean; next?: string } {
  const raw = params.get('limit');
  const limit = raw === null || raw === '' || raw === '0' ? maxLimit : Number(raw);
  if (!Number.isInteger(limit) || limit < 1) throw new TaxiiError(400, 'invalid limit', 'limit must be a positive integer');
  let start = 0;
  const next = params.get('next');
  if (next) {
    let key: string;
    try {
      key = Buffer.from(next, 'base64url').toString('utf8');
    } catch {
      throw new TaxiiError(400, 'invalid next');
    }
    const i = entries.findIndex((e) => cursorKey(e) === key);
    if (i < 0) throw new TaxiiError(400, 'invalid next', 'the next token does not name an entry of this result');
    start = i + 1;
  }
  const items = entries.slice(start, start + Math.min(limit, maxLimit));
  const more = start + items.length < entries.length;
  return { items, more, ...(more ? { next: Buffer.from(cursorKey(items.at(-1)!)).toString('base64url') } : {}) };
}

const cursorKey = (e: Entry) => `${e.date_added}|${e.object.id}|${e.version}`;
