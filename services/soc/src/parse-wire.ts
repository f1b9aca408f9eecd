import type { ProducerRecord } from '@soc/bus';
import type { ParsedLines, RawLine } from '@soc/svc-collector';

/**
 * How a batch crosses to a parser thread and back: in columns, not one object per line. The
 * structured clone writes every property name of every object it copies, so 1,000 `{ raw, line }`
 * or `{ key, value }` objects cost several times what their strings alone cost; the columns carry
 * the same values and each side rebuilds the objects (cheap, no copying of the strings).
 */
export interface LinesWire {
  raw: string[];
  /** Each line's number as parseLines would give it (its own, else its 1-based position). */
  line: number[];
  /** The lines a source already refused: index and reason. */
  rejects: [number, string][];
}

export type ParsedWire = Omit<ParsedLines, 'events'> & { keys: (string | null)[]; values: string[] };

export function linesToWire(lines: RawLine[]): LinesWire {
  const raw = new Array<string>(lines.length);
  const line = new Array<number>(lines.length);
  const rejects: [number, string][] = [];
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    raw[i] = l.raw;
    line[i] = l.line ?? i + 1;
    if (l.rejectReason !== undefined) rejects.push([i, l.rejectReason]);
  }
  return { raw, line, rejects };
}

export function linesFromWire(w: LinesWire): RawLine[] {
  const lines: RawLine[] = w.raw.map((raw, i) => ({ raw, line: w.line[i] }));
  for (const [i, reason] of w.rejects) lines[i]!.rejectReason = reason;
  return lines;
}

/** parseLines' event records are `{ key, value }` exactly (no headers or timestamp), so two columns carry them. */
export function parsedToWire(p: ParsedLines): ParsedWire {
  const keys = new Array<string | null>(p.events.length);
  const values = new Array<string>(p.events.length);
  for (let i = 0; i < p.events.length; i++) {
    keys[i] = p.events[i]!.key;
    values[i] = p.events[i]!.value;
  }
  return { keys, values, dead: p.dead, errors: p.errors, reasons: p.reasons };
}

export function parsedFromWire(w: ParsedWire): ParsedLines {
  const events: ProducerRecord[] = w.values.map((value, i) => ({ key: w.keys[i] as string | null, value }));
  return { events, dead: w.dead, errors: w.errors, reasons: w.reasons };
}
