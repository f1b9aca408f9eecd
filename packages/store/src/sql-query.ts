import { FIELDS, timeMsOf, type Field, type Node, type TextField } from '@soc/query';
import type { Cidr } from '@soc/netaddr';

/**
 * Translates the query tree to an SQLite WHERE fragment over the embedded store's `alerts`
 * table. A leaf on a nullable column under a NOT is made two-valued (IFNULL(…, 0)) so that NOT
 * of a missing field is true, as in Elasticsearch's must_not and the in-memory evaluator;
 * elsewhere leaves stay bare so that SQLite can use the column's index.
 */

export interface Sql {
  sql: string;
  params: (string | number)[];
}

/** Column (or JSON path expression) of each non-text field. */
const COLUMN: Record<Exclude<Field, TextField | 'ip'>, string> = {
  id: 'id',
  detector: 'detector',
  'rule.id': 'rule_id',
  'rule.category': "(doc ->> '$.rule.category')",
  status: 'status',
  tlp: 'tlp',
  assignee: 'assignee',
  'origin.soc': 'origin',
  'host.name': 'host',
  'network.transport': "(doc ->> '$.network.transport')",
  'network.protocol': "(doc ->> '$.network.protocol')",
  severity: 'severity_rank',
  'source.ip': 'source_ip_key',
  'destination.ip': 'destination_ip_key',
  score: 'score',
  count: 'count',
  'source.port': "(doc ->> '$.source.port')",
  'destination.port': "(doc ->> '$.destination.port')",
  '@timestamp': 'ts_ms',
  first_seen: 'first_seen_ms',
  last_seen: 'last_seen_ms',
};

/** FTS5 column of each text field. */
const FTS_COLUMN: Record<TextField, string> = { message: 'message', 'rule.name': 'rule_name', 'explanation.summary': 'summary' };

/** Columns that may be NULL (optional alert fields). */
const NULLABLE = new Set(['host', 'source_ip_key', 'destination_ip_key', 'assignee', "(doc ->> '$.rule.category')", "(doc ->> '$.network.transport')", "(doc ->> '$.network.protocol')", "(doc ->> '$.source.port')", "(doc ->> '$.destination.port')"]);

const OP = { eq: '=', gt: '>', gte: '>=', lt: '<', lte: '<=' } as const;

/**
 * Sortable text key of an address: "4" + 8 hex digits or "6" + 32, so a CIDR range is a
 * BETWEEN on one index and IPv6 spellings compare equal. Stored beside the address as written.
 */
export function ipKeyOf(version: 4 | 6, value: bigint): string {
  return `${version}${value.toString(16).padStart(version === 4 ? 8 : 32, '0')}`;
}

export function cidrKeyRange(c: Cidr): [string, string] {
  const bits = c.version === 4 ? 32 : 128;
  const span = (1n << BigInt(bits - c.prefix)) - 1n;
  return [ipKeyOf(c.version, c.network), ipKeyOf(c.version, c.network | span)];
}

/** GLOB with only `*` and `?` special: a literal `[` is written `[[]`. */
const toGlob = (s: string) => s.replace(/\[/g, '[[]');

/** FTS5 MATCH text of one phrase; words are letters/digits only, quoted anyway. */
export function ftsPhrase(node: Extract<Node, { kind: 'text' }>): string {
  const phrase = `"${node.words.join(' ').replaceAll('"', '""')}"${node.prefix ? '*' : ''}`;
  return node.fields.length === 1 ? `${FTS_COLUMN[node.fields[0]!]} : ${phrase}` : phrase;
}

/** `orderedScan`: filter columns other than `id` are written `+col`, so no index serves them (see buildWhere). */
export function toSql(node: Node, nowMs: number, orderedScan = false): Sql {
  const params: (string | number)[] = [];
  let negated = 0;
  const leaf = (col: string, sql: string, ...p: (string | number)[]) => {
    params.push(...p);
    const bare = orderedScan && col !== 'id' && !col.startsWith('(') ? sql.replace(col, `+${col}`) : sql;
    return negated > 0 && NULLABLE.has(col) ? `IFNULL(${bare}, 0)` : bare;
  };
  const walk = (n: Node): string => {
    switch (n.kind) {
      case 'all':
        return '1';
      case 'and':
        return `(${n.children.map(walk).join(' AND ')})`;
      case 'or':
        return `(${n.children.map(walk).join(' OR ')})`;
      case 'not': {
        negated++;
        const inner = walk(n.child);
        negated--;
        return `(NOT ${inner})`;
      }
      case 'text':
        params.push(ftsPhrase(n));
        return 'seq IN (SELECT rowid FROM alerts_fts WHERE alerts_fts MATCH ?)';
      case 'keyword': {
        const col = COLUMN[n.field as keyof typeof COLUMN];
        return n.wildcard ? leaf(col, `${col} GLOB ?`, toGlob(n.value)) : leaf(col, `${col} = ?`, n.value);
      }
      case 'ip': {
        const [lo, hi] = cidrKeyRange(n.cidr);
        const one = (col: string) => (lo === hi ? leaf(col, `${col} = ?`, lo) : leaf(col, `${col} BETWEEN ? AND ?`, lo, hi));
        return n.field === 'ip' ? `(${one('source_ip_key')} OR ${one('destination_ip_key')})` : one(COLUMN[n.field]);
      }
      case 'range': {
        const col = COLUMN[n.field as keyof typeof COLUMN];
        return leaf(col, `${col} ${OP[n.op]} ?`, n.value);
      }
      case 'time': {
        const col = COLUMN[n.field as keyof typeof COLUMN];
        return leaf(col, `${col} ${OP[n.op]} ?`, timeMsOf(n.at, nowMs));
      }
    }
  };
  const sql = walk(node);
  return { sql, params };
}

// Every field the language knows has a translation here (text fields via FTS5).
for (const f of Object.keys(FIELDS)) if (!(f in COLUMN) && !(f in FTS_COLUMN) && f !== 'ip') throw new Error(`no SQL column for query field ${f}`);
