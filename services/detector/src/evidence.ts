import { FEATURE_COUNT, FlowFeatureExtractor, flowFromEvent, type Flow } from '@soc/features';
import type { AnomalyModel } from '@soc/model';
import { alertId, type Alert, type EcsEvent, type Severity } from '@soc/schema';
import {
  EvidenceTracker, LruMap, contextFromEvent, evidenceStatistic, scoreEvidence,
  type EvidenceCalibration, type EvidenceTerm, type HostActivity, type InboundActivity, type PairEvidence,
} from '@soc/signals';
import type { Metrics } from '@soc/telemetry';
import type { Analyzer } from './detector.ts';
import type { AlertContext } from './signatures.ts';
import { explainPair, pairThreat, threatOf } from './explain.ts';

export interface EvidenceModel {
  version: string;
  calibration: EvidenceCalibration;
  /** The site autoencoder (fitted models); the shipped reference has none. */
  model?: AnomalyModel;
}

export interface EvidenceAnalyzerOptions extends AlertContext {
  /** The model in force for this batch; the caller swaps it only between batches. */
  current: () => EvidenceModel;
  tracker: EvidenceTracker;
  metrics?: Metrics;
  /** Event ids remembered to recognise a batch handled again (default 50 000: 25 batches of 2 000). */
  replayWindow?: number;
}

const DAY = 86_400;
const HOST_KINDS = ['scan', 'dga'] as const;
const iso = (ts: number) => new Date(ts * 1000).toISOString();

/** Severity follows the evidence: how far past the threshold, and how many independent signs agree. */
export function evidenceSeverity(statistic: number, threshold: number, signs: number): Severity {
  const r = statistic / Math.max(threshold, 1e-9);
  if (r >= 3 && signs >= 3) return 'critical';
  if (r >= 2 || signs >= 3) return 'high';
  if (signs >= 2) return 'medium';
  return 'low';
}

/**
 * The evidence detector: one alert per (internal host, external destination) episode, raised when
 * the pair's accumulated evidence — priors calibrated on real benign traffic, the site's own
 * baseline when a site model is active — passes the threshold, and updated (same id: an upsert)
 * as the evidence grows. Host-level findings get one alert per host and day: port scans (T1046),
 * NXDOMAIN bursts (T1568.002), and Internet background scanning of an exposed host (T1595, low).
 * New outbound episodes beyond the daily budget are opened only at high severity.
 */
