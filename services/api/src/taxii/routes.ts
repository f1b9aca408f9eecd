import { randomUUID } from 'node:crypto';
import type { Producer } from '@soc/bus';
import { readBody, type RequestContext, type Route } from '@soc/http';
import type { AlertStore } from '@soc/store';
import type { SharingPolicy, SocIdentity, StixImportResult } from '@soc/federation';
import { importStix } from '../stix.ts';
import { applyMatch, collectionsOf, entriesOf, page, type Collection, type Entry } from './collections.ts';
import { STIX_MEDIA, TAXII_MEDIA, TaxiiError, checkAccept, checkContentType, sendTaxii, sendTaxiiError } from './media.ts';

/**
 * TAXII 2.1 (OASIS): discovery, one API root, collections, objects, manifest, versions, add
 * objects and status. Analysts and partners read; partners (role `partner`) add to the inbox,
 * imported per object as POST /v1/stix does, under their credential's name as the source.
 */
export interface TaxiiOptions {
  store: AlertStore;
  producer: Producer;
  identity: SocIdentity;
  /** The federation sharing policy: what the collections serve is exactly what may leave. */
  policy: SharingPolicy;
  onIndicators?: (learned: Pick<StixImportResult, 'indicators' | 'intel'>) => void;
  /** Largest POST body accepted, advertised as max_content_length. Default 16 MiB. */
  maxContentLength?: number;
  /** Most objects per page. Default 1000. */
  maxPage?: number;
}

export const TAXII_PREFIX = '/taxii2';
const ROOT = `${TAXII_PREFIX}/api`;
const SOURCE_RE = /^[a-z0-9][a-z0-9._-]{0,63}$/;

interface StatusResource {
  id: string;
  status: 'complete';
  request_timestamp: string;
  total_count: number;
  success_count: number;
  failure_count: number;
  pending_count: number;
  successes: { id: string; version?: string; message?: string }[];
  failures: { id: string; version?: string; message?: string }[];
}

