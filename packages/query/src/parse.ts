import { ValidationError } from '@soc/errors';
import { parseCidr } from '@soc/netaddr';
import type { CmpOp, EventNode, Node, TimeValue } from './ast.ts';
import { ALERT_TABLE, EVENT_TABLE, SEVERITY_ORDER, textWords, type FieldTable } from './fields.ts';

/**
 * The query language (a KQL subset), parsed by one recursive-descent parser into a typed tree.
 *
 *   query   := or
 *   or      := and (OR and)*
 *   and     := unary ((AND)? unary)*          -- juxtaposition is AND
 *   unary   := (NOT | -) unary | primary
 *   primary := ( or ) | FIELD:value | FIELD:( values ) | FIELD op value | word | "phrase"
 *   op      := > | >= | < | <=
 *
 * Operators are case-insensitive; quote a word to search for it. Every error names the
 * character position it was found at, so the caller can point at it.
 */

export class QueryError extends ValidationError {
  constructor(
    readonly reason: string,
    /** 0-based offset into the query text. */
    readonly position: number,
  ) {
    super(`invalid query at position ${position}: ${reason}`);
  }
}

type Tok =
  | { t: 'lparen' | 'rparen' | 'and' | 'or' | 'not' | 'minus' | 'eof'; pos: number }
  | { t: 'field'; name: string; pos: number }
  | { t: 'cmp'; op: Exclude<CmpOp, 'eq'>; pos: number }
  | { t: 'word'; text: string; pos: number }
  | { t: 'quoted'; text: string; pos: number };

const MAX_LENGTH = 2048;
const MAX_DEPTH = 32;
const STOP = /[\s()"<>]/;
const FIELD_PREFIX = /^([A-Za-z@_][A-Za-z0-9@_.]*):/;

export function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const pos = i;
    if (c === '(' || c === ')') {
      out.push({ t: c === '(' ? 'lparen' : 'rparen', pos });
      i++;
    } else if (c === '"') {
      let text = '';
      i++;
      for (;;) {
        if (i >= src.length) throw new QueryError('unterminated quote', pos);
        const d = src[i]!;
        if (d === '\\' && i + 1 < src.length) {
          text += src[i + 1];
          i += 2;
        } else if (d === '"') {
          i++;
          break;
        } else {
          text += d;
          i++;
        }
      }
      out.push({ t: 'quoted', text, pos });
    } else if (c === '<' || c === '>') {
      const eq = src[i + 1] === '=';
      out.push({ t: 'cmp', op: c === '<' ? (eq ? 'lte' : 'lt') : eq ? 'gte' : 'gt', pos });
      i += eq ? 2 : 1;
    } else if (c === '-' && i + 1 < src.length && !/\s/.test(src[i + 1]!) && (out.length === 0 || out[out.length - 1]!.t !== 'cmp')) {
      out.push({ t: 'minus', pos });
      i++;
    } else {
      let j = i;
      while (j < src.length && !STOP.test(src[j]!)) j++;
      const word = src.slice(i, j);
      const m = FIELD_PREFIX.exec(word);
      if (m) {
        out.push({ t: 'field', name: m[1]!, pos });
        const rest = word.slice(m[0].length);
        if (rest) out.push({ t: 'word', text: rest, pos: pos + m[0].length });
      } else {
        const op = word.toUpperCase();
        out.push(op === 'AND' || op === 'OR' || op === 'NOT' ? { t: op.toLowerCase() as 'and' | 'or' | 'not', pos } : { t: 'word', text: word, pos });
      }
      i = j;
    }
  }
  out.push({ t: 'eof', pos: src.length });
  return out;
}

const DURATION_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

function parseTime(text: string, pos: number): TimeValue {
  const rel = /^now(?:([+-])(\d{1,6})([smhdw]))?$/.exec(text);
  if (rel) return { offsetMs: rel[1] ? (rel[1] === '-' ? -1 : 1) * Number(rel[2]) * DURATION_MS[rel[3]!]! : 0 };
  // ISO 8601 date or date-time; a bare date is midnight UTC.
  if (/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/.test(text)) {
    const ms = Date.parse(text.length === 10 ? `${text}T00:00:00Z` : text);
    if (Number.isFinite(ms)) return { absoluteMs: ms };
  }
  throw new QueryError(`"${text}" is not a time (ISO 8601 such as 2024-03-01T12:00:00Z, or now, now-15m, now-1h, now-7d)`, pos);
}

