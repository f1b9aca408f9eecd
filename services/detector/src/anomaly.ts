import { FEATURES, FEATURE_COUNT, FlowFeatureExtractor, flowFromEvent, type Flow } from '@soc/features';
import { BatchScorer, type AnomalyModel, type Score } from '@soc/model';
import { alertId, type Alert, type EcsEvent, type Severity } from '@soc/schema';
import type { Metrics } from '@soc/telemetry';
import type { Analyzer } from './detector.ts';
import type { AlertContext } from './signatures.ts';
import { AlertGroups, type Group } from './groups.ts';

export interface AnomalyOptions extends AlertContext {
  model: AnomalyModel;
  metrics?: Metrics;
  batchSize: number;
  lingerMs: number;
  /** Anomalies of one source within a window of this many seconds share one alert. */
  groupWindowSeconds: number;
  /** Open groups kept at once; the oldest are dropped first (they were already emitted). */
  maxGroups?: number;
}

/** Severity from how far past the threshold a flow scored. */
export function anomalySeverity(score: number, threshold: number): Severity {
  const r = score / threshold;
  if (r >= 20) return 'critical';
  if (r >= 5) return 'high';
  if (r >= 2) return 'medium';
  return 'low';
}

/** Feature values as an analyst reads them: vocabulary names for categorical inputs. */
export function namedFeatureValues(vector: ArrayLike<number>): Record<string, number | string> {
  const out: Record<string, number | string> = {};
  FEATURES.forEach((f, i) => {
    const v = vector[i]!;
    out[f.name] = f.vocabulary ? (f.vocabulary[v] ?? 'unknown') : Number(v.toFixed(4));
  });
  return out;
}

/**
 * The ONNX anomaly detector: NSL-KDD features for every flow, scored in batches; flows above the
 * model's threshold raise alerts, grouped per source address and time window so that a scan is
 * one alert with a count, not a flood. Group ids are deterministic (source, window start), so a
 * re-delivered batch updates the same alert.
 */
export function anomalyAnalyzer(o: AnomalyOptions): Analyzer {
  const extractor = new FlowFeatureExtractor();
  const scorer = new BatchScorer(o.model, { maxBatch: o.batchSize, lingerMs: o.lingerMs });
  const groups = new AlertGroups(o.maxGroups);
  const version = o.model.metadata.version;
  const windowMs = o.groupWindowSeconds * 1000;

  function record(e: EcsEvent, flow: Flow, vector: Float32Array, s: Score, touched: Set<Group>): void {
    const windowStart = Math.floor(Date.parse(e['@timestamp']) / windowMs) * windowMs;
    const key = `${flow.srcIp}|${windowStart}`;
    const { group: g, best } = groups.record(
      key,
      () => ({
        id: alertId('anomaly', version, key),
        '@timestamp': new Date(windowStart).toISOString(),
        detector: 'anomaly',
        rule: { id: version, name: 'Anomalous network traffic', category: 'network-anomaly' },
        source: { ip: flow.srcIp },
        origin: o.origin,
        tlp: o.tlp,
      }),
      e,
      s.score,
    );
    const a = g.alert;
    if (best) {
      // The alert shows the worst flow of the group: its score, explanation and features.
      a.score = Math.min(1, s.normalised);
      a.severity = anomalySeverity(s.score, o.model.threshold);
      a.destination = { ip: flow.dstIp, port: flow.dstPort };
      a.network = { transport: flow.proto, ...(flow.service && flow.service !== '-' ? { protocol: flow.service } : {}) };
      const top = s.top.map((f) => `${f.name} (${Math.round(f.contribution * 100)}%)`).join(', ');
      a.explanation = {
        summary: `Flow ${flow.srcIp}:${flow.srcPort} -> ${flow.dstIp}:${flow.dstPort}/${flow.proto} scored ${(s.score / o.model.threshold).toFixed(1)}x the model threshold; most unusual: ${top}`,
        features: s.top.map((f) => ({ name: f.name, value: f.value, contribution: f.contribution })),
        values: namedFeatureValues(vector),
      };
    }
    // The count has its own field; keeping it out of the text means a re-upsert of a growing
    // group leaves the full-text index alone until the worst flow changes.
    if (best) a.message = `Anomalous flows from ${flow.srcIp}; worst: ${a.explanation.summary}`;
    touched.add(g);
  }

  return {
    name: 'anomaly',
    async analyze(events) {
      // The features go straight into the model's input matrix: no vector per flow, no copy.
      const input = new Float32Array(events.length * FEATURE_COUNT);
      const flows: { e: EcsEvent; flow: Flow }[] = [];
      for (const e of events) {
        const flow = flowFromEvent(e);
        if (!flow) continue;
        extractor.push(flow, input, flows.length * FEATURE_COUNT);
        flows.push({ e, flow });
      }
      if (!flows.length) return [];
      const scores = await scorer.scoreRows(input.subarray(0, flows.length * FEATURE_COUNT), flows.length);
      o.metrics?.flowsScored.inc(flows.length);
      const touched = new Set<Group>();
      scores.forEach((s, i) => {
        if (s.anomalous) record(flows[i]!.e, flows[i]!.flow, input.subarray(i * FEATURE_COUNT, (i + 1) * FEATURE_COUNT), s, touched);
      });
      // A snapshot per touched group: record() replaces the nested objects it changes
      // (explanation, destination, network) rather than mutating them, so copying the top level
      // and the one array it appends to is enough, at a fraction of a deep clone's cost.
      return [...touched].map((g) => ({ ...g.alert, related_events: g.alert.related_events.slice() }));
    },
    close: async () => {
      scorer.flush();
      await o.model.close();
    },
  };
}
