import { parentPort, workerData } from 'node:worker_threads';
import type { SocConfig } from '@soc/config';
import { Metrics, createLogger } from '@soc/telemetry';
import { openBus, openStore } from './backends.ts';
import { startStage, type StageName, type Stoppable } from './stages.ts';
import { setThreadNice } from './thread-nice.ts';

/** Entry of a stage thread (see startStageThread): one stage, its own connections, metrics forwarded. */
const { stage, cfg } = workerData as { stage: StageName; cfg: SocConfig };
const port = parentPort!;
const logger = createLogger('soc').child({ thread: stage });
// The detector runs behind the indexer (see detector.threadNice); the indexer keeps the process's priority.
if (stage === 'detector') {
  const nice = setThreadNice(cfg.detector.threadNice);
  if (nice !== cfg.detector.threadNice) logger.warn({ asked: cfg.detector.threadNice, nice }, 'detector thread priority not set as asked (raising it needs CAP_SYS_NICE)');
}
// Process-wide default metrics (memory, event loop) are reported once, by the main thread; this
// thread's own CPU time is reported under its stage's name.
const metrics = new Metrics({ defaults: false, thread: stage });
const bus = openBus(cfg, logger.child({ component: 'bus' }));
const store = stage === 'indexer' ? openStore(cfg, logger.child({ component: 'store' })) : undefined;
let running: Stoppable | undefined;
const publish = async () => port.postMessage({ metrics: await metrics.registry.getMetricsAsJSON() });
const timer = setInterval(() => void publish(), 1000);

async function close(): Promise<void> {
  clearInterval(timer);
  await running?.stop();
  await publish();
  await store?.close();
  await bus.close();
}

port.on('message', (m: unknown) => {
  if (m !== 'stop') return;
  close()
    .catch((err: unknown) => logger.error({ err }, 'error while stopping the stage'))
    .finally(() => {
      port.postMessage({ stopped: true });
      logger.flush();
      port.close();
    });
});

try {
  running = await startStage(stage, cfg, { bus, store, metrics, logger });
  // Metrics before ready: /metrics then holds this thread's start-up CPU from the moment soc start is ready.
  await publish();
  port.postMessage({ ready: true });
} catch (err) {
  port.postMessage({ error: (err as Error).message });
  clearInterval(timer);
  await store?.close();
  await bus.close();
  port.close();
}
