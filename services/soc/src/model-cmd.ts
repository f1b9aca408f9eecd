import { parseArgs } from 'node:util';
import { loadConfig } from '@soc/config';
import { ConfigError } from '@soc/errors';
import { activateModel, listModelVersions, modelsDir, rollbackModel } from '@soc/model';
import { fitSite } from '@soc/models/site';
import { describeReference } from '@soc/models/evidence';
import { flowFromEvent } from '@soc/features';
import { EcsEvent, TOPICS, decodeJson } from '@soc/schema';
import { createLogger } from '@soc/telemetry';
import type { SocConfig } from '@soc/config';
import { openBus } from './backends.ts';
import { budgetFromFlags, contextsOf, flowsOf, readZeekEvents } from './eval-conn.ts';

/**
 * The flow events of the bus's event topic with `@timestamp` in [from, to), in time order: the
 * baseline as the detector saw it, for sites that keep no Zeek files. Only what retention kept.
 */
export async function readTopicEvents(cfg: SocConfig, from: number, to: number): Promise<EcsEvent[]> {
  const bus = openBus(cfg, createLogger('soc-model', { level: 'warn' }));
  const events: EcsEvent[] = [];
  try {
    const partitions = cfg.bus.kind === 'embedded' ? Math.max(1, cfg.topics.partitions) : cfg.topics.partitions;
    for (let partition = 0; partition < partitions; partition++) {
      for (let offset = 0; ; ) {
        const page = await bus.read(TOPICS.events, { partition, fromOffset: offset, limit: 5000 });
        if (!page.length) break;
        for (const r of page) {
          const d = decodeJson(EcsEvent, r.value, 'event');
          if (!d.ok || !flowFromEvent(d.value)) continue;
          const t = Date.parse(d.value['@timestamp']);
          if (t >= from && t < to) events.push(d.value);
        }
        offset = page.at(-1)!.offset + 1;
      }
    }
  } finally {
    await bus.close();
  }
  return events.sort((a, b) => Date.parse(a['@timestamp']) - Date.parse(b['@timestamp']));
}

function timeFlag(v: string | undefined, name: string, fallback: number): number {
  if (v === undefined) return fallback;
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new ConfigError(`--${name} must be an ISO 8601 time, got "${v}"`, name);
  return t;
}

const out = (x: unknown) => process.stdout.write(JSON.stringify(x) + '\n');

/** A sortable, filesystem-safe version name: site-YYYYMMDDTHHMMSSZ. */
export const versionName = (now: Date): string => `site-${now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}`;

/**
 * `soc model fit FILE... | list | rollback [VERSION]`. Fit replays the Zeek conn logs in time
 * order, fits the site model robustly (the baseline may hold attacks), calibrates it to the
 * budget, writes DATA_DIR/models/<version>.onnx + .json and makes it active; a running detector
 * picks it up between two batches. `--from/--to` fits on the bus's flow topic instead of files.
 */
export async function modelCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: { 'data-dir': { type: 'string' }, config: { type: 'string' }, name: { type: 'string' }, 'alerts-per-day': { type: 'string' }, from: { type: 'string' }, to: { type: 'string' } },
  });
  const cfg = loadConfig({ file: values.config, overrides: values['data-dir'] ? { dataDir: values['data-dir'] } : {} });
  const dir = modelsDir(cfg.dataDir);
  switch (sub) {
    case 'fit': {
      const fromTopic = values.from !== undefined || values.to !== undefined;
      if (!positionals.length && !fromTopic) throw new ConfigError('model fit needs Zeek conn logs, or --from/--to for the flow topic', 'file');
      if (positionals.length && fromTopic) throw new ConfigError('give Zeek conn logs or --from/--to, not both', 'file');
      const version = values.name ?? versionName(new Date());
      if (!/^[A-Za-z0-9._-]{1,128}$/.test(version)) throw new ConfigError('--name may use letters, digits, . _ - only', 'name');
      const from = timeFlag(values.from, 'from', 0);
      const to = timeFlag(values.to, 'to', Date.now() + 86_400_000);
      const events = fromTopic ? await readTopicEvents(cfg, from, to) : await readZeekEvents(positionals);
      if (!events.length) throw new ConfigError('no flow events to fit on', fromTopic ? 'from' : 'file');
      const sources = fromTopic ? [`topic:${TOPICS.events}[${new Date(from).toISOString()}, ${new Date(to).toISOString()})`] : positionals;
      const budget = budgetFromFlags(values);
      const { metadata } = await fitSite(flowsOf(events), dir, { version, sources, contexts: contextsOf(events), tracker: { internalCidrs: cfg.detector.internalCidrs }, ...(budget ? { budget } : {}) });
      await activateModel(dir, version);
      out({ fitted: version, active: true, dir, threshold: metadata.site.threshold, budget: metadata.site.budget, baseline: metadata.site.baseline });
      return 0;
    }
    case 'list':
      out({ dir, models: await listModelVersions(dir, cfg.detector.modelPath ?? describeReference()) });
      return 0;
    case 'rollback':
      out({ active: await rollbackModel(dir, positionals[0]) });
      return 0;
    default:
      throw new ConfigError('usage: soc model fit FILE... | list | rollback [VERSION]', 'model');
  }
}
