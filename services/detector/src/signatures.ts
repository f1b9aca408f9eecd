import { alertId, type Alert, type EcsEvent, type Severity, type Tlp } from '@soc/schema';

/**
 * Signature detections: sensors that already decided something is an alert (a Suricata rule
 * match, a Zeek notice). Each such event becomes exactly one alert whose id derives from the
 * event id, so re-processing the event upserts the same alert.
 */

export interface AlertContext {
  origin: Alert['origin'];
  tlp: Tlp;
}

/** ET/Suricata rule metadata `signature_severity` names the rule author's verdict. */
const SIGNATURE_SEVERITY: Record<string, Severity> = { critical: 'critical', major: 'high', minor: 'medium', informational: 'low' };

/** Suricata `alert.severity` is a priority: 1 is the most severe. */
export function suricataSeverity(priority: number | undefined, metadataSeverity: string | undefined): Severity {
  const fromMeta = metadataSeverity ? SIGNATURE_SEVERITY[metadataSeverity.toLowerCase()] : undefined;
  if (fromMeta) return fromMeta;
  if (priority === 1) return 'high';
  if (priority === 2) return 'medium';
  return 'low';
}

const SCORE: Record<Severity, number> = { low: 0.3, medium: 0.6, high: 0.8, critical: 0.95 };

function metadataSeverity(e: EcsEvent): string | undefined {
  const eve = e.suricata?.eve as { alert?: { metadata?: { signature_severity?: unknown } } } | undefined;
  const v = eve?.alert?.metadata?.signature_severity;
  const first = Array.isArray(v) ? v[0] : v;
  return typeof first === 'string' ? first : undefined;
}

function endpoints(e: EcsEvent): Pick<Alert, 'source' | 'destination' | 'host' | 'network'> {
  const out: Pick<Alert, 'source' | 'destination' | 'host' | 'network'> = {};
  if (e.source?.ip || e.source?.port !== undefined) out.source = { ip: e.source?.ip, port: e.source?.port };
  if (e.destination?.ip || e.destination?.port !== undefined) out.destination = { ip: e.destination?.ip, port: e.destination?.port };
  const host = e.host?.name ?? e.host?.hostname ?? e.observer?.hostname;
  if (host) out.host = { name: host };
  if (e.network?.transport || e.network?.protocol) out.network = { transport: e.network?.transport, protocol: e.network?.protocol };
  return out;
}

export function isSignatureEvent(e: EcsEvent): boolean {
  return e.event.kind === 'alert' && (e.event.dataset === 'suricata.eve' || e.event.dataset.startsWith('suricata') || e.event.dataset === 'zeek.notice');
}

export function alertFromSignatureEvent(e: EcsEvent, ctx: AlertContext): Alert | null {
  if (!isSignatureEvent(e)) return null;
  const fromSuricata = e.event.dataset.startsWith('suricata');
  const detector = fromSuricata ? 'suricata' : 'zeek-notice';
  // `||`: an empty id or name (a sensor may send one) is no id; the alert schema needs one.
  const ruleId = (e.rule?.id || e.rule?.name || 'unknown').slice(0, 128);
  const ruleName = e.rule?.name || ruleId;
  const severity = fromSuricata ? suricataSeverity(e.event.severity, metadataSeverity(e)) : 'medium';
  const where = [e.source?.ip && `${e.source.ip}${e.source.port !== undefined ? `:${e.source.port}` : ''}`, e.destination?.ip && `${e.destination.ip}${e.destination.port !== undefined ? `:${e.destination.port}` : ''}`]
    .filter(Boolean)
    .join(' -> ');
  const summary = `${fromSuricata ? 'Suricata signature' : 'Zeek notice'} ${ruleName}${where ? ` (${where})` : ''}`;
  const ts = e['@timestamp'];
  return {
    id: alertId(detector, ruleId, e.event.id),
    '@timestamp': ts,
    first_seen: ts,
    last_seen: ts,
    detector,
    rule: { id: ruleId, name: ruleName, ...(e.rule?.category ? { category: e.rule.category } : {}) },
    score: SCORE[severity],
    severity,
    // The alert schema bounds the message (8,192); a long sensor message is cut, not the alert lost.
    message: (e.message && e.message !== ruleName ? `${summary}: ${e.message}` : summary).slice(0, 8192),
    explanation: { summary },
    ...endpoints(e),
    count: 1,
    related_events: [e.event.id],
    origin: ctx.origin,
    tlp: ctx.tlp,
    status: 'new',
  };
}
