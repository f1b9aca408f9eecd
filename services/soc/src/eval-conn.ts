import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError } from '@soc/errors';
import { loadConfig } from '@soc/config';
import { flowFromEvent } from '@soc/features';
import { readLines } from '@soc/parsers';
import type { Alert, EcsEvent } from '@soc/schema';
import { EvidenceTracker, WELL_KNOWN_PORTS, type EvidenceBudget, type EvidenceOptions } from '@soc/signals';
import { evidenceAnalyzer, loadSiteModel, type EvidenceModel } from '@soc/svc-detector';
import { fitSite } from '@soc/models/site';
import { loadReference } from '@soc/models/evidence';
import { contextsOf, flowsOf, readZeekEvents } from '@soc/models/zeek-files';
import { modelFile, modelsDir } from '@soc/model';

export { contextsOf, flowsOf, readZeekEvents };

/** Per-flow labels: `uid<TAB or ,>label[<sep>detail]` lines (a header line is skipped), .gz too. */
export async function readLabels(file: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const line of readLines(file)) {
    const [uid, label, detail] = line.split(/[\t,]/);
    if (!uid || !label || uid === 'uid') continue;
    out.set(uid, detail ? `${label} ${detail}` : label);
  }
  return out;
}

/** A label that marks a flow as part of an attack (Stratosphere: "Malicious", "Botnet", "C&C"). */
export const isMaliciousLabel = (l: string): boolean => /malicious|botnet|c&c|\bcc\b|attack|malware/i.test(l);

export interface EvalResult {
  model: string;
  mode: string;
  flows: number;
  hours: number;
  /** External destinations of outbound flows, those reached only on well-known service ports, and the bad ones. */
  destinations: number;
  plain_destinations: number;
  bad_destinations: number;
  alerts: number;
  alerts_per_hour: number;
  alerts_by_rule: Record<string, number>;
  alerted_destinations: number;
  bad_alerted?: number;
  recall?: number;
  benign_alerted_share: number;
  plain_alerted_share: number;
  /** Per alerted bad destination: seconds from its first flow to its first alert. */
  first_alert_s?: Record<string, number>;
  median_first_alert_s?: number;
}

export interface EvalOptions {
  /** Bad destination addresses (C2). */
  bad?: readonly string[];
  /** Per-flow labels by Zeek uid: destinations of malicious outbound flows are bad. */
  labels?: Map<string, string>;
  batch?: number;
  tracker?: EvidenceOptions;
  mode?: string;
}

/**
 * Replays events through the evidence analyzer exactly as `soc start` runs it (same analyzer,
 * consumer-sized batches, time order) and scores its alerts against the bad destinations.
 */
export async function evaluateEvents(events: EcsEvent[], m: EvidenceModel, o: EvalOptions = {}): Promise<EvalResult> {
  const tracker = new EvidenceTracker({ ...o.tracker, usage: m.calibration.usage });
  const analyzer = evidenceAnalyzer({ current: () => m, tracker, origin: { soc: 'eval' }, tlp: 'AMBER' });
  const firstAlert = new Map<string, Alert>();
  const batch = o.batch ?? 2000;
  for (let i = 0; i < events.length; i += batch)
    for (const a of await analyzer.analyze(events.slice(i, i + batch))) if (!firstAlert.has(a.id)) firstAlert.set(a.id, a);

  const dests = new Map<string, { first: number; plain: boolean }>();
  const bad = new Set(o.bad ?? []);
  let t0 = Infinity, t1 = -Infinity;
  for (const e of events) {
    const f = flowFromEvent(e);
    if (!f) continue;
    t0 = Math.min(t0, f.ts);
    t1 = Math.max(t1, f.ts);
    if (tracker.direction(f) !== 'outbound') continue;
    const d = dests.get(f.dstIp) ?? { first: f.ts, plain: true };
    d.first = Math.min(d.first, f.ts);
    d.plain &&= WELL_KNOWN_PORTS.has(f.dstPort);
    dests.set(f.dstIp, d);
    if (o.labels && f.uid && isMaliciousLabel(o.labels.get(f.uid) ?? '')) bad.add(f.dstIp);
  }
  const hours = Number.isFinite(t0) ? Math.max(1 / 60, (t1 - t0) / 3600) : 0;
  const alertedAt = new Map<string, number>();
  const byRule: Record<string, number> = {};
  for (const a of firstAlert.values()) {
    const rule = a.rule.id.split('@')[0]!;
    byRule[rule] = (byRule[rule] ?? 0) + 1;
    const d = a.destination?.ip;
    if (!d || rule !== 'c2-pair') continue;
    const t = Date.parse(a['@timestamp']) / 1000;
    alertedAt.set(d, Math.min(alertedAt.get(d) ?? Infinity, t));
  }
  const benign = [...dests.keys()].filter((d) => !bad.has(d));
  const plain = benign.filter((d) => dests.get(d)!.plain);
  const share = (xs: string[]) => (xs.length ? xs.filter((d) => alertedAt.has(d)).length / xs.length : 0);
  const out: EvalResult = {
    model: m.version,
    mode: o.mode ?? m.calibration.kind,
    flows: events.filter((e) => flowFromEvent(e)).length,
    hours: +hours.toFixed(3),
    destinations: dests.size,
    plain_destinations: plain.length,
    bad_destinations: bad.size,
    alerts: firstAlert.size,
    alerts_per_hour: hours ? +(firstAlert.size / hours).toFixed(3) : 0,
    alerts_by_rule: byRule,
    alerted_destinations: alertedAt.size,
    benign_alerted_share: +share(benign).toFixed(4),
    plain_alerted_share: +share(plain).toFixed(4),
  };
  if (bad.size) {
    const hit = [...bad].filter((d) => alertedAt.has(d));
    out.bad_alerted = hit.length;
    out.recall = +(hit.length / bad.size).toFixed(4);
    out.first_alert_s = Object.fromEntries(hit.map((d) => [d, Math.round(alertedAt.get(d)! - (dests.get(d)?.first ?? alertedAt.get(d)!))]));
    const delays = Object.values(out.first_alert_s).sort((a, b) => a - b);
    if (delays.length) out.median_first_alert_s = delays[Math.floor((delays.length - 1) / 2)]!;
  }
  return out;
}

