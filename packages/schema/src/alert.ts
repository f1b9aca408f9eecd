import { z } from 'zod';
import { Timestamp } from './event.ts';
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

export const FeatureContribution = z.object({
  name: z.string(),
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
    values: z.record(z.string(), z.union([z.number(), z.string()])).optional(),
  }),
  source: z.object({ ip: z.string().optional(), port: z.number().int().optional() }).optional(),
  destination: z.object({ ip: z.string().optional(), port: z.number().int().optional() }).optional(),
  host: z.object({ name: z.string().optional() }).optional(),
  network: z.object({ transport: z.string().optional(), protocol: z.string().optional() }).optional(),
  /** How many occurrences this alert groups. */
  count: z.number().int().min(1).default(1),
  related_events: z.array(z.string()).max(1000).default([]),
  origin: AlertOrigin,
  tlp: Tlp.default('AMBER'),
  status: TriageStatus.default('new'),
  /** The analyst working on it (a console user name); kept, like status, across re-upserts. */
  assignee: z.string().min(1).max(128).optional(),
  /** Present on alerts received from a partner SOC. */
  federation: z
    .object({
      message_id: z.string(),
      received_at: Timestamp,
      hops: z.number().int().min(0),
      path: z.array(z.string()).default([]),
    })
    .optional(),
  /** Links to other alerts, e.g. "seen_by_partner_first". */
  links: z.array(z.object({ type: z.string(), alert_id: z.string(), origin: z.string().optional() })).optional(),
  labels: z.record(z.string(), z.string()).optional(),
  /** ECS threat.*: MITRE ATT&CK tactics and techniques (see threat.ts). */
  threat: Threat.optional(),
});
export type Alert = z.infer<typeof Alert>;
export type AlertInput = z.input<typeof Alert>;