export function evidenceAnalyzer(o: EvidenceAnalyzerOptions): Analyzer {
  const extractor = new FlowFeatureExtractor();
  const daily = { day: -1, opened: 0 };
  /** Host-level alerts (key → the figure last shown); one per host and day, so bounded by hosts × kinds. */
  const shown = new LruMap<string, number>(100_000);
  /** The last host-level alert per key, to emit again when a batch is handled again. */
  const lastHostAlert = new LruMap<string, Alert>(10_000);
  /** Ids of the events observed lately: a batch the bus hands over again is not counted twice. */
  const seen = new LruMap<string, true>(o.replayWindow ?? 50_000);

  function budgetLeft(c: EvidenceCalibration, ts: number): boolean {
    const day = Math.floor(ts / DAY);
    if (day !== daily.day) {
      daily.day = day;
      daily.opened = 0;
    }
    const hosts = o.tracker.stats().hosts;
    return daily.opened < Math.max(c.budget.minPerDay, (c.budget.perThousandHostsPerDay * hosts) / 1000);
  }

  function seed(id: string, ts: number, first: number, last: number, rule: Alert['rule'], m: EvidenceModel): Alert {
    return {
      id, '@timestamp': iso(ts), first_seen: iso(first), last_seen: iso(last), detector: 'evidence',
      rule: { ...rule, id: `${rule.id}@${m.version}`.slice(0, 128) },
      score: 0, severity: 'low', message: '', explanation: { summary: '' }, count: 1, related_events: [],
      origin: o.origin, tlp: o.tlp, status: 'new',
    };
  }

  function pairAlert(p: PairEvidence, terms: EvidenceTerm[], statistic: number, m: EvidenceModel): Alert {
    const c = m.calibration;
    const active = terms.filter((t) => t.p <= c.tau && t.raw > 0).sort((a, b) => a.p - b.p);
    const ex = explainPair(p, active, statistic, c);
    // The id is a hash of the episode: computed once, not per update.
    p.alertId ||= alertId('evidence', 'c2-pair', `${p.host}|${p.dest}|${p.first}`);
    const a = seed(p.alertId, p.raisedAt, p.first, p.last, { id: 'c2-pair', name: ex.title, category: 'command-and-control' }, m);
    a.severity = evidenceSeverity(statistic, c.threshold, active.length);
    a.score = Math.min(1, statistic / (statistic + c.threshold + 1e-9));
    a.message = ex.summary;
    a.explanation = ex.explanation;
    a.source = { ip: p.host };
    a.destination = { ip: p.dest, ...(p.ports[0] !== undefined ? { port: p.ports[0] } : {}) };
    a.network = { transport: p.proto, ...(p.service !== '-' ? { protocol: p.service } : {}) };
    a.count = p.flows;
    a.related_events = p.events.slice(0, 1000);
    a.threat = pairThreat(active);
    return a;
  }

  function hostAlert(kind: 'scan' | 'inbound-scan' | 'dga', h: HostActivity, ts: number, m: EvidenceModel): Alert | null {
    const c = m.calibration;
    // A scan is wide (many addresses/ports in an hour) or deep (many ports of one address in a day).
    // Inbound, deep scans of one of our hosts are background noise the per-host alert already counts.
    const deep = kind === 'inbound-scan' ? c.scanFanout : c.verticalPorts;
    const vertical = kind !== 'dga' && h.verticalMax > deep && h.fanoutMax <= c.scanFanout;
    const value = kind === 'dga' ? h.nxMax : vertical ? h.verticalMax : h.fanoutMax;
    const limit = kind === 'dga' ? c.nxdomainPer10Min : vertical ? deep : c.scanFanout;
    if (value <= limit) return null;
    const key = `${kind}|${h.host}|${h.day}`;
    // Re-emit only when the figure has grown by half since the last emission.
    if (value < 1.5 * (shown.get(key) ?? 0)) return null;
    shown.set(key, value);
    const rule = kind === 'scan' ? { id: 'port-scan', name: 'Port scan / network service discovery', category: 'discovery' }
      : kind === 'inbound-scan' ? { id: 'inbound-scan-source', name: 'Port scan from the Internet', category: 'reconnaissance' }
      : { id: 'dga-nxdomain', name: 'Burst of NXDOMAIN answers (domain generation algorithm)', category: 'command-and-control' };
    const a = seed(alertId('evidence', kind, `${h.host}|${h.day}`), ts, h.day * DAY, ts, rule, m);
    a.source = { ip: h.host };
    a.count = value;
    if (kind === 'inbound-scan') {
      a.severity = 'low';
      a.message = `Internet address ${h.host} probed ${value} distinct ${vertical ? 'ports of one of our addresses today' : `(address, port) pairs of ours within one hour (${h.fanoutTargets.size} addresses)`}: reconnaissance from outside, reported once per source and day (alert above ${limit})`;
      a.threat = threatOf([['T1595', 'Active Scanning']], [['TA0043', 'Reconnaissance']]);
    } else if (kind === 'scan') {
      a.severity = value > 4 * limit ? 'high' : 'medium';
      a.message = vertical
        ? `${h.host} made failed connection attempts to ${value} distinct ports of one address today (alert above ${limit})`
        : `${h.host} made failed connection attempts to ${value} distinct (address, port) pairs within one hour across ${h.fanoutTargets.size}${h.fanoutTargets.size >= 256 ? '+' : ''} addresses (alert above ${limit})`;
      a.threat = threatOf([['T1046', 'Network Service Discovery']], [['TA0007', 'Discovery']]);
    } else {
      a.severity = value > 4 * limit ? 'high' : 'medium';
      a.message = `${h.host} received ${value} NXDOMAIN answers within 10 minutes (alert above ${limit}), e.g. ${h.nxSample.join(', ')}: a domain generation algorithm looking for its command server`;
      a.threat = threatOf([['T1568', 'Dynamic Resolution', 'T1568.002', 'Domain Generation Algorithms']], [['TA0011', 'Command and Control']]);
    }
    a.score = Math.min(1, value / (value + limit));
    a.explanation = { summary: a.message, values: { value, limit } };
    lastHostAlert.set(key, a);
    return a;
  }

  function inboundAlert(x: InboundActivity, ts: number, m: EvidenceModel): Alert | null {
    const c = m.calibration;
    const n = x.probes.size;
    if (n < c.inboundSources) return null;
    const key = `inbound|${x.host}|${x.day}`;
    if (n < 2 * (shown.get(key) ?? 0)) return null;
    shown.set(key, n);
    const top = [...x.bySource].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([ip, k]) => `${ip} (${k})`).join(', ');
    const ports = [...x.byPort].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([p, k]) => `${p} (${k})`).join(', ');
    const a = seed(alertId('evidence', 'inbound-scan', `${x.host}|${x.day}`), ts, x.day * DAY, ts, { id: 'inbound-scan', name: 'Internet background scanning of an exposed host', category: 'reconnaissance' }, m);
    a.severity = 'low';
    a.score = 0.2;
    a.count = x.flows;
    a.destination = { ip: x.host };
    a.source = { ip: [...x.bySource].sort((p, q) => q[1] - p[1])[0]?.[0] ?? '' };
    a.message = `${x.host} is reachable from the Internet: ${n} distinct sources probed it today (${x.flows} inbound flows); top sources ${top}; ports ${ports}. Inbound noise, not command and control: reported once per host and day`;
    a.explanation = { summary: a.message, values: { sources: n, flows: x.flows } };
    a.threat = threatOf([['T1595', 'Active Scanning']], [['TA0043', 'Reconnaissance']]);
    lastHostAlert.set(key, a);
    return a;
  }

  /** An alerted pair's alert as it stands now: the re-emission of a batch handled again. */
  function reemitPair(f: Flow, m: EvidenceModel, out: Map<string, Alert>): void {
    const p = o.tracker.pair(f.srcIp, f.dstIp);
    if (!p?.alerted) return;
    const { statistic, terms } = scoreEvidence(m.calibration, p.raw);
    const a = pairAlert(p, terms, Math.max(statistic, p.emittedBest), m);
    out.set(a.id, a);
  }

  return {
    name: 'evidence',
    async analyze(events) {
      const m = o.current();
      const c = m.calibration;
      // Parallel arrays, no object per flow. `again`: the event was already observed — the bus
      // retries or bisects a batch a handler failed on — so the stateful tracker must not count
      // it twice (a retried batch would otherwise double every count and burst); its alerts,
      // lost with the failed attempt, are emitted again instead (same ids: an upsert).
      const fl: Flow[] = [];
      const ev: EcsEvent[] = [];
      const again: boolean[] = [];
      // The site autoencoder's input, filled in place by the extractor (one row per new flow).
      const input = m.model ? new Float32Array(events.length * FEATURE_COUNT) : undefined;
      let rows = 0;
      for (const e of events) {
        const id = e.event.id;
        const dup = seen.get(id) !== undefined;
        if (!dup) seen.set(id, true);
        const f = flowFromEvent(e);
        if (f) {
          fl.push(f);
          ev.push(e);
          again.push(dup);
          if (input && !dup) extractor.push(f, input, rows++ * FEATURE_COUNT);
        } else if (!dup) {
          const ctx = contextFromEvent(e);
          if (ctx) o.tracker.observeContext(ctx);
        }
      }
      if (!fl.length) return [];
      const ae = m.model && rows ? await m.model.rawScoreRows(input!.subarray(0, rows * FEATURE_COUNT), rows) : undefined;
      o.metrics?.flowsScored.inc(fl.length);
      const out = new Map<string, Alert>();
      let scored = 0;
      for (let i = 0; i < fl.length; i++) {
        const f = fl[i]!;
        if (again[i]) {
          const dir = o.tracker.direction(f);
          if (dir === 'outbound') reemitPair(f, m, out);
          // Host-level alerts of the day this flow was counted in.
          const day = Math.floor(f.ts / DAY);
          const keys = dir === 'inbound' ? [`inbound-scan|${f.srcIp}|${day}`, `inbound|${f.dstIp}|${day}`] : HOST_KINDS.map((k) => `${k}|${f.srcIp}|${day}`);
          for (const k of keys) {
            const a = lastHostAlert.get(k);
            if (a) out.set(a.id, a);
          }
          continue;
        }
        const anomaly = ae ? ae[scored++]! : 0;
        const x = o.tracker.observe(f);
        if (x.kind === 'inbound') {
          const a = inboundAlert(x.inbound, f.ts, m);
          if (a) out.set(a.id, a);
          const b = hostAlert('inbound-scan', x.source, f.ts, m);
          if (b) out.set(b.id, b);
          continue;
        }
        if (x.kind === 'none') continue;
        for (const k of HOST_KINDS) {
          const a = hostAlert(k, x.host, f.ts, m);
          if (a) out.set(a.id, a);
        }
        if (x.kind !== 'outbound') continue;
        const p = x.pair;
        if (p.events.length < (p.alerted ? 1000 : 8)) p.events.push(ev[i]!.event.id);
        // The autoencoder scores this flow, not the episode: it replaces the previous flow's value.
        p.raw.anomaly = anomaly;
        const statistic = evidenceStatistic(c, p.raw);
        if (statistic > p.best) p.best = statistic;
        if (statistic <= c.threshold) continue;
        if (p.alerted && !(p.flows >= 2 * p.emittedFlows || statistic > p.emittedBest + 2 || (f.ts - p.emittedAt >= 3600 && p.flows > p.emittedFlows))) continue;
        const { terms } = scoreEvidence(c, p.raw);
        if (!p.alerted) {
          const severe = evidenceSeverity(statistic, c.threshold, terms.filter((t) => t.p <= c.tau && t.raw > 0).length);
          if (!budgetLeft(c, f.ts) && severe !== 'high' && severe !== 'critical') continue;
          daily.opened++;
          p.alerted = true;
          // A conn record exists once the connection ends: that is when the detector could know.
          p.raisedAt = f.ts + f.duration;
        }
        p.emittedFlows = p.flows;
        p.emittedBest = Math.max(p.emittedBest, statistic);
        p.emittedAt = f.ts;
        const a = pairAlert(p, terms, statistic, m);
        out.set(a.id, a);
      }
      return [...out.values()];
    },
  };
}
