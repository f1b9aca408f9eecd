import type { estypes } from '@elastic/elasticsearch';
import { Alert, severityRank, type Alert as AlertT } from '@soc/schema';

/**
 * The index layout for alerts, shared by Elasticsearch and OpenSearch: a lifecycle policy (ILM on
 * Elasticsearch, ISM on OpenSearch), a component template holding the explicit ECS mappings, an
 * index template binding both to `<alias>-*`, and a rollover alias. A data stream is not used: it
 * is append-only, and alerts are upserted and triaged by id.
 */

export interface LayoutOptions {
  /** The rollover alias every read and write goes through, e.g. "soc-alerts". */
  alias: string;
  retentionDays: number;
  rolloverMaxAge: string;
  rolloverMaxPrimaryShardSize: string;
}

export const layoutNames = (alias: string) => ({
  /** ILM policy on Elasticsearch. */
  policy: `${alias}-ilm`,
  /** ISM policy on OpenSearch. */
  ismPolicy: `${alias}-ism`,
  componentTemplate: `${alias}-mappings`,
  indexTemplate: alias,
  pattern: `${alias}-*`,
  firstIndex: `${alias}-000001`,
  /** Plain indices beside the alerts: the audit trail (create-only writes) and the cases. */
  audit: `${alias}-audit`,
  cases: `${alias}-cases`,
});

export type LayoutNames = ReturnType<typeof layoutNames>;

export function ilmPolicy(o: LayoutOptions) {
  return {
    phases: {
      hot: { actions: { rollover: { max_age: o.rolloverMaxAge, max_primary_shard_size: o.rolloverMaxPrimaryShardSize } } },
      delete: { min_age: `${o.retentionDays}d`, actions: { delete: {} } },
    },
  };
}

/**
 * The same lifecycle as ISM states: roll over daily or at the shard size, delete after the
 * retention. ISM counts `min_index_age` from index creation (ILM's delete phase counts from
 * rollover), so the delete transition adds the rollover age.
 */
export function ismPolicy(o: LayoutOptions, pattern: string) {
  return {
    description: `soc alerts: rollover ${o.rolloverMaxAge}/${o.rolloverMaxPrimaryShardSize}, delete after ${o.retentionDays}d`,
    default_state: 'hot',
    states: [
      {
        name: 'hot',
        actions: [{ rollover: { min_index_age: o.rolloverMaxAge, min_primary_shard_size: o.rolloverMaxPrimaryShardSize } }],
        transitions: [{ state_name: 'delete', conditions: { min_index_age: `${o.retentionDays + 1}d` } }],
      },
      { name: 'delete', actions: [{ delete: {} }], transitions: [] },
    ],
    ism_template: [{ index_patterns: [pattern], priority: 200 }],
  };
}

/** Elasticsearch's `flattened` and OpenSearch's `flat_object`: one field for arbitrary keys. */
export type FlatType = 'flattened' | 'flat_object';

const keyword = { type: 'keyword' } as const;
const date = { type: 'date' } as const;
const long = { type: 'long' } as const;
/** Same tokens as the embedded FTS5 unicode61 tokenizer: letters and digits, folded. */
const text = { type: 'text', analyzer: 'soc_text' } as const;
const endpoint = { properties: { ip: { type: 'ip' }, port: long } } as const;
const threatRef = { properties: { id: keyword, name: keyword, reference: keyword } } as const;

/**
 * The stored alert is an ECS document, so Kibana and partner tools read it with ECS names and
 * types: `event.kind: alert`, `event.id`, `event.severity` (1 low … 4 critical), `event.risk_score`
 * (0..100), `event.start`/`event.end` (first and last seen), `rule.*` (keyword), `message`
 * (match_only_text), `source`/`destination` (ports long), `host.name`, `network.*`, `related.ip`,
 * `threat.*` (ATT&CK), `labels`. What ECS has no field for lives under the one custom namespace
 * `soc.*`. Held against ECS's ecs_flat.yml by a test. ALERT_FIELDS names the paths the queries use.
 */
export const ALERT_FIELDS = {
  id: 'event.id',
  timestamp: '@timestamp',
  firstSeen: 'event.start',
  lastSeen: 'event.end',
  severityRank: 'event.severity',
  severity: 'soc.severity',
  score: 'soc.score',
  detector: 'soc.detector',
  status: 'soc.status',
  origin: 'soc.origin.soc',
  tlp: 'soc.tlp',
  ruleId: 'rule.id',
  host: 'host.name',
  sourceIp: 'source.ip',
  destinationIp: 'destination.ip',
  /** Full-text fields, as the embedded store's FTS5 index covers them. */
  text: ['message', 'rule.name.text', 'soc.explanation.summary'],
} as const;

