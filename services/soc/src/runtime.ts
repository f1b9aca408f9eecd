import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Bus } from '@soc/bus';
import { TokenVerifier, credentialsFromEnv, ensureCredentials, type SocConfig } from '@soc/config';
import { createHttpHandler, listen, opsRoutes, type Route } from '@soc/http';
import { TOPICS } from '@soc/schema';
import type { AlertStore } from '@soc/store';
import { Metrics, type Logger } from '@soc/telemetry';
import { apiRoutes } from '@soc/svc-api';
import { Backpressure, BusIngest, collectorRoutes, startSyslogServer, startTailer } from '@soc/svc-collector';
import type { Analyzer } from '@soc/svc-detector';
import { listModelVersions, modelsDir } from '@soc/model';
import { openBus, openStore, topicSpecs } from './backends.ts';
import { startFederationParts } from './federation.ts';
import { startStage, startStageThread, type Stoppable } from './stages.ts';
import { OUTBOUND_GROUP } from '@soc/svc-federation';

import { SHIPPED_MODEL } from './stages.ts';
export { SHIPPED_MODEL };

export const SERVICES = ['collector', 'detector', 'indexer', 'api', 'federation'] as const;
export type ServiceName = (typeof SERVICES)[number];

export interface Running {
  urls: Partial<Record<'api' | 'collector' | 'ops', string>>;
  credentialsPath: string;
  credentialsCreated: boolean;
  /** Bound syslog ports when the syslog source runs (port 0 in config picks free ones). */
  syslog?: { udpPort?: number; tcpPort?: number };
  bus: Bus;
  store?: AlertStore;
  stop(): Promise<void>;
}


const CONSUMER_GROUPS: [string, string][] = [
  ['soc-detector', TOPICS.events],
  ['soc-indexer', TOPICS.alerts],
];

function startLagMonitor(bus: Bus, metrics: Metrics, logger: Logger, groups: [string, string][], intervalMs = 5000): Stoppable {
  const tick = async () => {
    for (const [group, topic] of groups) {
      const parts = await bus.lag(group, topic);
      metrics.consumerLag.set({ group, topic }, parts.reduce((s, p) => s + p.lag, 0));
    }
  };
  const timer = setInterval(() => void tick().catch((err: unknown) => logger.warn({ err }, 'lag check failed')), intervalMs);
  timer.unref();
  return { name: 'lag-monitor', stop: async () => clearInterval(timer) };
}

/**
 * Starts the named services in this process. With all of them on one port it is `soc start`;
 * with one it is a scale-out container. Stops in reverse order: HTTP first (no new input),
 * then consumers drain their batch in flight and commit, then the backends close.
 */
