import type { estypes } from '@elastic/elasticsearch';
import { formatIp } from '@soc/netaddr';
import { timeMsOf, type Field, type Node, type TextField } from '@soc/query';
import { ALERT_FIELDS as F } from './es-layout.ts';

/**
 * Translates the query tree to Elasticsearch/OpenSearch query DSL (the subset both speak:
 * bool, term, wildcard, range, simple_query_string). Shared by every search-engine adapter.
 */

/** The stored (ECS) path of each query field: the alert index is an ECS document (es-layout.ts). */
const ES_FIELD: Record<Exclude<Field, 'ip'>, string> = {
  message: 'message',
  'rule.name': 'rule.name.text',
  'explanation.summary': 'soc.explanation.summary',
  id: F.id,
  detector: F.detector,
  'rule.id': F.ruleId,
  'rule.category': 'rule.category',
  status: F.status,
  tlp: F.tlp,
  assignee: 'soc.assignee',
  'origin.soc': F.origin,
  'host.name': F.host,
  'network.transport': 'network.transport',
  'network.protocol': 'network.protocol',
  severity: F.severityRank,
  'source.ip': F.sourceIp,
  'destination.ip': F.destinationIp,
  score: F.score,
  count: 'soc.count',
  'source.port': 'source.port',
  'destination.port': 'destination.port',
  '@timestamp': F.timestamp,
  first_seen: F.firstSeen,
  last_seen: F.lastSeen,
};

const esField = (f: Exclude<Field, 'ip'>) => ES_FIELD[f];
const textFields = (fs: readonly TextField[]) => fs.map((f) => ES_FIELD[f]);

/** Phrase, word or prefix as simple_query_string input; words are letters/digits only. */
function textQuery(n: Extract<Node, { kind: 'text' }>): string {
  if (n.prefix) return `${n.words[0]}*`;
  return n.words.length > 1 ? `"${n.words.join(' ')}"` : n.words[0]!;
}

/** Elasticsearch wildcard syntax: `*`, `?`, and `\` escapes; a literal backslash is doubled. */
const toWildcard = (s: string) => s.replace(/\\/g, '\\\\');

export function toEsDsl(node: Node, nowMs: number): estypes.QueryDslQueryContainer {
  switch (node.kind) {
    case 'all':
      return { match_all: {} };
    case 'and':
      return { bool: { filter: node.children.map((c) => toEsDsl(c, nowMs)) } };
    case 'or':
      return { bool: { should: node.children.map((c) => toEsDsl(c, nowMs)), minimum_should_match: 1 } };
    case 'not':
      return { bool: { must_not: [toEsDsl(node.child, nowMs)] } };
    case 'text':
      return { simple_query_string: { query: textQuery(node), fields: textFields(node.fields), default_operator: 'and', flags: 'PHRASE|PREFIX|WHITESPACE' } };
    case 'keyword':
      return node.wildcard ? { wildcard: { [esField(node.field as Exclude<Field, 'ip'>)]: { value: toWildcard(node.value) } } } : { term: { [esField(node.field as Exclude<Field, 'ip'>)]: node.value } };
    case 'ip': {
      // An `ip` field takes a CIDR in a term query; a /32 or /128 is the address itself.
      const value = `${formatIp({ version: node.cidr.version, value: node.cidr.network })}/${node.cidr.prefix}`;
      if (node.field !== 'ip') return { term: { [esField(node.field)]: value } };
      return { bool: { should: [{ term: { [F.sourceIp]: value } }, { term: { [F.destinationIp]: value } }], minimum_should_match: 1 } };
    }
    case 'range': {
      const f = esField(node.field as Exclude<Field, 'ip'>);
      return node.op === 'eq' ? { term: { [f]: node.value } } : { range: { [f]: { [node.op]: node.value } } };
    }
    case 'time': {
      const ms = timeMsOf(node.at, nowMs);
      const bound = node.op === 'eq' ? { gte: ms, lte: ms } : { [node.op]: ms };
      return { range: { [esField(node.field as Exclude<Field, 'ip'>)]: { ...bound, format: 'epoch_millis' } } };
    }
  }
}
