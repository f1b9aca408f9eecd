/**
 * The alert fields the query language knows, with their type. The type decides which values
 * and operators a field accepts (checked by the parser) and how each store translates it.
 */
export type FieldType = 'text' | 'keyword' | 'ip' | 'number' | 'date' | 'severity';

export const FIELDS = {
  message: 'text',
  'rule.name': 'text',
  'explanation.summary': 'text',
  id: 'keyword',
  detector: 'keyword',
  'rule.id': 'keyword',
  'rule.category': 'keyword',
  status: 'keyword',
  tlp: 'keyword',
  assignee: 'keyword',
  'origin.soc': 'keyword',
  'host.name': 'keyword',
  'network.transport': 'keyword',
  'network.protocol': 'keyword',
  /** Ordered low < medium < high < critical, so `severity >= high` is a range. */
  severity: 'severity',
  'source.ip': 'ip',
  'destination.ip': 'ip',
  /** Either address. */
  ip: 'ip',
  score: 'number',
  count: 'number',
  'source.port': 'number',
  'destination.port': 'number',
  '@timestamp': 'date',
  first_seen: 'date',
  last_seen: 'date',
} as const satisfies Record<string, FieldType>;

export type Field = keyof typeof FIELDS;
export type TextField = { [K in Field]: (typeof FIELDS)[K] extends 'text' ? K : never }[Field];

export const TEXT_FIELDS = Object.keys(FIELDS).filter((f) => FIELDS[f as Field] === 'text') as TextField[];

/**
 * The ECS event fields a hunt over raw events knows (what the collector writes: `@soc/schema`
 * EcsEvent). Keyword fields that hold arrays in ECS (`event.category`, `related.ip`) match when
 * any element does.
 */
export const EVENT_FIELDS = {
  message: 'text',
  'rule.name': 'text',
  'event.id': 'keyword',
  'event.kind': 'keyword',
  'event.category': 'keyword',
  'event.type': 'keyword',
  'event.dataset': 'keyword',
  'event.module': 'keyword',
  'event.action': 'keyword',
  'event.outcome': 'keyword',
  'observer.name': 'keyword',
  'observer.type': 'keyword',
  'host.name': 'keyword',
  'user.name': 'keyword',
  'rule.id': 'keyword',
  'network.transport': 'keyword',
  'network.protocol': 'keyword',
  'network.direction': 'keyword',
  'network.community_id': 'keyword',
  'dns.question.name': 'keyword',
  'dns.response_code': 'keyword',
  'tls.client.server_name': 'keyword',
  'tls.client.ja3': 'keyword',
  'url.domain': 'keyword',
  'url.original': 'keyword',
  'http.request.method': 'keyword',
  'user_agent.original': 'keyword',
  'file.hash.sha256': 'keyword',
  'related.hosts': 'keyword',
  'source.ip': 'ip',
  'destination.ip': 'ip',
  ip: 'ip',
  'source.port': 'number',
  'destination.port': 'number',
  'source.bytes': 'number',
  'destination.bytes': 'number',
  'event.severity': 'number',
  'event.duration': 'number',
  'http.response.status_code': 'number',
  '@timestamp': 'date',
} as const satisfies Record<string, FieldType>;

export type EventField = keyof typeof EVENT_FIELDS;

/** What the parser checks a query against: its fields with their types, and which are free text. */
export interface FieldTable<F extends string> {
  readonly fields: Readonly<Record<F, FieldType>>;
  readonly text: readonly F[];
}

const tableOf = <F extends string>(fields: Record<F, FieldType>): FieldTable<F> => ({
  fields,
  text: (Object.keys(fields) as F[]).filter((f) => fields[f] === 'text'),
});

export const ALERT_TABLE: FieldTable<Field> = tableOf<Field>(FIELDS);
export const EVENT_TABLE: FieldTable<EventField> = tableOf<EventField>(EVENT_FIELDS);

export const SEVERITY_ORDER = ['low', 'medium', 'high', 'critical'] as const;

export const isField = (name: string): name is Field => Object.hasOwn(FIELDS, name);

/**
 * Words as both stores index text: letters and digits, case and diacritics folded (FTS5
 * unicode61 remove_diacritics=2; Elasticsearch pattern tokenizer + lowercase + asciifolding).
 */
export function textWords(s: string): string[] {
  return s.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}