function parseNumber(text: string, pos: number, field: string): number {
  if (!/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(text)) throw new QueryError(`${field} takes a number, not "${text}"`, pos);
  return Number(text);
}

// Inside, fields are the table's names as strings; the entry points narrow the tree to their table.
type AnyNode = Node<string, string>;
type AnyField = string;

class Parser {
  private i = 0;
  private depth = 0;
  constructor(
    private readonly toks: Tok[],
    private readonly table: FieldTable<string>,
  ) {}

  private peek(): Tok {
    return this.toks[this.i]!;
  }
  private next(): Tok {
    return this.toks[this.i++]!;
  }

  parse(): AnyNode {
    if (this.peek().t === 'eof') return { kind: 'all' };
    const n = this.or(undefined);
    const t = this.peek();
    if (t.t !== 'eof') throw new QueryError(t.t === 'rparen' ? 'unmatched ")"' : 'unexpected input', t.pos);
    return n;
  }

  private enter(pos: number) {
    if (++this.depth > MAX_DEPTH) throw new QueryError(`nesting deeper than ${MAX_DEPTH}`, pos);
  }

  private or(field: AnyField | undefined): AnyNode {
    const children = [this.and(field)];
    while (this.peek().t === 'or') {
      this.next();
      children.push(this.and(field));
    }
    return children.length === 1 ? children[0]! : { kind: 'or', children };
  }

  private and(field: AnyField | undefined): AnyNode {
    const children = [this.unary(field)];
    for (;;) {
      const t = this.peek();
      if (t.t === 'and') {
        this.next();
        children.push(this.unary(field));
      } else if (t.t === 'eof' || t.t === 'rparen' || t.t === 'or') {
        break;
      } else {
        children.push(this.unary(field));
      }
    }
    const flat = children.flatMap((c) => (c.kind === 'and' ? c.children : [c]));
    return flat.length === 1 ? flat[0]! : { kind: 'and', children: flat };
  }

  private unary(field: AnyField | undefined): AnyNode {
    const t = this.peek();
    if (t.t === 'not' || t.t === 'minus') {
      this.next();
      this.enter(t.pos);
      const child = this.unary(field);
      this.depth--;
      return { kind: 'not', child };
    }
    return this.primary(field);
  }

  private primary(field: AnyField | undefined): AnyNode {
    const t = this.next();
    switch (t.t) {
      case 'lparen': {
        this.enter(t.pos);
        if (this.peek().t === 'rparen') throw new QueryError('empty parentheses', this.peek().pos);
        const n = this.or(field);
        const close = this.next();
        if (close.t !== 'rparen') throw new QueryError('expected ")" to close the "(" at ' + t.pos, close.pos);
        this.depth--;
        return n;
      }
      case 'field': {
        if (field !== undefined) throw new QueryError(`a field inside ${field}:( ) is not allowed`, t.pos);
        const f = this.field(t.name, t.pos);
        const v = this.peek();
        if (v.t === 'lparen') return this.primary(f);
        if (v.t !== 'word' && v.t !== 'quoted') throw new QueryError(`expected a value after "${t.name}:"`, v.pos);
        this.next();
        return this.value(f, v.text, v.t === 'quoted', v.pos);
      }
      case 'word': {
        const op = this.peek();
        if (op.t === 'cmp') {
          if (field !== undefined) throw new QueryError('a comparison inside field:( ) is not allowed', op.pos);
          this.next();
          const f = this.field(t.text, t.pos);
          const v = this.next();
          if (v.t !== 'word' && v.t !== 'quoted') throw new QueryError(`expected a value after "${t.text} ${cmpText(op.op)}"`, v.pos);
          return this.compare(f, op.op, v.text, v.pos);
        }
        return field === undefined ? freeText(t.text, false, t.pos, this.table.text) : this.value(field, t.text, false, t.pos);
      }
      case 'quoted':
        return field === undefined ? freeText(t.text, true, t.pos, this.table.text) : this.value(field, t.text, true, t.pos);
      case 'cmp':
        throw new QueryError(`"${cmpText(t.op)}" needs a field before it, as in score >= 0.8`, t.pos);
      case 'eof':
        throw new QueryError('the query ends where a term was expected', t.pos);
      case 'rparen':
        throw new QueryError('unmatched ")"', t.pos);
      default:
        throw new QueryError(`"${t.t.toUpperCase()}" where a term was expected`, t.pos);
    }
  }

  private field(name: string, pos: number): AnyField {
    if (!Object.hasOwn(this.table.fields, name)) throw new QueryError(`unknown field "${name}" (known: ${Object.keys(this.table.fields).join(', ')})`, pos);
    return name;
  }

