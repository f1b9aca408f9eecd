import { z } from 'zod';
import { Alert, Severity, TriageStatus, type Alert as AlertT } from '@soc/schema';
import type { AuditEntry, AuditQuery, Case, CaseInput, CasePatch, CaseQuery, TriageChange, TriageGuard } from './triage.ts';

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
   * The query language of @soc/query (a KQL subset: field:value, "phrases", AND/OR/NOT/-term,
   * parentheses, wildcards, ranges, CIDR, relative time). A bad query is a QueryError with the
   * position of the problem, never an empty or full result.
   */
  q: z.string().max(2048).optional(),
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
  by_source: Bucket[];
  by_destination: Bucket[];
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
  /**
   * Applies a triage change atomically: the status workflow is enforced (ConflictError), `guard`
   * may refuse on the current alert (role policy), and each change is appended to the audit
   * trail with the actor and the time. Resolves null when no such alert exists.
   */
  triage(id: string, change: TriageChange, actor: string, guard?: TriageGuard): Promise<{ alert: AlertT; entries: AuditEntry[] } | null>;
  /** The append-only audit trail, oldest first (by time, then id), the last `limit` entries. */
  audit(query: AuditQuery): Promise<AuditEntry[]>;
  createCase(input: CaseInput, actor: string): Promise<Case>;
  getCase(id: string): Promise<Case | null>;
  /** Most recently updated first. */
  listCases(query: CaseQuery): Promise<Case[]>;
  /** Resolves null when no such case exists; every change is audited. */
  updateCase(id: string, patch: CasePatch, actor: string): Promise<Case | null>;
  /** Cheap readiness check. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export { Alert };
