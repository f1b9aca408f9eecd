import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError } from '@soc/errors';
import { loadConfig } from '@soc/config';
import { flowFromEvent, type Flow } from '@soc/features';
import { ZeekTsvReader, parseLine, readLines } from '@soc/parsers';
import type { Alert, EcsEvent } from '@soc/schema';
import { FlowObserver, type Budget, type TrackerOptions } from '@soc/signals';
import { loadSiteModel, siteAnalyzer, type SiteModel } from '@soc/svc-detector';
import { fitSite } from '@soc/models/site';
import { modelFile, modelsDir } from '@soc/model';

/**
 * The flow events of Zeek conn logs (JSON or TSV, .gz too), in time order, whatever the file is
 * called (the command is for conn logs); lines that are not flows are skipped.
 */
export async function readConnEvents(files: readonly string[]): Promise<EcsEvent[]> {
  const events: EcsEvent[] = [];
  for (const file of files) {
    const reader = new ZeekTsvReader();
    for await (const line of readLines(file)) {
      if (line.trim() === '' || reader.accept(line) === 'directive') continue;
      const r = parseLine(line, { format: 'zeek', source: `file:${file}`, zeekTsv: reader.header, zeekPath: 'conn' });
      if (r.ok && flowFromEvent(r.event)) events.push(r.event);
    }
  }
  return events.sort((a, b) => Date.parse(a['@timestamp']) - Date.parse(b['@timestamp']));
}

export const flowsOf = (events: EcsEvent[]): Flow[] => events.map((e) => flowFromEvent(e)!);

export interface EvalResult {
  model: string;
  flows: number;
  destinations: number;
  alerts: number;
  alerted_destinations: number;
  alerts_by_destination: Record<string, number>;
  alerts_per_hour: number;
  bad_alerted_share?: number;
  other_alerted_share?: number;
}

/**
 * Replays conn events through the site detector exactly as `soc start` runs it (same analyzer,
 * consumer-sized batches, time order) and counts alerts per destination.ip.
 */
export async function evaluateEvents(events: EcsEvent[], site: SiteModel, bad: readonly string[] = [], batch = 2000, tracker: TrackerOptions = {}): Promise<EvalResult> {
  const analyzer = siteAnalyzer({ current: () => site, observer: new FlowObserver({ tracker }), origin: { soc: 'eval' }, tlp: 'AMBER' });
  const alerts = new Map<string, Alert>();
  for (let i = 0; i < events.length; i += batch) for (const a of await analyzer.analyze(events.slice(i, i + batch))) alerts.set(a.id, a);
  const byDest: Record<string, number> = {};
  for (const a of alerts.values()) if (a.destination?.ip) byDest[a.destination.ip] = (byDest[a.destination.ip] ?? 0) + 1;
  const dests = new Set(events.map((e) => e.destination!.ip!));
  const ts = events.map((e) => Date.parse(e['@timestamp']));
  const hours = events.length ? Math.max(1 / 60, (ts.at(-1)! - ts[0]!) / 3_600_000) : 0;
  const out: EvalResult = {
    model: site.version,
    flows: events.length,
    destinations: dests.size,
    alerts: alerts.size,
    alerted_destinations: Object.keys(byDest).length,
    alerts_by_destination: byDest,
    alerts_per_hour: hours ? alerts.size / hours : 0,
  };
  if (bad.length) {
    const badSet = new Set(bad);
    const others = [...dests].filter((d) => !badSet.has(d));
    out.bad_alerted_share = bad.filter((d) => byDest[d]).length / bad.length;
    out.other_alerted_share = others.length ? others.filter((d) => byDest[d]).length / others.length : 0;
  }
  return out;
}

/** Fits a site model on the events into `dir` and loads it. */
export async function fitAndLoad(events: EcsEvent[], dir: string, version: string, sources: string[], budget?: Budget, tracker: TrackerOptions = {}): Promise<SiteModel> {
  const { onnxPath } = await fitSite(flowsOf(events), dir, { version, sources, tracker, ...(budget ? { budget } : {}) });
  return loadSiteModel(onnxPath);
}

/** `--alerts-per-day N` or `--fpr X` (share of baseline destinations); neither: the default budget. */
export function budgetFromFlags(v: { 'alerts-per-day'?: string; fpr?: string }): Budget | undefined {
  if (v['alerts-per-day'] && v.fpr) throw new ConfigError('give --alerts-per-day or --fpr, not both', 'budget');
  if (v['alerts-per-day']) {
    const n = Number(v['alerts-per-day']);
    if (!(n > 0)) throw new ConfigError('--alerts-per-day must be a positive number', 'alerts-per-day');
    return { mode: 'alerts-per-day', value: n };
  }
  if (v.fpr) {
    const x = Number(v.fpr);
    if (!(x > 0 && x < 1)) throw new ConfigError('--fpr must be in (0, 1)', 'fpr');
    return { mode: 'fpr', value: x };
  }
  return undefined;
}

/**
 * `soc eval-conn FILE... [--bad A,B] [--model PATH | --fit]`. With --model, that site model
 * scores the file; otherwise (the default, same as --fit) a site model is first fitted on the
 * file itself with the default budget, then the file is replayed through it.
 */
export async function evalConnCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { bad: { type: 'string' }, model: { type: 'string' }, fit: { type: 'boolean' }, 'alerts-per-day': { type: 'string' }, fpr: { type: 'string' }, config: { type: 'string' }, 'data-dir': { type: 'string' } },
  });
  if (!positionals.length) throw new ConfigError('eval-conn needs a FILE', 'file');
  if (values.model && values.fit) throw new ConfigError('give --model or --fit, not both', 'model');
  // Internal address space as the running detector sees it (SOC_INTERNAL_CIDRS or --config).
  const cfg = loadConfig({ file: values.config, overrides: values['data-dir'] ? { dataDir: values['data-dir'] } : {} });
  const tracker = { internalCidrs: cfg.detector.internalCidrs };
  const events = await readConnEvents(positionals);
  const bad = values.bad ? values.bad.split(',').map((s) => s.trim()).filter(Boolean) : [];
  const tmp = values.model ? undefined : await mkdtemp(join(tmpdir(), 'soc-eval-'));
  try {
    // --model takes a file or a version name from `soc model list`.
    const site = values.model ? await loadSiteModel(modelFile(modelsDir(cfg.dataDir), values.model)) : await fitAndLoad(events, tmp!, 'eval-fit', positionals, budgetFromFlags(values), tracker);
    try {
      process.stdout.write(JSON.stringify(await evaluateEvents(events, site, bad, 2000, tracker)) + '\n');
    } finally {
      await site.model.close();
    }
  } finally {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }
  return 0;
}
