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

type Converted = { ok: true; value: ZeekScalar } | { ok: false; reason: string };

function convertScalar(type: string, raw: string, h: ZeekTsvHeader): Converted {
  const bad = (): Converted => ({ ok: false, reason: `invalid ${type} ${JSON.stringify(raw.slice(0, 40))}` });
  switch (type) {
    case 'time': {
      const t = canonicalEpoch(raw);
      return t ? { ok: true, value: t } : bad();
    }
    case 'interval':
    case 'double': {
      const n = Number(raw);
      return raw.trim() !== '' && Number.isFinite(n) ? { ok: true, value: n } : bad();
    }
    case 'count':
    case 'int':
    case 'port': {
      const n = Number(raw);
      return /^[+-]?\d+$/.test(raw) && Number.isSafeInteger(n) ? { ok: true, value: n } : bad();
    }
    case 'bool':
      return raw === 'T' ? { ok: true, value: true } : raw === 'F' ? { ok: true, value: false } : bad();
    default: // string, addr, subnet, enum, pattern, func …: text
      return { ok: true, value: decodeValue(raw, h) };
  }
}

const CONTAINER_RE = /^(?:set|vector|table)\[(.+)\]$/;

function convertField(type: string, raw: string, h: ZeekTsvHeader): { ok: true; value: ZeekValue } | { ok: false; reason: string } {
  const container = CONTAINER_RE.exec(type);
  if (!container) return convertScalar(type, raw, h);
  if (raw === h.emptyField) return { ok: true, value: [] };
  const items: ZeekScalar[] = [];
  for (const part of raw.split(h.setSeparator)) {
    const c = convertScalar(container[1]!, part, h);
    if (!c.ok) return c;
    items.push(c.value);
  }
  return { ok: true, value: items };
}

/** One TSV row under its header; `-` fields are left out. */
export function parseZeekTsvRow(header: ZeekTsvHeader, line: string): { ok: true; record: ZeekRecord } | { ok: false; reason: string } {
  const cols = line.split(header.separator);
  if (cols.length !== header.fields.length) {
    return { ok: false, reason: `zeek TSV: row has ${cols.length} columns, header declares ${header.fields.length}` };
  }
  const fields: Record<string, ZeekValue> = {};
  for (let i = 0; i < cols.length; i++) {
    const raw = cols[i]!;
    if (raw === header.unsetField) continue;
    const name = header.fields[i]!;
    const c = convertField(header.types[i]!, raw, header);
    if (!c.ok) return { ok: false, reason: `zeek TSV: field ${name}: ${c.reason}` };
    fields[name] = c.value;
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
