import { z } from 'zod';
import { Alert, Severity, TriageStatus, type Alert as AlertT } from '@soc/schema';

/**
 * The alert store port. Both adapters (SQLite + FTS5 embedded, Elasticsearch) take the same
 * AlertQuery and return the same shapes. Delivery guarantee: `upsert` is idempotent by alert id
 * and durable when it resolves; re-upserting an alert keeps its analyst triage status.
 */

const csv = <T extends z.ZodTypeAny>(item: T) =>
  z.preprocess((v) => (typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : v), z.array(item).min(1));

export const SORT_FIELDS = ['@timestamp', 'score', 'severity', 'last_seen'] as const;

export const AlertQuery = z.object({
  /** Inclusive lower and exclusive upper bound on `@timestamp`. */
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  severity_min: Severity.optional(),
  /** Matches host.name. */
  host: z.string().max(256).optional(),
  source_ip: z.string().max(64).optional(),
  destination_ip: z.string().max(64).optional(),
  /** Matches source or destination address. */
  ip: z.string().max(64).optional(),
  detector: csv(z.string().max(64)).optional(),
  rule_id: z.string().max(128).optional(),
  status: csv(TriageStatus).optional(),
  /** Origin SOC id (partner alerts carry theirs). */
  origin: z.string().max(64).optional(),
  tlp: csv(z.enum(['CLEAR', 'GREEN', 'AMBER', 'AMBER+STRICT', 'RED'])).optional(),
  /**
   * Free text over message, rule name and explanation: whitespace-separated terms that must all
   * match (case-insensitive, whole words); "quoted phrases"; a trailing * makes a prefix term.
   */
  q: z.string().max(512).optional(),
  sort: z.enum(SORT_FIELDS).default('@timestamp'),
  order: z.enum(['asc', 'desc']).default('desc'),
  limit: z.coerce.number().int().min(1).max(1000).default(50),
  /** Opaque, from the previous page's `next_cursor`. */
  cursor: z.string().max(1024).optional(),
});
export type AlertQuery = z.infer<typeof AlertQuery>;
export type AlertQueryInput = z.input<typeof AlertQuery>;

export const HISTOGRAM_INTERVALS = ['1m', '5m', '1h', '1d'] as const;
export const AggregationRequest = z.object({
  interval: z.enum(HISTOGRAM_INTERVALS).default('1h'),
  /** Most buckets per terms aggregation. */
  size: z.coerce.number().int().min(1).max(1000).default(10),
});
export type AggregationRequest = z.infer<typeof AggregationRequest>;

export interface Bucket {
  key: string;
  count: number;
}

export interface Aggregations {
  total: number;
  by_severity: Bucket[];
  by_detector: Bucket[];
  by_rule: Bucket[];
  by_host: Bucket[];
  /** Keys are ISO timestamps of bucket starts (UTC), ascending; empty buckets omitted. */
  over_time: Bucket[];
}

export interface SearchResult {
  alerts: AlertT[];
  /** Count of all matches, not only this page. */
  total: number;
  next_cursor: string | null;
}

export interface UpsertFailure {
  id: string;
  reason: string;
  retriable: boolean;
}

export interface UpsertResult {
  upserted: number;
  failed: UpsertFailure[];
}

export interface AlertStore {
  readonly kind: 'embedded' | 'elasticsearch' | 'opensearch';
  upsert(alerts: AlertT[]): Promise<UpsertResult>;
  get(id: string): Promise<AlertT | null>;
  search(query: AlertQuery): Promise<SearchResult>;
  aggregate(query: AlertQuery, request: AggregationRequest): Promise<Aggregations>;
  /** Sets the triage status; resolves null when no such alert exists. */
  setStatus(id: string, status: TriageStatus): Promise<AlertT | null>;
  /** Cheap readiness check. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export { Alert };
