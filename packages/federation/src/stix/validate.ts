import { STIX_ID_RE } from './ids.ts';

/**
 * Structural validation of a STIX 2.1 bundle: the required properties of the object types this
 * network produces and reads, identifier and timestamp forms, and references. Not a full STIX
 * validator (no vocabularies, no pattern grammar beyond presence).
 */
export interface StixIssue {
  path: string;
  message: string;
}

const SDO_SRO = new Set([
  'attack-pattern', 'campaign', 'course-of-action', 'grouping', 'identity', 'incident', 'indicator', 'infrastructure',
  'intrusion-set', 'location', 'malware', 'malware-analysis', 'note', 'observed-data', 'opinion', 'report',
  'threat-actor', 'tool', 'vulnerability', 'relationship', 'sighting',
]);

const REQUIRED: Record<string, string[]> = {
  indicator: ['pattern', 'pattern_type', 'valid_from'],
  sighting: ['sighting_of_ref'],
  'observed-data': ['first_observed', 'last_observed', 'number_observed'],
  identity: ['name'],
  relationship: ['relationship_type', 'source_ref', 'target_ref'],
  report: ['name', 'published', 'object_refs'],
  grouping: ['context', 'object_refs'],
  'attack-pattern': ['name'], campaign: ['name'], 'course-of-action': ['name'], infrastructure: ['name'],
  'intrusion-set': ['name'], 'threat-actor': ['name'], tool: ['name'], vulnerability: ['name'],
  'ipv4-addr': ['value'], 'ipv6-addr': ['value'], 'domain-name': ['value'], url: ['value'],
  'network-traffic': ['protocols'],
  'marking-definition': ['created'],
};

/** What each reference property may point at (undefined: any type). */
const REF_TARGETS: Record<string, (type: string) => boolean> = {
  created_by_ref: (t) => t === 'identity',
  object_marking_refs: (t) => t === 'marking-definition',
  where_sighted_refs: (t) => t === 'identity' || t === 'location',
  observed_data_refs: (t) => t === 'observed-data',
  sighting_of_ref: (t) => SDO_SRO.has(t) && t !== 'relationship' && t !== 'sighting',
  src_ref: (t) => ['ipv4-addr', 'ipv6-addr', 'mac-addr', 'domain-name'].includes(t),
  dst_ref: (t) => ['ipv4-addr', 'ipv6-addr', 'mac-addr', 'domain-name'].includes(t),
};

const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const TIMESTAMP_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3,}Z$/;
const TIME_PROPS = ['valid_from', 'valid_until', 'first_observed', 'last_observed', 'first_seen', 'last_seen', 'published'];
const UINT_MAX = 999_999_999;

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isTime = (v: unknown, re = TIMESTAMP): boolean => typeof v === 'string' && re.test(v) && !Number.isNaN(Date.parse(v));

export interface StixValidation {
  /** The envelope itself (type, id, objects list): these refuse the bundle. */
  bundle: StixIssue[];
  /** Per object index: these refuse that object only. */
  objects: Map<number, StixIssue[]>;
}

/** Every issue, bundle and objects, in one list (a producer's check of its own export). */
export function validateStixBundle(bundle: unknown, opts: { requireResolvedRefs?: boolean } = {}): StixIssue[] {
  const v = validateStixObjects(bundle, opts);
  return [...v.bundle, ...[...v.objects.values()].flat()];
}

/** Validation answered per object, so one bad object does not refuse a partner's whole bundle. */
export function validateStixObjects(bundle: unknown, opts: { requireResolvedRefs?: boolean } = {}): StixValidation {
  const result: StixValidation = { bundle: [], objects: new Map() };
  const top = (path: string, message: string) => result.bundle.push({ path, message });
  if (!isObj(bundle)) return { bundle: [{ path: '', message: 'bundle is not an object' }], objects: result.objects };
  if (bundle.type !== 'bundle') top('type', "must be 'bundle'");
  if (typeof bundle.id !== 'string' || STIX_ID_RE.exec(bundle.id)?.[1] !== 'bundle') top('id', 'must be bundle--<uuid>');
  if (bundle.objects === undefined) return result;
  if (!Array.isArray(bundle.objects)) return { ...result, bundle: [...result.bundle, { path: 'objects', message: 'must be an array' }] };

  const at = (i: number) => (path: string, message: string) => {
    const list = result.objects.get(i) ?? [];
    list.push({ path, message });
    result.objects.set(i, list);
  };
  const seen = new Set<string>();
  for (const [i, o] of bundle.objects.entries()) {
    validateObject(o, `objects[${i}]`, at(i));
    if (!isObj(o) || typeof o.id !== 'string') continue;
    const key = `${o.id}|${String(o.modified ?? '')}`;
    if (seen.has(key)) at(i)(`objects[${i}]`, `duplicate object ${o.id} (same id and modified)`);
    seen.add(key);
  }
  const present = new Set(bundle.objects.filter(isObj).map((o) => o.id));
  for (const [i, o] of bundle.objects.entries()) if (isObj(o)) checkRefs(o, `objects[${i}]`, present, opts.requireResolvedRefs ?? false, at(i));
  return result;
}