export function taxiiRoutes(o: TaxiiOptions): Route[] {
  const collections = collectionsOf(o.identity, o.policy);
  const maxLength = o.maxContentLength ?? 16 * 1024 * 1024;
  const maxPage = o.maxPage ?? 1000;
  const statuses = new Map<string, StatusResource>();
  const readers = ['analyst', 'partner'] as const;

  const find = (id: string): Collection => {
    const c = collections.find((x) => x.id === id);
    if (!c) throw new TaxiiError(404, 'collection not found', `no collection ${id}`);
    return c;
  };
  const readable = (c: Collection) => c.spec.kind !== 'inbox';
  const describe = (c: Collection, role: string) => ({
    id: c.id, title: c.title, description: c.description,
    can_read: readable(c), can_write: c.spec.kind === 'inbox' && role === 'partner', media_types: [STIX_MEDIA],
  });
  const readEntries = async (c: Collection, q: URLSearchParams): Promise<Entry[]> => {
    if (!readable(c)) throw new TaxiiError(403, 'collection not readable', `${c.title} is write-only`);
    const addedAfter = q.get('added_after') ?? undefined;
    if (addedAfter !== undefined && Number.isNaN(Date.parse(addedAfter))) throw new TaxiiError(400, 'invalid added_after', 'a timestamp such as 2026-03-01T00:00:00.000Z');
    return applyMatch(await entriesOf(c, o, addedAfter), q);
  };
  const dateHeaders = (items: Entry[]): Record<string, string> =>
    items.length ? { 'x-taxii-date-added-first': items[0]!.date_added, 'x-taxii-date-added-last': items.at(-1)!.date_added } : {};

  const route = (method: Route['method'], path: string, roles: Route['roles'], fn: (ctx: RequestContext) => Promise<void>): Route[] => {
    const handler = async (ctx: RequestContext) => {
      try {
        checkAccept(ctx.req);
        await fn(ctx);
      } catch (err) {
        ctx.req.resume();
        sendTaxiiError(ctx.res, err);
      }
    };
    // TAXII URLs end in '/'; clients derive some (status) without it.
    return [{ method, path, roles, handler }, { method, path: path.replace(/\/$/, ''), roles, handler }];
  };

  const objectsOf = (items: Entry[], more: boolean, next?: string) => ({ more, ...(next ? { next } : {}), ...(items.length ? { objects: items.map((e) => e.object) } : {}) });

  return [
    ...route('GET', `${TAXII_PREFIX}/`, readers, async ({ req, res }) => {
      const host = req.headers.host ?? '127.0.0.1';
      const api = `http://${host}${ROOT}/`;
      sendTaxii(res, 200, { title: `${o.identity.name} TAXII`, description: `TAXII 2.1 server of ${o.identity.id}`, default: api, api_roots: [api] });
    }),
    ...route('GET', `${ROOT}/`, readers, async ({ res }) => {
      sendTaxii(res, 200, { title: `${o.identity.name}`, description: 'Shared alerts and indicators; partner inbox', versions: [TAXII_MEDIA], max_content_length: maxLength });
    }),
    ...route('GET', `${ROOT}/collections/`, readers, async ({ res, principal }) => {
      sendTaxii(res, 200, { collections: collections.map((c) => describe(c, principal.role)) });
    }),
    ...route('GET', `${ROOT}/collections/:id/`, readers, async ({ res, params, principal }) => {
      sendTaxii(res, 200, describe(find(params.id!), principal.role));
    }),
    ...route('GET', `${ROOT}/collections/:id/objects/`, readers, async ({ res, params, query }) => {
      const c = find(params.id!);
      const p = page(await readEntries(c, query), query, maxPage);
      sendTaxii(res, 200, objectsOf(p.items, p.more, p.next), dateHeaders(p.items));
    }),
    ...route('GET', `${ROOT}/collections/:id/manifest/`, readers, async ({ res, params, query }) => {
      const p = page(await readEntries(find(params.id!), query), query, maxPage);
      const objects = p.items.map((e) => ({ id: e.object.id, date_added: e.date_added, version: e.version, media_type: STIX_MEDIA }));
      sendTaxii(res, 200, { more: p.more, ...(p.next ? { next: p.next } : {}), ...(objects.length ? { objects } : {}) }, dateHeaders(p.items));
    }),
    ...route('GET', `${ROOT}/collections/:id/objects/:oid/`, readers, async ({ res, params, query }) => {
      const c = find(params.id!);
      const q = new URLSearchParams(query);
      q.set('match[id]', params.oid!);
      const entries = await readEntries(c, q);
      if (!entries.length) throw new TaxiiError(404, 'object not found', `no object ${params.oid} in this collection`);
      const p = page(entries, query, maxPage);
      sendTaxii(res, 200, objectsOf(p.items, p.more, p.next), dateHeaders(p.items));
    }),
    ...route('GET', `${ROOT}/collections/:id/objects/:oid/versions/`, readers, async ({ res, params, query }) => {
      const q = new URLSearchParams(query);
      q.set('match[id]', params.oid!);
      q.set('match[version]', 'all');
      const entries = await readEntries(find(params.id!), q);
      if (!entries.length) throw new TaxiiError(404, 'object not found', `no object ${params.oid} in this collection`);
      const p = page(entries, query, maxPage);
      sendTaxii(res, 200, { more: p.more, ...(p.next ? { next: p.next } : {}), versions: p.items.map((e) => e.version) }, dateHeaders(p.items));
    }),
    ...route('POST', `${ROOT}/collections/:id/objects/`, ['partner'], async ({ req, res, params, principal }) => {
      const c = find(params.id!);
      if (c.spec.kind !== 'inbox') throw new TaxiiError(403, 'collection not writable', 'only the inbox accepts objects');
      checkContentType(req);
      if (!SOURCE_RE.test(principal.name)) throw new TaxiiError(403, 'partner name unusable', 'the partner credential name must be a feed name (lower-case letters, digits, . _ -)');
      let envelope: { objects?: unknown };
      try {
        envelope = JSON.parse((await readBody(req, maxLength)).toString('utf8')) as { objects?: unknown };
      } catch (err) {
        if (err instanceof SyntaxError) throw new TaxiiError(400, 'invalid JSON', 'the body is not a JSON envelope');
        throw err;
      }
      if (typeof envelope !== 'object' || envelope === null || (envelope.objects !== undefined && !Array.isArray(envelope.objects))) throw new TaxiiError(422, 'invalid envelope', 'an envelope is {"objects": [...]}');
      const objects = (envelope.objects ?? []) as unknown[];
      const requestTimestamp = new Date().toISOString();
      const answer = await importStix({ type: 'bundle', id: `bundle--${randomUUID()}`, objects }, principal.name, o);
      if ('issues' in answer) throw new TaxiiError(422, 'invalid envelope', answer.issues.map((i) => `${i.path}: ${i.message}`).join('; '));
      const versionOf = (i: number) => {
        const obj = objects[i] as { modified?: unknown; created?: unknown } | undefined;
        const v = obj?.modified ?? obj?.created;
        return typeof v === 'string' ? { version: v } : {};
      };
      const successes = answer.objects.flatMap((r, i) => (r.outcome === 'rejected' ? [] : [{ id: r.id, ...versionOf(i), ...(r.reason ? { message: `${r.outcome}: ${r.reason}` } : {}) }]));
      const failures = answer.objects.flatMap((r, i) => (r.outcome === 'rejected' ? [{ id: r.id, ...versionOf(i), message: r.reason ?? 'rejected' }] : []));
      const status: StatusResource = { id: randomUUID(), status: 'complete', request_timestamp: requestTimestamp, total_count: objects.length, success_count: successes.length, failure_count: failures.length, pending_count: 0, successes, failures };
      statuses.set(status.id, status);
      for (const k of statuses.keys()) if (statuses.size > 1000) statuses.delete(k);
      sendTaxii(res, 202, status);
    }),
    ...route('GET', `${ROOT}/status/:sid/`, readers, async ({ res, params }) => {
      const s = statuses.get(params.sid!);
      if (!s) throw new TaxiiError(404, 'status not found', `no status ${params.sid}`);
      sendTaxii(res, 200, s);
    }),
  ];
}
