import { Alert, stableId, type Severity, type Tlp } from '@soc/schema';
import { ValidationError } from '@soc/errors';
import type { IndicatorEntry } from '../correlate.ts';
import { mostRestrictive } from '../tlp.ts';
import { tlpOfMarking } from './markings.ts';
import { ipPatternValues } from './pattern.ts';
import { validateStixBundle } from './validate.ts';

export interface StixImportResult {
  /** For IndicatorIndex.add. */
  indicators: IndicatorEntry[];
  /** One partner-intelligence alert per usable indicator; `indicators[].alert_id` points at them. */
  alerts: Alert[];
  skipped: { id: string; reason: string }[];
}

export interface StixImportOptions {
  /** Where the bundle came from (e.g. "misp-cert-ee", "opencti"): becomes the alerts' origin. */
  source: string;
  /** Marking when an indicator carries none we know: AMBER, the cautious default. */
  defaultTlp?: Tlp;
  now?: Date;
}

const severityOf = (score: number): Severity => (score >= 0.8 ? 'high' : score >= 0.5 ? 'medium' : 'low');
type Obj = Record<string, unknown>;
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/**
 * Reads address indicators from a STIX 2.1 bundle (MISP, OpenCTI, another SOC's export).
 * Indicators whose patterns are not plain address comparisons, that are revoked or expired, are
 * skipped with a reason. A bundle that is not structurally valid is refused whole.
 */
export function fromStixBundle(bundle: unknown, opts: StixImportOptions): StixImportResult {
  const issues = validateStixBundle(bundle);
  if (issues.length) throw new ValidationError(`STIX bundle refused: ${issues.slice(0, 5).map((i) => `${i.path}: ${i.message}`).join('; ')}`);
  const objects = ((bundle as Obj).objects ?? []) as Obj[];
  const names = new Map(objects.filter((o) => o.type === 'identity').map((o) => [o.id, str(o.name)]));
  const now = (opts.now ?? new Date()).getTime();
  const result: StixImportResult = { indicators: [], alerts: [], skipped: [] };

  for (const o of objects) {
    if (o.type !== 'indicator') continue;
    const id = o.id as string;
    if (o.pattern_type !== 'stix') {
      result.skipped.push({ id, reason: `pattern_type ${String(o.pattern_type)}` });
      continue;
    }
    if (o.revoked === true || (str(o.valid_until) && Date.parse(o.valid_until as string) <= now)) {
      result.skipped.push({ id, reason: 'revoked or expired' });
      continue;
    }
    const parsed = ipPatternValues(String(o.pattern));
    if (!parsed.ok) {
      result.skipped.push({ id, reason: parsed.error });
      continue;
    }
    const built = intelAlert(o, parsed.ips, opts, names);
    if (!built.success) {
      // Accounted for, never a 500: one odd indicator must not sink the bundle.
      result.skipped.push({ id, reason: `not representable as an alert: ${built.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}` });
      continue;
    }
    const alert = built.data;
    result.alerts.push(alert);
    for (const ip of parsed.ips) {
      result.indicators.push({ ip, origin: opts.source, alert_id: alert.id, first_seen: alert.first_seen, severity: alert.severity, score: alert.score, tlp: alert.tlp, name: alert.rule.name });
    }
  }
  return result;
}

function intelAlert(o: Obj, ips: string[], opts: StixImportOptions, names: Map<unknown, string | undefined>): ReturnType<typeof Alert.safeParse> {
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
  const producer = names.get(o.created_by_ref);
  return Alert.safeParse({
    id: stableId('stix', opts.source, id),
    '@timestamp': modified,
    first_seen: validFrom,
    last_seen: modified > validFrom ? modified : validFrom,
    detector: 'stix-import',
    rule: { id: id.slice(0, 128), name, category: 'threat-intel' },
    score,
    severity: severityOf(score),
    message: (str(o.description) ?? `${name}: ${ips.join(', ')}`).slice(0, 8192),
    explanation: { summary: `Indicator from ${opts.source}${producer ? ` (${producer})` : ''}`, values: { stix_id: id, pattern: String(o.pattern).slice(0, 1024) } },
    source: { ip: ips[0] },
    origin: { soc: opts.source, ...(producer ? { name: producer.slice(0, 256) } : {}) },
    tlp,
    labels: { 'stix.id': id, 'stix.source': opts.source, ...(ips.length > 1 ? { 'stix.addresses': ips.join(',') } : {}) },
  });
}
