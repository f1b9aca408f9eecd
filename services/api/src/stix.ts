import { z } from 'zod';
import type { Producer } from '@soc/bus';
import { parseQuery, readBody, sendJson, type Route } from '@soc/http';
import { TOPICS, type Alert } from '@soc/schema';
import { AlertQuery, type AlertStore } from '@soc/store';
import { fromStixBundle, toStixBundle, validateStixObjects, type SharingPolicy, type SocIdentity, type StixImportResult, type StixIssue } from '@soc/federation';
import { ValidationError } from '@soc/errors';

/** The export walks the store page by page up to this many alerts unless `max` says fewer. */
export const STIX_EXPORT_CAP = 10_000;
const PAGE = 1000;

const ExportQuery = AlertQuery.omit({ limit: true, cursor: true }).extend({ max: z.coerce.number().int().min(1).max(STIX_EXPORT_CAP).default(STIX_EXPORT_CAP) });
const ImportQuery = z.object({ source: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'a feed name: lower-case letters, digits, . _ -') });

export interface StixRouteOptions {
  store: AlertStore;
  /** Imported intelligence goes onto the local alert topic, like any other alert. */
  producer: Producer;
  identity: SocIdentity;
  /** With federation configured: exports pass the same gate and sanitisation as envelopes. */
  policy?: SharingPolicy;
  /** In one process with the detector: imported indicators take effect without waiting for the feed. */
  onIndicators?: (learned: Pick<StixImportResult, 'indicators' | 'intel'>) => void;
  maxBodyBytes?: number;
}

/** Reads matching alerts in store order, page by page, stopping at `max`. */
export async function collectAlerts(store: AlertStore, query: z.infer<typeof ExportQuery>): Promise<{ alerts: Alert[]; truncated: boolean }> {
  const { max, ...filters } = query;
  const alerts: Alert[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.search({ ...filters, limit: Math.min(PAGE, max - alerts.length), cursor });
    alerts.push(...page.alerts);
    cursor = page.next_cursor ?? undefined;
  } while (cursor && alerts.length < max);
  return { alerts, truncated: cursor !== undefined };
}

/** What an import answers: per object imported / skipped / rejected with the reason. */
export interface ImportAnswer {
  alerts: string[];
  indicators: number;
  counts: StixImportResult['counts'];
  objects: StixImportResult['objects'];
}

/**
 * Imports a bundle as partner intelligence onto the alert topic (shared by POST /v1/stix and
 * TAXII's POST objects). Only a broken envelope is refused whole (`issues`); bad objects are
 * answered one by one.
 */
export async function importStix(bundle: unknown, source: string, o: Pick<StixRouteOptions, 'producer' | 'onIndicators'>): Promise<ImportAnswer | { issues: StixIssue[] }> {
  const v = validateStixObjects(bundle);
  if (v.bundle.length) return { issues: v.bundle };
  const result = fromStixBundle(bundle, { source });
  if (result.alerts.length) await o.producer.send(TOPICS.alerts, result.alerts.map((a) => ({ key: a.id, value: JSON.stringify(a) })));
  o.onIndicators?.(result);
  return { alerts: result.alerts.map((a) => a.id), indicators: result.indicators.length + result.intel.length, counts: result.counts, objects: result.objects };
}

/**
 * STIX 2.1 for MISP, OpenCTI and partners without our bus: `GET /v1/stix` exports the alerts that
 * `/v1/alerts` filters would return; `POST /v1/stix?source=NAME` imports a bundle as partner
 * intelligence. A bundle that fails validation is answered 400 with the validator's issues.
 */
export function stixRoutes(o: StixRouteOptions): Route[] {
  return [
    {
      method: 'GET',
      path: '/v1/stix',
      roles: ['analyst'],
      handler: async ({ res, query }) => {
        const { alerts, truncated } = await collectAlerts(o.store, parseQuery(ExportQuery, query));
        const bundle = toStixBundle(alerts, o.identity, { policy: o.policy });
        sendJson(res, 200, bundle, truncated ? { 'x-soc-truncated': 'true' } : {});
      },
    },
    {
      method: 'POST',
      path: '/v1/stix',
      roles: ['analyst'],
      handler: async ({ req, res, query }) => {
        const { source } = parseQuery(ImportQuery, query);
        let bundle: unknown;
        try {
          bundle = JSON.parse((await readBody(req, o.maxBodyBytes ?? 16 * 1024 * 1024)).toString('utf8'));
        } catch (err) {
          if (err instanceof SyntaxError) throw new ValidationError('body is not valid JSON');
          throw err;
        }
        const result = await importStix(bundle, source, o);
        if ('issues' in result) {
          sendJson(res, 400, { error: `invalid STIX bundle: ${result.issues.length} issue(s)`, issues: result.issues.slice(0, 100) });
          return;
        }
        sendJson(res, 202, result);
      },
    },
  ];
}

