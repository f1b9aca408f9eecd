import { canonicalTime } from '../time.ts';
import { isRecord, type Rec } from '../util.ts';

/**
 * The internal Zeek record both log formats (JSON streaming and TSV) are reduced to: flat
 * dotted field names as Zeek writes them, times as canonical ISO text, intervals in seconds,
 * sets and vectors as arrays, unset fields absent. Writer metadata (`_path`, `_write_ts`) is
 * not part of it, so the same log line in either format gives the same record.
 */
export type ZeekScalar = string | number | boolean;
export type ZeekValue = ZeekScalar | ZeekScalar[];
export interface ZeekRecord {
  path: string;
  fields: Record<string, ZeekValue>;
}

/** Time-typed fields of the logs we map, for JSON input where no `#types` line says so. */
export const TIME_FIELDS = new Set([
  'ts', 'till', 'from', 'ref_time', 'org_time', 'rec_time', 'xmt_time',
  'certificate.not_valid_before', 'certificate.not_valid_after',
]);

const WRITER_FIELDS = new Set(['_path', '_write_ts']);

/** A Zeek log type as it may appear in a file name or `_path`; anything else is refused. */
export const ZEEK_PATH_RE = /^[a-z][a-z0-9_]{0,63}$/;

/**
 * The log type from a file name: `conn.log`, `ssh.json.gz`, `conn.2024-01-01-00-00-00.log.gz`
 * and `/var/log/zeek/current/dns.log` all name their type before the first dot.
 */
export function zeekPathFromFileName(fileName: string): string | undefined {
  const base = fileName.split(/[\\/]/).pop() ?? '';
  const head = base.split('.')[0]?.toLowerCase() ?? '';
  return ZEEK_PATH_RE.test(head) ? head : undefined;
}

const has = (fields: Record<string, unknown>, k: string): boolean => fields[k] !== undefined;

/** Signatures of Zeek log types by their field sets, for JSON logs written without `_path`. */
const SIGNATURES: [string, (f: Record<string, unknown>) => boolean][] = [
  ['notice', (f) => has(f, 'note')],
  ['conn', (f) => has(f, 'conn_state') || has(f, 'history') || (has(f, 'proto') && (has(f, 'orig_bytes') || has(f, 'duration') || has(f, 'orig_pkts')))],
  ['x509', (f) => has(f, 'certificate.serial') || has(f, 'certificate.subject')],
  ['known_services', (f) => has(f, 'port_num') && has(f, 'port_proto')],
  ['software', (f) => has(f, 'software_type') || has(f, 'unparsed_version')],
  ['ssh', (f) => has(f, 'auth_success') || has(f, 'host_key') || has(f, 'kex_alg') || has(f, 'auth_attempts')],
  ['kerberos', (f) => has(f, 'request_type')],
  ['ntlm', (f) => has(f, 'server_nb_computer_name') || has(f, 'server_dns_computer_name') || has(f, 'domainname')],
  ['rdp', (f) => has(f, 'security_protocol') || has(f, 'cookie') || has(f, 'keyboard_layout')],
  ['smtp', (f) => has(f, 'helo') || has(f, 'mailfrom') || has(f, 'rcptto') || has(f, 'last_reply')],
  ['ftp', (f) => has(f, 'command') && (has(f, 'reply_code') || has(f, 'reply_msg'))],
  ['dce_rpc', (f) => has(f, 'endpoint') && has(f, 'operation')],
  ['ntp', (f) => has(f, 'stratum') || has(f, 'xmt_time')],
  ['dns', (f) => has(f, 'query') || has(f, 'qtype') || has(f, 'rcode') || has(f, 'trans_id')],
  ['http', (f) => has(f, 'method') || has(f, 'status_code') || has(f, 'user_agent') || has(f, 'uri')],
  ['ssl', (f) => has(f, 'cipher') || has(f, 'server_name') || has(f, 'established') || has(f, 'ja3')],
  ['syslog', (f) => has(f, 'facility') && has(f, 'severity') && has(f, 'message')],
  ['weird', (f) => has(f, 'name') && (has(f, 'peer') || has(f, 'notice') || has(f, 'addl'))],
];

/** Every line of a JSON log without `_path` asks, so no closure per call. */
export function inferZeekPath(fields: Record<string, unknown>): string | undefined {
  for (const [path, test] of SIGNATURES) if (test(fields)) return path;
  return undefined;
}

