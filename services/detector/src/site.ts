import { readFile } from 'node:fs/promises';
import { flowFromEvent, type Flow } from '@soc/features';
import { ModelError, loadModel, metadataPath, type AnomalyModel } from '@soc/model';
import { alertId, type Alert, type EcsEvent, type Severity } from '@soc/schema';
import { SiteSection, FlowObserver, scoreFlow, type Calibration, type Observation, type ScoredTerm } from '@soc/signals';
import type { Metrics } from '@soc/telemetry';
import type { Analyzer } from './detector.ts';
import type { AlertContext } from './signatures.ts';
import { AlertGroups, type Group } from './groups.ts';

/** A fitted site model: the ONNX autoencoder and the calibration of every scorer. */
export interface SiteModel {
  version: string;
  model: AnomalyModel;
  calibration: Calibration;
}

/** Loads a site model; a KDD model (no `site` calibration) is refused with the reason. */
export async function loadSiteModel(path: string): Promise<SiteModel> {
  const meta = SiteSection.safeParse(JSON.parse(await readFile(metadataPath(path), 'utf8')));
  if (!meta.success) throw new ModelError(`${path} is not a site model (no valid site calibration): ${meta.error.message}`);
  const model = await loadModel(path);
  return { version: model.metadata.version, model, calibration: meta.data.site };
}

/** Severity from the combined statistic's distance past the threshold (chi-square-like scale). */
export function siteSeverity(statistic: number, threshold: number): Severity {
  const over = statistic - threshold;
  if (over >= 30) return 'critical';
  if (over >= 15) return 'high';
  if (over >= 5) return 'medium';
  return 'low';
}

const fmt = (x: number) => (Math.abs(x) >= 100 ? x.toFixed(0) : Number(x.toPrecision(3)).toString());

/** What each signal's numbers mean to an analyst, from the tracker's details. */
function describe(t: ScoredTerm, o: Observation): string {
  const d = o.reading.details;
  switch (t.scorer) {
    case 'beacon':
      return `beaconing: ${d.connections} connections, interval median ${fmt(d.intervalMedian)}s (MAD ${fmt(d.intervalMad)}s, regularity ${fmt(d.intervalRegularity)}), size regularity ${fmt(d.sizeRegularity)}, active ${d.hoursActive} of ${d.hoursSpanned} h`;
    case 'rarity':
      return `rare destination: ${d.internalSources} internal host(s) talk to it, first seen ${new Date(d.firstSeen * 1000).toISOString()}`;
    case 'port':
      return `uncommon port ${o.flow.proto}/${o.flow.dstPort}: ${d.portPairs} pair(s) at this site use it`;
    case 'duration':
      return `long-lived connection: ${fmt(o.flow.duration)}s`;
    case 'scan':
      return `failed-connection fan-out: ${d.failedFanout} distinct destination ports/hosts refused or unanswered this hour`;
    case 'volume':
      return `outbound volume: ${d.bytesOut} bytes out, ${d.bytesIn} in`;
    case 'anomaly':
      return `autoencoder reconstruction error ${fmt(t.raw)}`;
  }
}

export interface SiteAnalyzerOptions extends AlertContext {
  /** The model in force for this batch; the caller swaps it only between batches. */
  current: () => SiteModel;
  observer: FlowObserver;
  metrics?: Metrics;
  maxGroups?: number;
}

/**
 * The site detector: features and signals for every flow, the site autoencoder on the batch,
 * each scorer's output as a tail probability on the site baseline, combined (truncated Fisher)
 * and compared with the threshold calibrated to the alert budget. Alerts are grouped per
 * (source, destination, window) with deterministic ids, carry destination.ip, are named after
 * the scorer with the smallest p-value, and explain every contributing signal with its numbers.
 */
export function siteAnalyzer(o: SiteAnalyzerOptions): Analyzer {
  const groups = new AlertGroups(o.maxGroups);

  function record(e: EcsEvent, x: Observation, statistic: number, terms: ScoredTerm[], m: SiteModel, touched: Set<Group>): void {
    const f: Flow = x.flow;
    const win = m.calibration.groupWindowSeconds;
    const windowStart = Math.floor(f.ts / win) * win;
    const key = `${f.srcIp}|${f.dstIp}|${windowStart}`;
    const { group: g, best } = groups.record(
      key,
      () => ({
        id: alertId('site', 'site-baseline', key),
        '@timestamp': new Date(windowStart * 1000).toISOString(),
        detector: 'anomaly',
        rule: { id: m.version, name: 'Site baseline deviation', category: 'network-anomaly' },
        source: { ip: f.srcIp },
        destination: { ip: f.dstIp, port: f.dstPort },
        origin: o.origin,
        tlp: o.tlp,
      }),
      e,
      statistic,
    );
    const a = g.alert;
    if (best) {
      const active = terms.filter((t) => t.p <= m.calibration.tau).sort((p, q) => p.p - q.p);
      const lead = active[0]?.scorer ?? 'anomaly';
      a.detector = lead;
      a.rule = { id: m.version, name: `Site baseline deviation: ${lead}`, category: 'network-anomaly' };
      a.score = Math.min(1, statistic / (statistic + m.calibration.threshold + 1e-9));
      a.severity = siteSeverity(statistic, m.calibration.threshold);
      a.destination = { ip: f.dstIp, port: f.dstPort };
      a.network = { transport: f.proto, ...(f.service && f.service !== '-' ? { protocol: f.service } : {}) };
      const why = active.map((t) => `${describe(t, x)} (p=${t.p.toExponential(1)})`).join('; ');
      a.explanation = {
        summary: `${f.srcIp} -> ${f.dstIp}:${f.dstPort}/${f.proto}: combined statistic ${fmt(statistic)} > threshold ${fmt(m.calibration.threshold)} (truncated Fisher over site-calibrated p-values). ${why}`,
        features: active.map((t) => ({ name: t.scorer, value: t.raw, contribution: -2 * Math.log(t.p) / statistic })),
        values: {
          statistic, threshold: m.calibration.threshold, connections: x.reading.details.connections,
          interval_median_s: x.reading.details.intervalMedian, interval_mad_s: x.reading.details.intervalMad,
          hours_active: x.reading.details.hoursActive, internal_sources: x.reading.details.internalSources,
          external: x.reading.details.external ? 1 : 0,
        },
      };
    }
    a.message = `${a.count} suspicious flow(s) ${f.srcIp} -> ${f.dstIp}; ${a.explanation.summary}`.slice(0, 8192);
    touched.add(g);
  }

  return {
    name: 'site',
    async analyze(events) {
      const m = o.current();
      const rows: { e: EcsEvent; x: Observation }[] = [];
      for (const e of events) {
        const flow = flowFromEvent(e);
        if (flow) rows.push({ e, x: o.observer.observe(flow) });
      }
      if (!rows.length) return [];
      const ae = await m.model.rawScores(rows.map((r) => r.x.vector));
      o.metrics?.flowsScored.inc(rows.length);
      const touched = new Set<Group>();
      rows.forEach(({ e, x }, i) => {
        const s = scoreFlow(m.calibration, { ...x.reading.raw, anomaly: ae[i]! });
        if (s.alert) record(e, x, s.statistic, s.terms, m, touched);
      });
      return [...touched].map((g) => structuredClone(g.alert));
    },
  };
}