/** The shipped model as the detector runs it before any site fit. */
export const shippedModel = (): EvidenceModel => ({ version: 'evidence-reference-v1', calibration: loadReference() });

/** Fits a site model on the events into `dir` and loads it. */
export async function fitAndLoad(events: EcsEvent[], dir: string, version: string, sources: string[], budget?: EvidenceBudget, tracker: EvidenceOptions = {}): Promise<EvidenceModel> {
  const { onnxPath } = await fitSite(flowsOf(events), dir, { version, sources, contexts: contextsOf(events), tracker, ...(budget ? { budget } : {}) });
  return loadSiteModel(onnxPath);
}

/** `--alerts-per-day N` (per 1 000 hosts, floor included) or neither: the reference budget. */
export function budgetFromFlags(v: { 'alerts-per-day'?: string }): EvidenceBudget | undefined {
  if (!v['alerts-per-day']) return undefined;
  const n = Number(v['alerts-per-day']);
  if (!(n > 0)) throw new ConfigError('--alerts-per-day must be a positive number', 'alerts-per-day');
  return { perThousandHostsPerDay: n, minPerDay: Math.min(n, loadReference().budget.minPerDay) };
}

/**
 * `soc eval-conn FILE... [--bad A,B] [--labels FILE] [--model PATH | --fit | --shipped]`. FILEs are
 * Zeek logs (conn, and dns/ssl/x509/http when present). --shipped scores with the shipped reference
 * (out of the box); --model with that site model; otherwise (the default, same as --fit) a site
 * model is fitted on the files themselves first, then they are replayed through it.
 */
export async function evalConnCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { bad: { type: 'string' }, labels: { type: 'string' }, model: { type: 'string' }, fit: { type: 'boolean' }, shipped: { type: 'boolean' }, 'alerts-per-day': { type: 'string' }, config: { type: 'string' }, 'data-dir': { type: 'string' } },
  });
  if (!positionals.length) throw new ConfigError('eval-conn needs a FILE', 'file');
  if ([values.model, values.fit, values.shipped].filter(Boolean).length > 1) throw new ConfigError('give one of --model, --fit, --shipped', 'model');
  // Internal address space as the running detector sees it (SOC_INTERNAL_CIDRS or --config).
  const cfg = loadConfig({ file: values.config, overrides: values['data-dir'] ? { dataDir: values['data-dir'] } : {} });
  const tracker = { internalCidrs: cfg.detector.internalCidrs };
  const events = await readZeekEvents(positionals);
  const bad = values.bad ? values.bad.split(',').map((s) => s.trim()).filter(Boolean) : [];
  const labels = values.labels ? await readLabels(values.labels) : undefined;
  const tmp = values.model || values.shipped ? undefined : await mkdtemp(join(tmpdir(), 'soc-eval-'));
  try {
    // --model takes a file or a version name from `soc model list`.
    const m = values.shipped ? shippedModel() : values.model ? await loadSiteModel(modelFile(modelsDir(cfg.dataDir), values.model)) : await fitAndLoad(events, tmp!, 'eval-fit', positionals, budgetFromFlags(values), tracker);
    try {
      process.stdout.write(JSON.stringify(await evaluateEvents(events, m, { bad, ...(labels ? { labels } : {}), tracker, mode: values.shipped ? 'shipped' : values.model ? 'model' : 'fitted' })) + '\n');
    } finally {
      await m.model?.close();
    }
  } finally {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }
  return 0;
}
