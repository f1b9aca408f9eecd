import { BackendUnavailableError, ValidationError, retry } from '@soc/errors';
import { sdoId } from './stix/ids.ts';
import type { StixBundle, StixObject } from './stix/export.ts';

/** TAXII 2.1 media types (OASIS TAXII 2.1 §1.6.8). */
export const TAXII_MEDIA = 'application/taxii+json;version=2.1';
export const STIX_MEDIA = 'application/stix+json;version=2.1';

export interface PullOptions {
  /** The collection's URL, ending in `/collections/{id}/`. */
  url: string;
  token: string;
  addedAfter?: string;
  /** Objects per request; the server may send fewer. */
  limit?: number;
  /** Stop after this many objects (bounded work). Default 100,000. */
  max?: number;
  onPage?: (objects: number) => void;
  fetchImpl?: typeof fetch;
}

/**
 * Polls a partner's TAXII 2.1 collection: Get Objects page by page (`limit`, `next`) from
 * `added_after`, into one bundle. Retries 429/5xx with the one retry helper; any other answer is
 * an error naming the status and the server's TAXII error title.
 */
export async function pullCollection(o: PullOptions): Promise<StixBundle & { more: boolean; date_added_last?: string }> {
  const f = o.fetchImpl ?? fetch;
  const base = o.url.endsWith('/') ? o.url : `${o.url}/`;
  const objects: StixObject[] = [];
  let next: string | undefined;
  let last: string | undefined;
  let more = false;
  do {
    const q = new URLSearchParams();
    if (o.addedAfter) q.set('added_after', o.addedAfter);
    if (o.limit) q.set('limit', String(o.limit));
    if (next) q.set('next', next);
    const page = await retry(async () => {
      const res = await f(`${base}objects/${q.size ? `?${q}` : ''}`, { headers: { authorization: `Bearer ${o.token}`, accept: TAXII_MEDIA } });
      const body = (await res.json().catch(() => ({}))) as { more?: boolean; next?: string; objects?: StixObject[]; title?: string; description?: string };
      if (res.status === 429 || res.status >= 500) throw new BackendUnavailableError(`TAXII server answered ${res.status}: ${body.title ?? ''}`);
      if (res.status !== 200) throw new ValidationError(`TAXII server answered ${res.status}: ${body.title ?? 'error'}${body.description ? ` (${body.description})` : ''}`);
      if (!res.headers.get('content-type')?.startsWith('application/taxii+json')) throw new ValidationError(`not a TAXII 2.1 answer (content-type ${res.headers.get('content-type')})`);
      return { body, last: res.headers.get('x-taxii-date-added-last') ?? undefined };
    }, { retries: 5, initialDelayMs: 200 });
    objects.push(...(page.body.objects ?? []));
    o.onPage?.(page.body.objects?.length ?? 0);
    last = page.last ?? last;
    more = page.body.more === true;
    next = more ? page.body.next : undefined;
  } while (next && objects.length < (o.max ?? 100_000));
  return { type: 'bundle', id: sdoId('bundle', `${base}|${objects.map((x) => `${x.id}|${String(x.modified ?? '')}`).join(',')}`), objects, more: more && next !== undefined, ...(last ? { date_added_last: last } : {}) };
}
