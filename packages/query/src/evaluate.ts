import { cidrContains, parseIp } from '@soc/netaddr';
import { timeMsOf, type CmpOp, type Node } from './ast.ts';
import { SEVERITY_ORDER, textWords } from './fields.ts';

/**
 * Evaluates a query on one document in memory: the reference semantics the store translators
 * are tested against, the filter of the console's live stream and of a hunt over raw events.
 * A field holding an array (ECS `event.category`, `related.ip`) matches when any element does.
 */

function at(doc: unknown, path: string): unknown {
  let v: unknown = doc;
  for (const k of path.split('.')) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  // '@timestamp' has a dot-free name; split keeps it whole.
  return v;
}

const values = (v: unknown): unknown[] => (Array.isArray(v) ? v : [v]);

function phraseIn(words: string[], want: string[], prefix: boolean): boolean {
  const n = want.length;
  for (let i = 0; i + n <= words.length; i++) {
    if (want.every((w, j) => (prefix && j === n - 1 ? (words[i + j] ?? '').startsWith(w) : words[i + j] === w))) return true;
  }
  return false;
}

export function compare(a: number, op: CmpOp, b: number): boolean {
  switch (op) {
    case 'eq':
      return a === b;
    case 'gt':
      return a > b;
    case 'gte':
      return a >= b;
    case 'lt':
      return a < b;
    case 'lte':
      return a <= b;
  }
}

/** Shell-style glob (`*`, `?`) as a whole-string, case-sensitive match. */
export function globMatches(glob: string, s: string): boolean {
  const re = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[\\s\\S]*').replace(/\?/g, '[\\s\\S]');
  return new RegExp(`^${re}$`, 'u').test(s);
}

export function evaluate(node: Node<string, string>, doc: unknown, nowMs: number): boolean {
  switch (node.kind) {
    case 'all':
      return true;
    case 'and':
      return node.children.every((c) => evaluate(c, doc, nowMs));
    case 'or':
      return node.children.some((c) => evaluate(c, doc, nowMs));
    case 'not':
      return !evaluate(node.child, doc, nowMs);
    case 'text':
      return node.fields.some((f) => values(at(doc, f)).some((v) => typeof v === 'string' && phraseIn(textWords(v), node.words, node.prefix)));
    case 'keyword':
      return values(at(doc, node.field)).some((v) => typeof v === 'string' && (node.wildcard ? globMatches(node.value, v) : v === node.value));
    case 'ip': {
      const fields = node.field === 'ip' ? ['source.ip', 'destination.ip'] : [node.field];
      return fields.some((f) =>
        values(at(doc, f)).some((v) => {
          const ip = typeof v === 'string' ? parseIp(v) : undefined;
          return ip !== undefined && cidrContains(node.cidr, ip);
        }),
      );
    }
    case 'range': {
      let v = at(doc, node.field);
      if (node.field === 'severity') v = typeof v === 'string' ? (SEVERITY_ORDER as readonly string[]).indexOf(v) + 1 : undefined;
      return typeof v === 'number' && compare(v, node.op, node.value);
    }
    case 'time': {
      const v = at(doc, node.field);
      const ms = typeof v === 'string' ? Date.parse(v) : NaN;
      return Number.isFinite(ms) && compare(ms, node.op, timeMsOf(node.at, nowMs));
    }
  }
}
