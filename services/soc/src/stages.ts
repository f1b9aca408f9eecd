import { fileURLToPath } from 'node:url';
import type { Bus } from '@soc/bus';
import type { SocConfig } from '@soc/config';
import { SocError } from '@soc/errors';
import { loadModel, modelsDir } from '@soc/model';
import { loadReference } from '@soc/models/evidence';
import type { AlertStore } from '@soc/store';
import type { Logger, Metrics } from '@soc/telemetry';
import { anomalyAnalyzer, signatureAnalyzer, startDetector, switchingAnalyzer, type Analyzer } from '@soc/svc-detector';
import { startIndexer } from '@soc/svc-indexer';
import { moduleWorker } from './worker.ts';

/** The model trained by `pnpm model:train` and committed with its card (models/README.md). */
export const SHIPPED_MODEL = fileURLToPath(new URL('../../../models/kdd-autoencoder-v1.onnx', import.meta.url));

export interface Stoppable {
  name: string;
  stop(): Promise<void>;
}

/** The detector's own analyzers: signatures, a configured KDD model, the evidence detector (shipped reference or active site model). */
export async function detectorAnalyzers(cfg: SocConfig, metrics: Metrics, logger: Logger): Promise<Analyzer[]> {
  const origin = { soc: cfg.soc.id, country: cfg.soc.country, name: cfg.soc.name };
  const analyzers: Analyzer[] = [signatureAnalyzer({ origin, tlp: 'AMBER' })];
  if (cfg.detector.anomaly) {
    const d = cfg.detector;
    if (d.modelPath) {
      // An NSL-KDD-format ONNX model named in the configuration runs beside the evidence detector;
      // a missing, corrupt or mis-shaped one stops start-up here: never score with garbage.
      const model = await loadModel(d.modelPath);
      logger.info({ model: model.metadata.version, threshold: model.threshold }, 'anomaly model loaded');
      analyzers.push(anomalyAnalyzer({ model, origin, tlp: 'AMBER', metrics, batchSize: d.batchSize, lingerMs: d.lingerMs, groupWindowSeconds: d.groupWindowSeconds }));
    }
    // The evidence detector on the shipped benign reference; a site model activated with
    // `soc model fit` replaces the reference, hot, between batches.
    const shipped = { version: 'evidence-reference-v1', calibration: loadReference() };
    logger.info({ model: shipped.version, threshold: shipped.calibration.threshold }, 'evidence reference loaded');
    analyzers.push(await switchingAnalyzer({ dir: modelsDir(cfg.dataDir), shipped, origin, tlp: 'AMBER', metrics, logger: logger.child({ component: 'detector' }), tracker: { internalCidrs: d.internalCidrs } }));
  }
  return analyzers;
}

export type StageName = 'detector' | 'indexer';

/** Starts a consuming stage on this thread: the detector with its analyzers, or the indexer. */
export async function startStage(stage: StageName, cfg: SocConfig, deps: { bus: Bus; store?: AlertStore; metrics: Metrics; logger: Logger; analyzers?: Analyzer[] }): Promise<Stoppable> {
  const logger = deps.logger.child({ component: stage });
  if (stage === 'detector') {
    const analyzers = [...(await detectorAnalyzers(cfg, deps.metrics, deps.logger)), ...(deps.analyzers ?? [])];
    return { name: stage, ...(await startDetector({ bus: deps.bus, logger, metrics: deps.metrics, analyzers, maxBatchSize: cfg.detector.maxBatch })) };
  }
  if (!deps.store) throw new Error('the indexer stage needs the alert store');
  return { name: stage, ...(await startIndexer({ bus: deps.bus, store: deps.store, logger, metrics: deps.metrics, batchSize: cfg.indexer.batchSize })) };
}

/**
 * The detector's and the indexer's young generation: 32 MiB semi-spaces (V8's default is 16).
 * Each detector batch decodes about 10 MB of events, each indexer batch up to 20,000 alerts
 * (about 30 MB), that die with it; with the default, most scavenges found a batch in flight,
 * copied it and promoted it to the old generation. Measured: about 10% less CPU per event of the
 * detector thread on the 50k realistic mix (64 MiB was no better than the default); for the
 * indexer, +3% in the 100k alert storm over seven alternated pairs (+7-10% in a busier window;
 * 192 MiB no better within noise, and more RSS).
 */
// V8 sizes the young generation as three semi-spaces: 96 MiB = 32 MiB semi-spaces.
const STAGE_HEAP = { maxYoungGenerationSizeMb: 96 };
/**
 * The detector's old generation, capped. Its live state is bounded by its tables (100k pairs at
 * about 1.2 KB, 200k resolutions, 20k hosts: 150-190 MB after 1M events of the realistic mix,
 * measured with the tables full), but without a cap V8 let the heap grow to 670 MB between major
 * GCs, and the process past 1 GiB RSS (1,107-1,177 MiB peak over 1M events). At 768 MB the peak
 * was 780-800 MiB for about 5% more CPU per event (concurrent marking, more often); 512 gave
 * 762 MiB with less headroom for the state.
 */
const DETECTOR_HEAP = { ...STAGE_HEAP, maxOldGenerationSizeMb: 768 };

type FromStage = { ready: true } | { error: string } | { metrics: Parameters<Metrics['absorb']>[1] } | { stopped: true };

/**
 * Runs a consuming stage in its own worker thread, so that its CPU (decoding, features, ONNX,
 * SQLite upserts) and its fsyncs use the second core instead of stalling HTTP ingest. The
 * thread opens its own bus and store connections (SQLite WAL allows several), so records still
 * meet only on the bus; it forwards its metrics into this process's /metrics every second.
 * Resolves once the stage consumes; rejects with the stage's start-up error (a bad model).
 */
export async function startStageThread(stage: StageName, cfg: SocConfig, metrics: Metrics, logger: Logger): Promise<Stoppable> {
  const worker = moduleWorker(new URL('./stage-worker.ts', import.meta.url), { stage, cfg }, stage === 'detector' ? DETECTOR_HEAP : STAGE_HEAP);
  let stopped: (() => void) | undefined;
  const exited = new Promise<number>((res) => worker.once('exit', res));
  await new Promise<void>((resolve, reject) => {
    worker.on('message', (m: FromStage) => {
      if ('ready' in m) resolve();
      else if ('error' in m) reject(new SocError(m.error));
      else if ('metrics' in m) metrics.absorb(stage, m.metrics);
      else if ('stopped' in m) stopped?.();
    });
    worker.once('error', (err) => {
      logger.fatal({ err, stage }, 'stage thread failed');
      reject(err);
    });
    void exited.then((code) => reject(new SocError(`${stage} thread exited with ${code} before it was ready`)));
  });
  return {
    name: `${stage}-thread`,
    async stop() {
      // The stage drains its batch in flight and commits, then closes its connections.
      const done = new Promise<void>((res) => (stopped = res));
      worker.postMessage('stop');
      await Promise.race([done, exited]);
      // A drained thread exits by itself; one that hangs on a native handle is ended.
      await Promise.race([exited, new Promise((r) => setTimeout(r, 2000).unref())]);
      await worker.terminate();
    },
  };
}
