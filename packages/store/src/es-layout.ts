import type { estypes } from '@elastic/elasticsearch';

/**
 * The Elasticsearch index layout for alerts: an ILM policy, a component template holding the
 * explicit ECS mappings, an index template binding both to `<alias>-*`, and a rollover alias.
 * A data stream is not used: it is append-only, and alerts are upserted and triaged by id.
 */

export interface LayoutOptions {
  /** The rollover alias every read and write goes through, e.g. "soc-alerts". */
  alias: string;
  retentionDays: number;
  rolloverMaxAge: string;
  rolloverMaxPrimaryShardSize: string;
}

export const layoutNames = (alias: string) => ({
  policy: `${alias}-ilm`,
  componentTemplate: `${alias}-mappings`,
  indexTemplate: alias,
  pattern: `${alias}-*`,
  firstIndex: `${alias}-000001`,
});

export function ilmPolicy(o: LayoutOptions) {
  return {
    phases: {
      hot: { actions: { rollover: { max_age: o.rolloverMaxAge, max_primary_shard_size: o.rolloverMaxPrimaryShardSize } } },
      delete: { min_age: `${o.retentionDays}d`, actions: { delete: {} } },
    },
  };
}

const keyword = { type: 'keyword' } as const;
const date = { type: 'date' } as const;
/** Same tokens as the embedded FTS5 unicode61 tokenizer: letters and digits, folded. */
const text = { type: 'text', analyzer: 'soc_text' } as const;
const textWithKeyword = { ...text, fields: { keyword: { type: 'keyword', ignore_above: 1024 } } } as const;
const endpoint = { properties: { ip: { type: 'ip' }, port: { type: 'integer' } } } as const;

/** Every field of the Alert schema, mapped explicitly; anything else is refused (strict). */
export const ALERT_MAPPINGS: estypes.MappingTypeMapping = {
  dynamic: 'strict',
  properties: {
    id: keyword,
    '@timestamp': date,
    first_seen: date,
    last_seen: date,
    detector: keyword,
    rule: { properties: { id: keyword, name: textWithKeyword, category: keyword } },
    score: { type: 'double' },
    severity: keyword,
    /** low = 1 … critical = 4, so "at least" is a range and sorting is numeric. */
    severity_rank: { type: 'byte' },
    message: textWithKeyword,
    explanation: {
      properties: {
        summary: text,
        features: { properties: { name: keyword, value: { type: 'double' }, contribution: { type: 'double' } } },
        // Detector-specific keys: one field for all of them, no mapping explosion.
        values: { type: 'flattened' },
      },
    },
    source: endpoint,
    destination: endpoint,
    host: { properties: { name: keyword } },
    network: { properties: { transport: keyword, protocol: keyword } },
    count: { type: 'long' },
    related_events: keyword,
    origin: { properties: { soc: keyword, country: keyword, name: keyword } },
    tlp: keyword,
    status: keyword,
    federation: { properties: { message_id: keyword, received_at: date, hops: { type: 'integer' }, path: keyword } },
    links: { properties: { type: keyword, alert_id: keyword, origin: keyword } },
    labels: { type: 'flattened' },
    threat: {
      properties: {
        framework: keyword,
        tactic: { properties: { id: keyword, name: keyword } },
        technique: { properties: { id: keyword, name: keyword, subtechnique: { properties: { id: keyword, name: keyword } } } },
      },
    },
  },
};

export const ANALYSIS: estypes.IndicesIndexSettingsAnalysis = {
  tokenizer: { soc_words: { type: 'pattern', pattern: '[^\\p{L}\\p{N}]+' } },
  analyzer: { soc_text: { type: 'custom', tokenizer: 'soc_words', filter: ['lowercase', 'asciifolding'] } },
};

export function componentTemplate(): estypes.IndicesIndexState {
  return { settings: { analysis: ANALYSIS }, mappings: ALERT_MAPPINGS };
}

export function indexTemplate(alias: string) {
  const n = layoutNames(alias);
  return {
    index_patterns: [n.pattern],
    composed_of: [n.componentTemplate],
    priority: 200,
    template: { settings: { 'index.lifecycle.name': n.policy, 'index.lifecycle.rollover_alias': alias } },
  };
}
