import { parseArgs } from 'node:util';
import { loadConfig } from '@soc/config';
import { ConfigError } from '@soc/errors';
import { activateModel, listModelVersions, modelsDir, rollbackModel } from '@soc/model';
import { fitSite } from '@soc/models/site';
import { budgetFromFlags, flowsOf, readConnEvents } from './eval-conn.ts';

const out = (x: unknown) => process.stdout.write(JSON.stringify(x) + '\n');

/** A sortable, filesystem-safe version name: site-YYYYMMDDTHHMMSSZ. */
export const versionName = (now: Date): string => `site-${now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}`;

/**
 * `soc model fit FILE... | list | rollback [VERSION]`. Fit replays the Zeek conn logs in time
 * order, fits the site model robustly (the baseline may hold attacks), calibrates it to the
 * budget, writes DATA_DIR/models/<version>.onnx + .json and makes it active; a running detector
 * picks it up between two batches. Fitting from the bus's flow topic is not implemented.
 */
export async function modelCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: { 'data-dir': { type: 'string' }, config: { type: 'string' }, name: { type: 'string' }, 'alerts-per-day': { type: 'string' }, fpr: { type: 'string' } },
  });
  const cfg = loadConfig({ file: values.config, overrides: values['data-dir'] ? { dataDir: values['data-dir'] } : {} });
  const dir = modelsDir(cfg.dataDir);
  switch (sub) {
    case 'fit': {
      if (!positionals.length) throw new ConfigError('model fit needs at least one Zeek conn log', 'file');
      const version = values.name ?? versionName(new Date());
      if (!/^[A-Za-z0-9._-]{1,128}$/.test(version)) throw new ConfigError('--name may use letters, digits, . _ - only', 'name');
      const events = await readConnEvents(positionals);
      const budget = budgetFromFlags(values);
      const { metadata } = await fitSite(flowsOf(events), dir, { version, sources: positionals, ...(budget ? { budget } : {}) });
      await activateModel(dir, version);
      out({ fitted: version, active: true, dir, threshold: metadata.site.threshold, budget: metadata.site.budget, baseline: metadata.site.baseline });
      return 0;
    }
    case 'list':
      out({ dir, models: await listModelVersions(dir) });
      return 0;
    case 'rollback':
      out({ active: await rollbackModel(dir, positionals[0]) });
      return 0;
    default:
      throw new ConfigError('usage: soc model fit FILE... | list | rollback [VERSION]', 'model');
  }
}