function validateObject(o: unknown, path: string, issue: (p: string, m: string) => void): void {
  if (!isObj(o)) return issue(path, 'not an object');
  const type = o.type;
  if (typeof type !== 'string' || !/^[a-z][a-z0-9-]{1,248}[a-z0-9]$/.test(type)) return issue(`${path}.type`, 'missing or invalid type');
  const m = typeof o.id === 'string' ? STIX_ID_RE.exec(o.id) : null;
  if (!m) issue(`${path}.id`, 'must be <type>--<uuid>');
  else if (m[1] !== type) issue(`${path}.id`, `id prefix ${m[1]} does not match type ${type}`);

  const isSdo = SDO_SRO.has(type);
  if ((isSdo || type === 'marking-definition') && o.spec_version === undefined) issue(`${path}.spec_version`, 'required');
  if (o.spec_version !== undefined && o.spec_version !== '2.1') issue(`${path}.spec_version`, "must be '2.1'");
  if (isSdo) {
    for (const p of ['created', 'modified']) if (!isTime(o[p], TIMESTAMP_MS)) issue(`${path}.${p}`, 'required, a UTC timestamp with millisecond precision');
    if (isTime(o.created) && isTime(o.modified) && Date.parse(o.modified as string) < Date.parse(o.created as string)) issue(`${path}.modified`, 'earlier than created');
  }
  for (const p of REQUIRED[type] ?? []) if (o[p] === undefined || o[p] === '' || (Array.isArray(o[p]) && o[p].length === 0)) issue(`${path}.${p}`, `required for ${type}`);
  for (const p of TIME_PROPS) if (o[p] !== undefined && !isTime(o[p])) issue(`${path}.${p}`, 'not a STIX timestamp (UTC, Z)');

  switch (type) {
    case 'indicator':
      if (isTime(o.valid_until) && isTime(o.valid_from) && Date.parse(o.valid_until as string) <= Date.parse(o.valid_from as string)) issue(`${path}.valid_until`, 'must be later than valid_from');
      break;
    case 'observed-data':
      if (!(Number.isInteger(o.number_observed) && (o.number_observed as number) >= 1 && (o.number_observed as number) <= UINT_MAX)) issue(`${path}.number_observed`, `an integer in 1..${UINT_MAX}`);
      if (o.object_refs === undefined && o.objects === undefined) issue(`${path}.object_refs`, 'required for observed-data');
      if (isTime(o.first_observed) && isTime(o.last_observed) && Date.parse(o.last_observed as string) < Date.parse(o.first_observed as string)) issue(`${path}.last_observed`, 'earlier than first_observed');
      break;
    case 'sighting':
      if (o.count !== undefined && !(Number.isInteger(o.count) && (o.count as number) >= 0 && (o.count as number) <= UINT_MAX)) issue(`${path}.count`, `an integer in 0..${UINT_MAX}`);
      break;
    case 'network-traffic':
      if (o.src_ref === undefined && o.dst_ref === undefined) issue(path, 'network-traffic needs src_ref or dst_ref');
      break;
    case 'marking-definition':
      if (!isTime(o.created, TIMESTAMP_MS)) issue(`${path}.created`, 'a UTC timestamp with millisecond precision');
      if (o.extensions === undefined && (o.definition_type === undefined || o.definition === undefined)) issue(path, 'marking-definition needs definition_type and definition, or extensions');
      break;
  }
}

function checkRefs(o: Record<string, unknown>, path: string, present: Set<unknown>, strict: boolean, issue: (p: string, m: string) => void): void {
  for (const [prop, v] of Object.entries(o)) {
    const single = prop.endsWith('_ref');
    if (!single && !prop.endsWith('_refs')) continue;
    const refs = single ? [v] : Array.isArray(v) ? v : null;
    if (!refs) {
      issue(`${path}.${prop}`, 'must be a list of identifiers');
      continue;
    }
    for (const ref of refs) {
      const m = typeof ref === 'string' ? STIX_ID_RE.exec(ref) : null;
      if (!m) issue(`${path}.${prop}`, `not a STIX identifier: ${String(ref)}`);
      else if (REF_TARGETS[prop] && !REF_TARGETS[prop](m[1]!)) issue(`${path}.${prop}`, `${ref} is not a valid target for ${prop}`);
      else if (strict && !present.has(ref)) issue(`${path}.${prop}`, `${ref} is not in the bundle`);
    }
  }
}
