import { Alert, FLAT_VALUE_MAX, stableId, type Severity, type Tlp } from '@soc/schema';
import { ValidationError } from '@soc/errors';
import type { IndicatorEntry } from '../correlate.ts';
import { intelEntriesOf, reportOf, type IntelEntry } from '../intel.ts';
import { mostRestrictive } from '../tlp.ts';
import { tlpOfMarking } from './markings.ts';
import { patternObservables, type Observable } from './pattern.ts';
import { validateStixObjects } from './validate.ts';

export type ImportOutcome = 'imported' | 'skipped' | 'rejected';
/** The answer for one object of the bundle. */
export interface ObjectResult {
  id: string;
  type: string;
  outcome: ImportOutcome;
  reason?: string;
}

export interface StixImportResult {
  /** Address indicators, for IndicatorIndex.add. */
  indicators: IndicatorEntry[];
  /** CIDR, domain, URL and file-hash indicators, for IntelIndex.add. */
  intel: IntelEntry[];
  /** One partner-intelligence alert per usable indicator; the entries' `alert_id` point at them. */
  alerts: Alert[];
  /** Every object of the bundle: imported, skipped (valid, nothing to match) or rejected (invalid). */
  objects: ObjectResult[];
  counts: Record<ImportOutcome, number>;
}

export interface StixImportOptions {
  /** Where the bundle came from (e.g. "misp-cert-ee", "opencti"): becomes the alerts' origin. */
  source: string;
  /** Marking when an indicator carries none we know: AMBER, the cautious default. */
  defaultTlp?: Tlp;
  now?: Date;
}

/** Labels an imported-intelligence alert carries so it can be re-exported as the producer wrote it. */
export const INTEL_LABELS = { id: 'stix.id', source: 'stix.source', observables: 'stix.observables', indicator: 'stix.indicator', identity: 'stix.identity' } as const;
/**
 * A re-exported indicator is kept whole up to this size; beyond, its description is dropped. The
 * label is one Elasticsearch term, so the bound is the alert schema's for label values.
 */
const MAX_KEPT_OBJECT = FLAT_VALUE_MAX;

const severityOf = (score: number): Severity => (score >= 0.8 ? 'high' : score >= 0.5 ? 'medium' : 'low');
type Obj = Record<string, unknown>;
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const CONTEXT_TYPES = new Set(['identity', 'marking-definition']);

/**
 * Reads the indicators of a STIX 2.1 bundle (MISP, OpenCTI, MITRE ATT&CK, another SOC's export)
 * and answers per object: an invalid object is rejected with its reason and the rest of the bundle
 * still imports; only a broken envelope (not a bundle, no objects list) refuses the whole. An
 * indicator imports when its pattern names something the detector can match (see pattern.ts);
 * revoked, expired and non-STIX-pattern indicators, and objects that are not indicators, are
 * skipped with the reason. Identities and TLP markings are imported as context: the producer's
 * identity travels with its indicators so a re-export keeps their authorship.
 */
export function fromStixBundle(bundle: unknown, opts: StixImportOptions): StixImportResult {
  const v = validateStixObjects(bundle);
  if (v.bundle.length) throw new ValidationError(`STIX bundle refused: ${v.bundle.slice(0, 5).map((i) => `${i.path}: ${i.message}`).join('; ')}`);
  const objects = ((bundle as Obj).objects ?? []) as unknown[];
  const identities = new Map<unknown, Obj>();
  objects.forEach((o, i) => {
    if (!v.objects.has(i) && (o as Obj).type === 'identity') identities.set((o as Obj).id, o as Obj);
  });
  const now = (opts.now ?? new Date()).getTime();
  const result: StixImportResult = { indicators: [], intel: [], alerts: [], objects: [], counts: { imported: 0, skipped: 0, rejected: 0 } };
  const answer = (o: unknown, outcome: ImportOutcome, reason?: string) => {
    const obj = (typeof o === 'object' && o !== null ? o : {}) as Obj;
    result.objects.push({ id: String(obj.id ?? ''), type: String(obj.type ?? ''), outcome, ...(reason ? { reason } : {}) });
    result.counts[outcome]++;
  };

  objects.forEach((raw, i) => {
    const issues = v.objects.get(i);
    if (issues) return answer(raw, 'rejected', issues.slice(0, 3).map((x) => `${x.path.replace(/^objects\[\d+\]\.?/, '') || 'object'}: ${x.message}`).join('; '));
    const o = raw as Obj;
    if (o.type !== 'indicator') {
      if (o.type === 'marking-definition' && !tlpOfMarking(String(o.id))) return answer(o, 'skipped', 'marking-definition: not a TLP marking');
      return CONTEXT_TYPES.has(String(o.type)) ? answer(o, 'imported') : answer(o, 'skipped', `${String(o.type)}: not an indicator, nothing to match`);
    }
    if (o.pattern_type !== 'stix') return answer(o, 'skipped', `pattern_type ${String(o.pattern_type)}`);
    if (o.revoked === true) return answer(o, 'skipped', 'revoked');
    if (str(o.valid_until) && Date.parse(o.valid_until as string) <= now) return answer(o, 'skipped', 'expired (valid_until passed)');
    const parsed = patternObservables(String(o.pattern));
    if (!parsed.ok) return answer(o, 'skipped', `pattern: ${parsed.error}`);
    const built = intelAlert(o, parsed.observables, opts, identities.get(o.created_by_ref));
    // Accounted for, never a 500: one odd indicator must not sink the bundle.
    if (!built.success) return answer(o, 'skipped', `not representable as an alert: ${built.error.issues.slice(0, 3).map((x) => `${x.path.join('.')}: ${x.message}`).join('; ')}`);
    const alert = built.data;
    result.alerts.push(alert);
    for (const ob of parsed.observables) if (ob.kind === 'ip') result.indicators.push({ ip: ob.value, ...reportOf(alert) });
    result.intel.push(...intelEntriesOf(alert, parsed.observables));
    answer(o, 'imported', parsed.dropped.length ? `partly: dropped ${parsed.dropped.join('; ')}` : undefined);
  });
  return result;
}

