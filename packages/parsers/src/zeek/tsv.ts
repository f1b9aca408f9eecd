import { canonicalEpoch } from '../time.ts';
import type { ZeekTsvHeader } from '../types.ts';
import { ZEEK_PATH_RE, type ZeekRecord, type ZeekScalar, type ZeekValue } from './record.ts';

/**
 * Zeek's default ASCII (TSV) log format: `#` directive lines declare the separators, the
 * unset/empty markers, the log path, the field names and their types; each row is then
 * converted by its column type into the same ZeekRecord the JSON reader produces.
 */

const HEX_ESCAPE = /\\x([0-9a-fA-F]{2})/g;

/** Decodes every `\xNN` (used for the separator directive itself). */
const decodeAll = (s: string): string => s.replace(HEX_ESCAPE, (_, h: string) => String.fromCharCode(parseInt(h, 16)));

/**
 * Decodes `\xNN` escapes that stand for printable ASCII or a separator (Zeek escapes those so
 * they do not split the row). Escapes of other bytes stay as text, which is also how Zeek's JSON
 * writer renders them, so both formats agree and no binary garbage enters the event.
 */
function decodeValue(s: string, h: ZeekTsvHeader): string {
  if (!s.includes('\\x')) return s;
  return s.replace(HEX_ESCAPE, (all, hex: string) => {
    const c = String.fromCharCode(parseInt(hex, 16));
    const code = c.charCodeAt(0);
    return (code >= 0x20 && code <= 0x7e) || c === h.separator || c === h.setSeparator ? c : all;
  });
}

export type HeaderOutcome = { ok: true; header: ZeekTsvHeader } | { ok: false; reason: string };

/** Applies one `#` directive to a header under construction. Returns false for unknown directives. */
function applyDirective(h: Partial<ZeekTsvHeader>, line: string): boolean {
  if (line.startsWith('#separator ')) {
    h.separator = decodeAll(line.slice('#separator '.length));
    return true;
  }
  const sep = h.separator ?? '\t';
  const [name, ...rest] = line.slice(1).split(sep);
  const value = rest.join(sep);
  switch (name) {
    case 'set_separator': h.setSeparator = decodeAll(value); return true;
    case 'empty_field': h.emptyField = value; return true;
    case 'unset_field': h.unsetField = value; return true;
    case 'path': h.path = value; return true;
    case 'fields': h.fields = rest; return true;
    case 'types': h.types = rest; return true;
    default: return false; // #open, #close and future directives carry nothing we need
  }
}

function completeHeader(h: Partial<ZeekTsvHeader>): HeaderOutcome {
  if (!h.fields?.length || !h.types?.length) return { ok: false, reason: 'zeek TSV: header lacks #fields or #types' };
  if (h.fields.length !== h.types.length) return { ok: false, reason: `zeek TSV: header has ${h.fields.length} fields but ${h.types.length} types` };
  const path = h.path ?? 'unknown';
  if (!ZEEK_PATH_RE.test(path)) return { ok: false, reason: `zeek TSV: invalid #path ${JSON.stringify(path.slice(0, 64))}` };
  return {
    ok: true,
    header: { separator: h.separator ?? '\t', setSeparator: h.setSeparator ?? ',', emptyField: h.emptyField ?? '(empty)', unsetField: h.unsetField ?? '-', path, fields: h.fields, types: h.types },
  };
}

/** The header declared by a file's leading `#` lines (other lines are ignored). */
export function parseZeekTsvHeader(lines: Iterable<string>): HeaderOutcome {
  const h: Partial<ZeekTsvHeader> = {};
  for (const line of lines) if (line.startsWith('#')) applyDirective(h, line);
  return completeHeader(h);
}

/** A column's conversion from text: the value, or undefined when the text is not of the type. */
type Scalar = (raw: string, h: ZeekTsvHeader) => ZeekScalar | undefined;

const INTEGER_RE = /^[+-]?\d+$/;

