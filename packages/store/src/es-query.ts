import type { estypes } from '@elastic/elasticsearch';
import { formatIp } from '@soc/netaddr';
import { timeMsOf, type Field, type Node } from '@soc/query';

/**
 * Translates the query tree to Elasticsearch/OpenSearch query DSL (the subset both speak:
 * bool, term, wildcard, range, simple_query_string). Shared by every search-engine adapter.
 */

/** Indexed field of each query field, where the document differs from the alert. */
const ES_FIELD: Partial<Record<Field, string>> = { severity: 'severity_rank' };

const esField = (f: Field) => ES_FIELD[f] ?? f;

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
      return { simple_query_string: { query: textQuery(node), fields: [...node.fields], default_operator: 'and', flags: 'PHRASE|PREFIX|WHITESPACE' } };
    case 'keyword':
      return node.wildcard ? { wildcard: { [esField(node.field)]: { value: toWildcard(node.value) } } } : { term: { [esField(node.field)]: node.value } };
    case 'ip': {
      // An `ip` field takes a CIDR in a term query; a /32 or /128 is the address itself.
      const value = `${formatIp({ version: node.cidr.version, value: node.cidr.network })}/${node.cidr.prefix}`;
      if (node.field !== 'ip') return { term: { [node.field]: value } };
      return { bool: { should: [{ term: { 'source.ip': value } }, { term: { 'destination.ip': value } }], minimum_should_match: 1 } };
    }
    case 'range':
      return node.op === 'eq' ? { term: { [esField(node.field)]: node.value } } : { range: { [esField(node.field)]: { [node.op]: node.value } } };
    case 'time': {
      const ms = timeMsOf(node.at, nowMs);
      const bound = node.op === 'eq' ? { gte: ms, lte: ms } : { [node.op]: ms };
      return { range: { [esField(node.field)]: { ...bound, format: 'epoch_millis' } } };
    }
  }
}