/** The observables an imported-intelligence alert carries (empty for any other alert). */
export function intelObservables(alert: Alert): Observable[] {
  const raw = alert.labels?.[INTEL_LABELS.observables];
  if (!raw) return [];
  try {
    const v = JSON.parse(raw) as unknown;
    return Array.isArray(v) ? (v as Observable[]) : [];
  } catch {
    return [];
  }
}

function keptJson(o: Obj): string {
  const s = JSON.stringify(o);
  return s.length <= MAX_KEPT_OBJECT ? s : JSON.stringify({ ...o, description: undefined, external_references: undefined });
}

function intelAlert(o: Obj, observables: Observable[], opts: StixImportOptions, producer: Obj | undefined): ReturnType<typeof Alert.safeParse> {
  const id = o.id as string;
  const markings = Array.isArray(o.object_marking_refs) ? o.object_marking_refs.map((m) => tlpOfMarking(String(m))).filter((t): t is Tlp => t !== undefined) : [];
  const tlp = markings.length ? markings.reduce(mostRestrictive) : (opts.defaultTlp ?? 'AMBER');
  // STIX confidence, else OpenCTI's own 0..100 score, else "unknown" as the middle.
  const raw = typeof o.confidence === 'number' ? o.confidence : typeof o.x_opencti_score === 'number' ? o.x_opencti_score : 50;
  const score = Math.min(100, Math.max(0, raw)) / 100;
  const validFrom = new Date(o.valid_from as string).toISOString();
  const modified = new Date(str(o.modified) ?? validFrom).toISOString();
  // Long free text is cut to the alert schema's bounds rather than losing the indicator.
  const name = (str(o.name) ?? `STIX indicator ${id}`).slice(0, 1024);
  const producerName = str(producer?.name);
  const shown = observables.map((x) => (x.kind === 'file' ? Object.values(x.hashes)[0] : x.value)).join(', ');
  const ip = observables.find((x) => x.kind === 'ip');
  return Alert.safeParse({
    id: stableId('stix', opts.source, id),
    '@timestamp': modified,
    first_seen: validFrom,
    last_seen: modified > validFrom ? modified : validFrom,
    detector: 'stix-import',
    rule: { id: id.slice(0, 128), name, category: 'threat-intel' },
    score,
    severity: severityOf(score),
    message: (str(o.description) ?? `${name}: ${shown}`).slice(0, 8192),
    explanation: { summary: `Indicator from ${opts.source}${producerName ? ` (${producerName})` : ''}`.slice(0, 8192), values: { stix_id: id, pattern: String(o.pattern).slice(0, 1024) } },
    ...(ip ? { source: { ip: ip.value } } : {}),
    origin: { soc: opts.source, ...(producerName ? { name: producerName.slice(0, 256) } : {}) },
    tlp,
    labels: {
      [INTEL_LABELS.id]: id,
      [INTEL_LABELS.source]: opts.source,
      [INTEL_LABELS.observables]: JSON.stringify(observables),
      [INTEL_LABELS.indicator]: keptJson(o),
      ...(producer ? { [INTEL_LABELS.identity]: keptJson(producer) } : {}),
    },
  });
}
