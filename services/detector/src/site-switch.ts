import { watch, mkdirSync, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { SHIPPED_VERSION, readActive } from '@soc/model';
import { EvidenceTracker, type EvidenceOptions } from '@soc/signals';
import type { Logger, Metrics } from '@soc/telemetry';
import type { Analyzer } from './detector.ts';
import type { AlertContext } from './signatures.ts';
import { evidenceAnalyzer, type EvidenceModel } from './evidence.ts';
import { loadSiteModel } from './site.ts';

export interface SwitchOptions extends AlertContext {
  /** The registry directory (DATA_DIR/models) whose active.json names the site model. */
  dir: string;
  /** What runs while no site model is active: the shipped evidence reference. */
  shipped: EvidenceModel;
  logger: Logger;
  metrics?: Metrics;
  pollMs?: number;
  /** Evidence tracker settings (internal CIDRs, caps); must match those the models were fitted with. */
  tracker?: EvidenceOptions;
}

/**
 * The detector's model slot. It watches active.json (fs.watch, plus polling because fs.watch is
 * unreliable on some filesystems), loads a newly activated site model in the background, and
 * swaps it in only at the start of a batch: a batch is scored by exactly one model, so no event
 * is lost or scored twice across a switch. The evidence (pairs, beacons, DNS) survives the switch.
 */
export async function switchingAnalyzer(o: SwitchOptions): Promise<Analyzer> {
  mkdirSync(o.dir, { recursive: true });
  let current: EvidenceModel | null = null;
  let pending: EvidenceModel | null = null;
  let wanted: string | null = null;
  /** The pointer names the shipped model again (rollback): drop the site model at the next batch. */
  let revert = false;
  let checking: Promise<void> = Promise.resolve();
  const tracker = new EvidenceTracker({ ...o.tracker, usage: o.shipped.calibration.usage });
  const analyzer = evidenceAnalyzer({ current: () => current ?? o.shipped, tracker, origin: o.origin, tlp: o.tlp, ...(o.metrics ? { metrics: o.metrics } : {}) });
  const check = async (): Promise<void> => {
    try {
      const pointer = (await readActive(o.dir))?.version ?? null;
      const version = pointer === SHIPPED_VERSION ? null : pointer;
      if (version === wanted) return;
      wanted = version;
      if (version === null) {
        revert = current !== null || pending !== null;
        return;
      }
      revert = false;
      const next = await loadSiteModel(join(o.dir, `${version}.onnx`));
      if (pending) await pending.model?.close();
      pending = next;
    } catch (err) {
      o.logger.error({ err, dir: o.dir }, 'site model not loaded; keeping the current model');
    }
  };
  const schedule = () => (checking = checking.then(check));
  schedule();
  await checking;
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(o.dir, () => schedule());
  } catch (err) {
    o.logger.warn({ err }, 'cannot watch the model directory; polling only');
  }
  const timer = setInterval(schedule, o.pollMs ?? 2000);
  timer.unref();
  return {
    name: 'site-switch',
    async analyze(events) {
      if (revert) {
        revert = false;
        o.logger.info({ from: current?.version ?? pending?.version, to: o.shipped.version }, 'detector switched model');
        await current?.model?.close();
        await pending?.model?.close();
        current = pending = null;
        tracker.usage = o.shipped.calibration.usage;
      }
      if (pending) {
        const old = current;
        current = pending;
        pending = null;
        tracker.usage = current.calibration.usage;
        o.logger.info({ from: old?.version ?? o.shipped.version, to: current.version, threshold: current.calibration.threshold }, 'detector switched model');
        await old?.model?.close();
      }
      return analyzer.analyze(events);
    },
    async close() {
      clearInterval(timer);
      watcher?.close();
      await checking;
      await current?.model?.close();
      await pending?.model?.close();
    },
  };
}