/** Flattens nested objects to dotted names, as Zeek's default JSON writer does itself. */
export function flatten(obj: Rec, prefix: string, out: Rec): void {
  for (const k in obj) {
    const v = obj[k];
    const key = prefix ? `${prefix}.${k}` : k;
    if (isRecord(v)) flatten(v, key, out);
    else out[key] = v;
  }
}

function jsonValue(key: string, v: unknown): ZeekValue | undefined {
  if (TIME_FIELDS.has(key)) return canonicalTime(v);
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (Array.isArray(v)) return v.filter((x): x is ZeekScalar => typeof x === 'string' || typeof x === 'boolean' || (typeof x === 'number' && Number.isFinite(x)));
  return undefined; // null = unset
}

export type RecordOutcome = { ok: true; record: ZeekRecord } | { ok: false; reason: string };

const NESTED = Symbol('nested');

/**
 * The record's fields in one pass: the fields, a rejection reason, or NESTED when a value is an
 * object (the input must be flattened first).
 */
function recordFields(flat: Rec): Record<string, ZeekValue> | string | typeof NESTED {
  // Most records keep every field: then the fields are a spread copy of `flat` (V8 clones the
  // object at once, where storing key by key costs ~0.1 µs per field) with the converted values
  // (times, arrays) set in place. A field left out, an own `__proto__` key (spread defines it,
  // assignment hands it to the prototype setter) or an inherited enumerable key (for…in sees it,
  // spread does not) takes the copy below, as before.
  changed.length = 0;
  let copy = inheritsEnumerable(flat);
  for (const k in flat) {
    const v = flat[k];
    if (isRecord(v)) return NESTED;
    if (WRITER_FIELDS.has(k) || k === '__proto__') {
      copy = true;
      continue;
    }
    const value = jsonValue(k, v);
    if (value === undefined) {
      if (TIME_FIELDS.has(k) && v !== null) return `zeek: field ${k} is not a time: ${JSON.stringify(v).slice(0, 64)}`;
      copy = true;
    } else if (value !== v) changed.push(k, value);
  }
  return copy ? fieldsCopy(flat) : withChanges({ ...flat } as Record<string, ZeekValue>);
}

/** The fields whose value differs from the input's, as key, value pairs (one array reused per call). */
const changed: unknown[] = [];

function withChanges(fields: Record<string, ZeekValue>): Record<string, ZeekValue> {
  for (let i = 0; i < changed.length; i += 2) fields[changed[i] as string] = changed[i + 1] as ZeekValue;
  return fields;
}

/** The fields key by key, leaving out writer fields and unset values (the input has no nested object and no bad time). */
function fieldsCopy(flat: Rec): Record<string, ZeekValue> {
  const fields: Record<string, ZeekValue> = {};
  for (const k in flat) {
    if (WRITER_FIELDS.has(k)) continue;
    const value = jsonValue(k, flat[k]);
    if (value !== undefined) fields[k] = value;
  }
  return fields;
}

/**
 * Whether for…in over `o` may visit an inherited key: its prototype is not Object.prototype (a
 * flattened record whose `__proto__` field went to the prototype setter) or that has enumerable keys.
 */
function inheritsEnumerable(o: Rec): boolean {
  const proto: unknown = Object.getPrototypeOf(o);
  if (proto !== Object.prototype) return true;
  for (const _ in proto) return true;
  return false;
}

/** The log type of a flat Zeek JSON record: its `_path`, else the hint (file name), else its fields. */
export const zeekPathOf = (flat: Rec, hintPath?: string): string =>
  (typeof flat._path === 'string' ? flat._path : undefined) ?? hintPath ?? inferZeekPath(flat) ?? 'unknown';

/** A parsed Zeek JSON object to the internal record; the path from `_path`, the hint or the fields. */
export function zeekRecordFromJson(obj: Rec, hintPath?: string): RecordOutcome {
  // Zeek's JSON writer already writes dotted names; only nested input needs a flattened copy.
  let flat = obj;
  let fields = recordFields(obj);
  if (fields === NESTED) {
    flatten(obj, '', (flat = {}));
    // Flattened, the record holds no objects: the second pass gives fields or a reason.
    fields = recordFields(flat) as Record<string, ZeekValue> | string;
  }
  const path = zeekPathOf(flat, hintPath);
  if (!ZEEK_PATH_RE.test(path)) return { ok: false, reason: `zeek: invalid log path ${JSON.stringify(path.slice(0, 64))}` };
  return typeof fields === 'string' ? { ok: false, reason: fields } : { ok: true, record: { path, fields } };
}
