import type { Cidr } from '@soc/netaddr';
import type { EventField, Field, TextField } from './fields.ts';

/**
 * The typed syntax tree of a query. Values are already checked against their field's type, so
 * a translator never sees a number field compared with a word or an address that is not one.
 * `F` are the field table's fields and `T` its free-text fields: alerts by default, `EventNode`
 * for a hunt over raw events.
 */
export type Node<F extends string = Field, T extends string = TextField> =
  | { kind: 'all' }
  | { kind: 'and'; children: Node<F, T>[] }
  | { kind: 'or'; children: Node<F, T>[] }
  | { kind: 'not'; child: Node<F, T> }
  /** Words in order (a phrase when several) in one text field, or any text field when `fields` lists all. */
  | { kind: 'text'; fields: T[]; words: string[]; prefix: boolean }
  /** Exact keyword, or a glob when `wildcard` (`*` any run, `?` one character; case-sensitive). */
  | { kind: 'keyword'; field: F; value: string; wildcard: boolean }
  /** Address equality or CIDR membership; `field` 'ip' means source or destination. */
  | { kind: 'ip'; field: 'source.ip' | 'destination.ip' | 'ip'; cidr: Cidr; text: string }
  | { kind: 'range'; field: F; op: CmpOp; value: number }
  /** A time bound relative to the query's `now`: `now-1h` is `{ offsetMs: -3600000 }`. */
  | { kind: 'time'; field: F; op: CmpOp | 'eq'; at: TimeValue };

export type EventNode = Node<EventField, 'message' | 'rule.name'>;

export type CmpOp = 'gt' | 'gte' | 'lt' | 'lte' | 'eq';

export type TimeValue = { absoluteMs: number } | { offsetMs: number };

/** Resolves relative times against `nowMs`: what the translators and the evaluator consume. */
export function timeMsOf(t: TimeValue, nowMs: number): number {
  return 'absoluteMs' in t ? t.absoluteMs : nowMs + t.offsetMs;
}