function scalarOf(type: string): Scalar {
  switch (type) {
    case 'time':
      return (raw) => canonicalEpoch(raw);
    case 'interval':
    case 'double':
      return (raw) => {
        const n = Number(raw);
        return raw.trim() !== '' && Number.isFinite(n) ? n : undefined;
      };
    case 'count':
    case 'int':
    case 'port':
      return (raw) => {
        const n = Number(raw);
        return INTEGER_RE.test(raw) && Number.isSafeInteger(n) ? n : undefined;
      };
    case 'bool':
      return (raw) => (raw === 'T' ? true : raw === 'F' ? false : undefined);
    default: // string, addr, subnet, enum, pattern, func …: text
      return decodeValue;
  }
}

const CONTAINER_RE = /^(?:set|vector|table)\[(.+)\]$/;

/** How each column of a header converts: its scalar type, and whether the column holds a set or vector of them. */
interface Column {
  name: string;
  scalarType: string;
  scalar: Scalar;
  container: boolean;
}

/** Columns per header, worked out once per header rather than per row (a regex per column). */
const COLUMNS = new WeakMap<ZeekTsvHeader, Column[]>();

function columnsOf(h: ZeekTsvHeader): Column[] {
  let cols = COLUMNS.get(h);
  if (!cols) {
    cols = h.fields.map((name, i) => {
      const type = h.types[i]!;
      const container = CONTAINER_RE.exec(type);
      const scalarType = container ? container[1]! : type;
      return { name, scalarType, scalar: scalarOf(scalarType), container: container !== null };
    });
    COLUMNS.set(h, cols);
  }
  return cols;
}

const invalid = (c: Column, raw: string) => ({ ok: false as const, reason: `zeek TSV: field ${c.name}: invalid ${c.scalarType} ${JSON.stringify(raw.slice(0, 40))}` });

/** One TSV row under its header; `-` fields are left out. */
export function parseZeekTsvRow(header: ZeekTsvHeader, line: string): { ok: true; record: ZeekRecord } | { ok: false; reason: string } {
  const cols = line.split(header.separator);
  if (cols.length !== header.fields.length) {
    return { ok: false, reason: `zeek TSV: row has ${cols.length} columns, header declares ${header.fields.length}` };
  }
  const columns = columnsOf(header);
  const fields: Record<string, ZeekValue> = {};
  for (let i = 0; i < cols.length; i++) {
    const raw = cols[i]!;
    if (raw === header.unsetField) continue;
    const c = columns[i]!;
    if (!c.container) {
      const value = c.scalar(raw, header);
      if (value === undefined) return invalid(c, raw);
      fields[c.name] = value;
      continue;
    }
    const items: ZeekScalar[] = [];
    if (raw !== header.emptyField) {
      for (const part of raw.split(header.setSeparator)) {
        const value = c.scalar(part, header);
        if (value === undefined) return invalid(c, part);
        items.push(value);
      }
    }
    fields[c.name] = items;
  }
  return { ok: true, record: { path: header.path, fields } };
}

/**
 * Reads a TSV log line by line, keeping the header state. `#separator` starts a new header
 * (Zeek writes one at the top of each file), so a stream of concatenated files works too.
 */
export class ZeekTsvReader {
  private building: Partial<ZeekTsvHeader> = {};
  private current: ZeekTsvHeader | undefined;

  constructor(header?: ZeekTsvHeader) {
    this.current = header;
  }

  get header(): ZeekTsvHeader | undefined {
    return this.current;
  }

  /** A directive line updates the header (returns 'directive'); a data row is returned for parsing. */
  accept(line: string): 'directive' | 'row' {
    if (!line.startsWith('#')) return 'row';
    if (line.startsWith('#separator ')) {
      this.building = {};
      this.current = undefined;
    }
    if (applyDirective(this.building, line) && (line.startsWith('#types') || line.startsWith('#fields'))) {
      const done = completeHeader(this.building);
      if (done.ok) this.current = done.header;
    }
    return 'directive';
  }
}