export async function startServices(cfg: SocConfig, services: readonly ServiceName[], logger: Logger, extraAnalyzers: Analyzer[] = []): Promise<Running> {
  mkdirSync(cfg.dataDir, { recursive: true, mode: 0o700 });
  const creds = ensureCredentials(cfg.dataDir);
  const verifier = new TokenVerifier([...creds.credentials, ...credentialsFromEnv(process.env)]);
  const metrics = new Metrics();
  const bus = openBus(cfg, logger.child({ component: 'bus' }));
  const stack: Stoppable[] = [{ name: 'bus', stop: () => bus.close() }];
  const stopAll = async () => {
    for (const s of stack.reverse()) {
      try {
        await s.stop();
      } catch (err) {
        logger.error({ err, component: s.name }, 'error while stopping');
      }
    }
    stack.length = 0;
  };
  try {
    await bus.ensureTopics(topicSpecs(cfg));
    const needsStore = services.includes('indexer') || services.includes('api');
    const store = needsStore ? openStore(cfg, logger.child({ component: 'store' })) : undefined;
    if (store) stack.push({ name: 'store', stop: () => store.close() });
    // Before the detector: a first start must not produce alerts the federation consumer skips.
    const federation = await startFederationParts(cfg, services, bus, store, metrics, logger);
    stack.push(...federation.stoppables);

    // Several services in one process (soc start): the consuming stages get their own threads.
    const threads = services.length > 1;
    if (services.includes('detector')) {
      const own = [...federation.analyzers, ...extraAnalyzers];
      // Partner-indicator and injected analyzers hold this thread's handles: they keep the detector here.
      if (threads && cfg.detector.thread && own.length === 0) stack.push(await startStageThread('detector', cfg, metrics, logger));
      else stack.push(await startStage('detector', cfg, { bus, metrics, logger, analyzers: own }));
    }
    if (services.includes('indexer') && store) {
      if (threads && cfg.indexer.thread) stack.push(await startStageThread('indexer', cfg, metrics, logger));
      else stack.push(await startStage('indexer', cfg, { bus, store, metrics, logger }));
    }
    // The federation's inbound group reads the shared bus; its outbound group reads ours.
    stack.push(startLagMonitor(bus, metrics, logger, cfg.federation.enabled ? [...CONSUMER_GROUPS, [OUTBOUND_GROUP, TOPICS.alerts]] : CONSUMER_GROUPS));

    const health = async () => ({ bus: true, ...(store ? { store: await store.ping() } : {}) });
    const routes: { collector: Route[]; api: Route[] } = { collector: [], api: [] };
    let syslog: Running['syslog'];
    if (services.includes('collector')) {
      const producer = await bus.producer();
      stack.push({ name: 'collector-producer', stop: () => producer.close() });
      const c = cfg.collector;
      const ingest = new BusIngest(producer, metrics, logger.child({ component: 'collector' }));
      const log = logger.child({ component: 'collector' });
      if (c.syslog.enabled) {
        const s = await startSyslogServer({ ingest, host: c.syslog.host, udpPort: c.syslog.udpPort, tcpPort: c.syslog.tcpPort, maxMessageBytes: c.syslog.maxMessageBytes, logger: log });
        stack.push({ name: 'syslog', stop: () => s.close() });
        syslog = { udpPort: s.udpPort, tcpPort: s.tcpPort };
      }
      if (c.tail.length) {
        const t = await startTailer({ ingest, files: c.tail, checkpointPath: join(cfg.dataDir, 'tail-checkpoints.json'), pollIntervalMs: 500, logger: log, maxLineBytes: c.maxLineBytes });
        stack.push({ name: 'tailer', stop: () => t.close() });
      }
      // The stages this process runs are the queues behind the collector (a lone collector bounds its requests only).
      const behind = CONSUMER_GROUPS.filter(([group]) => services.includes(group === 'soc-detector' ? 'detector' : 'indexer'));
      const backlog = async () => Object.fromEntries(await Promise.all(behind.map(async ([group, topic]) => [group.replace('soc-', ''), (await bus.lag(group, topic)).reduce((n, p) => n + p.lag, 0)] as const)));
      const backpressure = new Backpressure({ maxInFlight: c.maxInFlightRequests, maxBacklog: c.maxBacklog, backlog, metrics, logger: log });
      stack.push({ name: 'backpressure', stop: async () => backpressure.close() });
      routes.collector = collectorRoutes({ ingest, producer, maxBodyBytes: c.maxBodyBytes, maxLineBytes: c.maxLineBytes, maxLinesPerRequest: c.maxLinesPerRequest, eventsPerSecond: c.rateLimit.eventsPerSecond, burst: c.rateLimit.burst, backpressure });
    }
    if (services.includes('api') && store) routes.api = [...apiRoutes({ store, bus, metrics, models: () => listModelVersions(modelsDir(cfg.dataDir), cfg.detector.modelPath ?? SHIPPED_MODEL) }), ...federation.routes];

    const urls: Running['urls'] = {};
    const serve = async (name: string, host: string, port: number, r: Route[]) => {
      const handler = createHttpHandler({ service: name, routes: [...r, ...opsRoutes(metrics, health)], verifier, logger: logger.child({ component: `http-${name}` }), metrics, rateLimitPerSecond: cfg.api.rateLimitPerSecond });
      const server = await listen(handler, host, port);
      stack.push({ name: `http-${name}`, stop: server.close });
      return server.url;
    };
    const both = routes.collector.length > 0 && routes.api.length > 0;
    if (both) {
      // One process, one port: the collector's and the analysts' routes side by side.
      urls.api = urls.collector = await serve('soc', cfg.api.host, cfg.api.port, [...routes.collector, ...routes.api]);
    } else {
      if (routes.collector.length) urls.collector = await serve('collector', cfg.collector.host, cfg.collector.port, routes.collector);
      if (routes.api.length) urls.api = await serve('api', cfg.api.host, cfg.api.port, routes.api);
    }
    // Services without HTTP of their own (detector, indexer) still answer /healthz and /metrics.
    if (!urls.api && !urls.collector) urls.ops = await serve('ops', cfg.api.host, cfg.api.port, []);
    return { urls, credentialsPath: creds.path, credentialsCreated: creds.created, syslog, bus, store, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
