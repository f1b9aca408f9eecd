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

export const SEVERITY_ORDER = ['low', 'medium', 'high', 'critical'] as const;

export const isField = (name: string): name is Field => Object.hasOwn(FIELDS, name);

/**
 * Words as both stores index text: letters and digits, case and diacritics folded (FTS5
 * unicode61 remove_diacritics=2; Elasticsearch pattern tokenizer + lowercase + asciifolding).
 */
export function textWords(s: string): string[] {
  return s.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}
