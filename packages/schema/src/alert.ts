import { z } from 'zod';
import { Port, Timestamp } from './event.ts';
import { Threat } from './threat.ts';

/** Traffic Light Protocol 2.0 labels (FIRST). */
export const Tlp = z.enum(['CLEAR', 'GREEN', 'AMBER', 'AMBER+STRICT', 'RED']);
export type Tlp = z.infer<typeof Tlp>;

export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export const Severity = z.enum(SEVERITIES);
export type Severity = z.infer<typeof Severity>;
/** Rank for "severity at least" filters and sorting: low = 1 … critical = 4. */
export const severityRank = (s: Severity): number => SEVERITIES.indexOf(s) + 1;

export const TRIAGE_STATUSES = ['new', 'acknowledged', 'in_progress', 'resolved', 'false_positive'] as const;
export const TriageStatus = z.enum(TRIAGE_STATUSES);
export type TriageStatus = z.infer<typeof TriageStatus>;

/**
 * A keyword as Elasticsearch indexes it: one Lucene term, which may not exceed 32,766 UTF-8
 * bytes (a longer one fails the whole document). 1,024 UTF-16 units stay far below that.
 */
const Keyword = z.string().max(1024);

/** Keys of the `flattened` fields (labels, explanation values). */
const FlatKey = z.string().min(1).max(256);
/**
 * A leaf value of a `flattened` field: one term, so at most 32,766 UTF-8 bytes; 10,000 UTF-16
 * units are at most 30,000 bytes. (Kept STIX objects in labels are bounded to this.)
 */
export const FLAT_VALUE_MAX = 10_000;
const FlatValue = z.string().max(FLAT_VALUE_MAX);

export const FeatureContribution = z.object({
  name: Keyword,
  value: z.number(),
  /** Share of the score this feature accounts for (0..1), or the raw per-feature error. */
  contribution: z.number(),
});

export const AlertOrigin = z.object({
  /** SOC identifier, e.g. "soc-ee". */
  soc: z.string().min(1).max(64),
  country: z.string().length(2).optional(),
  name: z.string().max(256).optional(),
});

export const Alert = z.object({
  /** Deterministic (see alertId): re-processing the same input never makes a second alert. */
  id: z.string().min(8).max(128),
  '@timestamp': Timestamp,
  first_seen: Timestamp,
  last_seen: Timestamp,
  detector: z.string().min(1).max(64),
  rule: z.object({ id: z.string().min(1).max(128), name: z.string().max(1024), category: z.string().max(256).optional() }),
  /** 0..1, comparable across detectors. */
  score: z.number().min(0).max(1),
  severity: Severity,
  message: z.string().max(8192),
  explanation: z.object({
    summary: z.string().max(8192),
    features: z.array(FeatureContribution).max(64).optional(),
    values: z.record(FlatKey, z.union([z.number(), Keyword])).optional(),
  }),
  /**
   * An address, or on the wire between SOCs a TLP:AMBER pseudonym (`pseudo-…`, deliberately not
   * IP-shaped); the alert stores accept only addresses (see @soc/store validateBatch).
   */
  source: z.object({ ip: z.string().min(1).max(64).optional(), port: Port.optional() }).optional(),
  destination: z.object({ ip: z.string().min(1).max(64).optional(), port: Port.optional() }).optional(),
  host: z.object({ name: Keyword.optional() }).optional(),
  network: z.object({ transport: Keyword.optional(), protocol: Keyword.optional() }).optional(),
  /** How many occurrences this alert groups. */
  count: z.number().int().min(1).default(1),
  related_events: z.array(Keyword).max(1000).default([]),
  origin: AlertOrigin,
  tlp: Tlp.default('AMBER'),
  status: TriageStatus.default('new'),
  /** The analyst working on it (a console user name); kept, like status, across re-upserts. */
  assignee: z.string().min(1).max(128).optional(),
  /** Present on alerts received from a partner SOC. */
  federation: z
    .object({
      message_id: Keyword,
      received_at: Timestamp,
      /** ES `integer`; relays stop long before this. */
      hops: z.number().int().min(0).max(1000),
      path: z.array(Keyword).max(1000).default([]),
    })
    .optional(),
  /** Links to other alerts, e.g. "seen_by_partner_first". */
  links: z.array(z.object({ type: Keyword, alert_id: Keyword, origin: Keyword.optional() })).max(1000).optional(),
  labels: z.record(FlatKey, FlatValue).optional(),
  /** ECS threat.*: MITRE ATT&CK tactics and techniques (see threat.ts). */
  threat: Threat.optional(),
});
export type Alert = z.infer<typeof Alert>;
export type AlertInput = z.input<typeof Alert>;