  /** `field:value`: equality, glob, phrase or CIDR according to the field's type. */
  private value(f: AnyField, text: string, quoted: boolean, pos: number): AnyNode {
    switch (this.table.fields[f]!) {
      case 'text':
        return freeText(text, quoted, pos, [f]);
      case 'keyword': {
        if (text === '') throw new QueryError(`empty value for ${f}`, pos);
        const wildcard = !quoted && /[*?]/.test(text);
        return wildcard && /^\*+$/.test(text) ? { kind: 'keyword', field: f, value: '*', wildcard: true } : { kind: 'keyword', field: f, value: text, wildcard };
      }
      case 'ip': {
        const cidr = parseCidr(text);
        if (!cidr) throw new QueryError(`${f} takes an address or a CIDR range such as 10.0.0.0/8, not "${text}"`, pos);
        return { kind: 'ip', field: f as 'source.ip' | 'destination.ip' | 'ip', cidr, text };
      }
      case 'number':
        return { kind: 'range', field: f, op: 'eq', value: parseNumber(text, pos, f) };
      case 'severity':
        return { kind: 'range', field: f, op: 'eq', value: severityRank(text, pos) };
      case 'date':
        return { kind: 'time', field: f, op: 'eq', at: parseTime(text, pos) };
    }
  }

  private compare(f: AnyField, op: Exclude<CmpOp, 'eq'>, text: string, pos: number): AnyNode {
    switch (this.table.fields[f]!) {
      case 'number':
        return { kind: 'range', field: f, op, value: parseNumber(text, pos, f) };
      case 'severity':
        return { kind: 'range', field: f, op, value: severityRank(text, pos) };
      case 'date':
        return { kind: 'time', field: f, op, at: parseTime(text, pos) };
      default:
        throw new QueryError(`${f} is a ${this.table.fields[f]} field: compare with ":" (ranges are for numbers, times and severity)`, pos);
    }
  }
}

const cmpText = (op: Exclude<CmpOp, 'eq'>) => ({ gt: '>', gte: '>=', lt: '<', lte: '<=' })[op];

function severityRank(text: string, pos: number): number {
  const i = (SEVERITY_ORDER as readonly string[]).indexOf(text.toLowerCase());
  if (i < 0) throw new QueryError(`severity is one of ${SEVERITY_ORDER.join(', ')}, not "${text}"`, pos);
  return i + 1;
}

/**
 * A free-text term. Quoted: a phrase. Bare: a word, or a phrase when it splits into several
 * words (`foo-bar`, as in the indexed text); a trailing `*` makes its last word a prefix. A lone
 * `*` matches everything; anything else without a letter or digit is refused, never ignored.
 */
function freeText(text: string, quoted: boolean, pos: number, textFields: readonly string[]): AnyNode {
  const fields = [...textFields];
  if (!quoted && /^\*+$/.test(text)) return { kind: 'all' };
  const words = textWords(text);
  if (words.length === 0) throw new QueryError(`${quoted ? 'phrase' : 'term'} "${text}" has no letter or digit to search for`, pos);
  if (quoted) return { kind: 'text', fields, words, prefix: false };
  const inner = text.replace(/\*+$/, '');
  if (/[*?]/.test(inner)) throw new QueryError(`a wildcard in free text may only end a word ("${text}")`, pos);
  if (!text.endsWith('*')) return { kind: 'text', fields, words, prefix: false };
  // The prefix applies to the last word; the words before it stay required terms.
  const leaves: AnyNode[] = words.slice(0, -1).map((w) => ({ kind: 'text', fields, words: [w], prefix: false }));
  leaves.push({ kind: 'text', fields, words: [words[words.length - 1]!], prefix: true });
  return leaves.length === 1 ? leaves[0]! : { kind: 'and', children: leaves };
}

function parseWith(src: string, table: FieldTable<string>): AnyNode {
  if (src.length > MAX_LENGTH) throw new QueryError(`longer than ${MAX_LENGTH} characters`, MAX_LENGTH);
  return new Parser(tokenize(src), table).parse();
}

/** Parses a query over alerts; throws QueryError with the position of the first problem. */
export function parseQuery(src: string): Node {
  return parseWith(src, ALERT_TABLE) as unknown as Node;
}

/** Parses a hunt over raw ECS events (`EVENT_FIELDS`); the same language and errors. */
export function parseEventQuery(src: string): EventNode {
  return parseWith(src, EVENT_TABLE) as unknown as EventNode;
}