/** Every field of the stored document, mapped explicitly; anything else is refused (strict). */
export const alertMappings = (flat: FlatType): estypes.MappingTypeMapping => ({
  dynamic: 'strict',
  properties: {
    '@timestamp': date,
    event: { properties: { id: keyword, kind: keyword, category: keyword, type: keyword, severity: long, risk_score: { type: 'float' }, start: date, end: date } },
    // ECS rule.name is a keyword; the text sub-field serves free-text search.
    rule: { properties: { id: keyword, name: { type: 'keyword', ignore_above: 1024, fields: { text } }, category: keyword } },
    message: { type: 'match_only_text' },
    source: endpoint,
    destination: endpoint,
    host: { properties: { name: keyword } },
    network: { properties: { transport: keyword, protocol: keyword } },
    related: { properties: { ip: { type: 'ip' } } },
    threat: {
      properties: {
        framework: keyword,
        tactic: threatRef,
        technique: { properties: { ...threatRef.properties, subtechnique: threatRef } },
      },
    },
    labels: { type: flat } as estypes.MappingProperty,
    soc: {
      properties: {
        detector: keyword,
        score: { type: 'double' },
        severity: keyword,
        count: long,
        related_events: keyword,
        origin: { properties: { soc: keyword, country: keyword, name: keyword } },
        tlp: keyword,
        status: keyword,
        assignee: keyword,
        explanation: {
          properties: {
            summary: text,
            features: { properties: { name: keyword, value: { type: 'double' }, contribution: { type: 'double' } } },
            // Detector-specific keys: one field for all of them, no mapping explosion.
            values: { type: flat } as estypes.MappingProperty,
          },
        },
        federation: { properties: { message_id: keyword, received_at: date, hops: { type: 'integer' }, path: keyword } },
        links: { properties: { type: keyword, alert_id: keyword, origin: keyword } },
      },
    },
  },
});

export const ALERT_MAPPINGS = alertMappings('flattened');

const SOC_TEXT: estypes.AnalysisCustomAnalyzer = { type: 'custom', tokenizer: 'soc_words', filter: ['lowercase', 'asciifolding'] };
export const ANALYSIS: estypes.IndicesIndexSettingsAnalysis = {
  tokenizer: { soc_words: { type: 'pattern', pattern: '[^\\p{L}\\p{N}]+' } },
  // default: match_only_text (message) takes the index's default analyzer.
  analyzer: { soc_text: SOC_TEXT, default: SOC_TEXT },
};

type Obj = Record<string, unknown>;
const defined = (o: Obj): Obj => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

/** The alert as stored: ECS where ECS has the field, `soc.*` for the rest. */
export function toEsDoc(a: AlertT): Obj {
  const related = [...new Set([a.source?.ip, a.destination?.ip].filter((x): x is string => !!x))];
  const threat = (a as AlertT & { threat?: unknown }).threat;
  return defined({
    '@timestamp': a['@timestamp'],
    event: { id: a.id, kind: 'alert', category: ['intrusion_detection'], type: ['info'], severity: severityRank(a.severity), risk_score: Math.round(a.score * 10_000) / 100, start: a.first_seen, end: a.last_seen },
    rule: a.rule,
    message: a.message,
    source: a.source,
    destination: a.destination,
    host: a.host,
    network: a.network,
    related: related.length ? { ip: related } : undefined,
    threat,
    labels: a.labels,
    soc: defined({ detector: a.detector, score: a.score, severity: a.severity, count: a.count, related_events: a.related_events, origin: a.origin, tlp: a.tlp, status: a.status, assignee: a.assignee, explanation: a.explanation, federation: a.federation, links: a.links }),
  });
}

/** The stored document back to the Alert the API serves. */
export function fromEsDoc(source: unknown): AlertT {
  const d = source as { '@timestamp': string; event: Obj; soc: Obj; threat?: unknown } & Obj;
  const { detector, score, severity, count, related_events, origin, tlp, status, assignee, explanation, federation, links } = d.soc;
  return Alert.parse(defined({
    id: d.event.id, '@timestamp': d['@timestamp'], first_seen: d.event.start, last_seen: d.event.end,
    detector, rule: d.rule, score, severity, message: d.message, explanation,
    source: d.source, destination: d.destination, host: d.host, network: d.network,
    count, related_events, origin, tlp, status, assignee, federation, links, labels: d.labels,
    ...(d.threat !== undefined ? { threat: d.threat } : {}),
  }));
}

export function componentTemplate(flat: FlatType = 'flattened'): estypes.IndicesIndexState {
  return { settings: { analysis: ANALYSIS }, mappings: alertMappings(flat) };
}

/** The Elasticsearch ILM settings that bind new indices to their policy. */
export const ilmSettings = (alias: string): Record<string, string> => ({ 'index.lifecycle.name': layoutNames(alias).policy, 'index.lifecycle.rollover_alias': alias });

/** The index template; `lifecycle` holds the engine's settings binding new indices to their policy. */
export function indexTemplate(alias: string, lifecycle: Record<string, string> = ilmSettings(alias)) {
  const n = layoutNames(alias);
  return {
    index_patterns: [n.pattern],
    composed_of: [n.componentTemplate],
    priority: 200,
    template: { settings: lifecycle },
  };
}

/** The audit trail: entries are only ever created (op_type create), never updated. */
export const AUDIT_MAPPINGS: estypes.MappingTypeMapping = {
  dynamic: 'strict',
  properties: {
    id: keyword,
    at: date,
    actor: keyword,
    target: { properties: { kind: keyword, id: keyword } },
    action: keyword,
    from: keyword,
    to: keyword,
    text: { type: 'text', index: false },
  },
};

export const CASE_MAPPINGS: estypes.MappingTypeMapping = {
  dynamic: 'strict',
  properties: {
    id: keyword,
    title: { type: 'keyword', ignore_above: 1024, fields: { text } },
    description: text,
    severity: keyword,
    tlp: keyword,
    status: keyword,
    assignee: keyword,
    alert_ids: keyword,
    notes: { properties: { at: date, author: keyword, text: { type: 'text', index: false } } },
    created_at: date,
    created_by: keyword,
    updated_at: date,
  },
};
