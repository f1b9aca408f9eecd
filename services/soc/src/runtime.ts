import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Server as TlsServer } from 'node:tls';
import type { Bus } from '@soc/bus';
import { TokenVerifier, credentialsFromEnv, ensureCredentials, type SocConfig } from '@soc/config';
import { createHttpHandler, listen, opsRoutes, reloadTls, type Route, type WebTls } from '@soc/http';
import { CidrSet } from '@soc/netaddr';
import { TOPICS } from '@soc/schema';
import type { AlertStore } from '@soc/store';
import { Metrics, type Logger } from '@soc/telemetry';
import { AuthDb, SessionAuthorizer } from '@soc/auth';
import { loadTrustList } from '@soc/federation';
import { LiveStreams, SECURITY_HEADERS, apiRoutes, consoleRoutes } from '@soc/svc-api';
import { Backpressure, BusIngest, collectorRoutes, startSyslogServer, startTailer } from '@soc/svc-collector';
import type { Analyzer } from '@soc/svc-detector';
import { listModelVersions, modelsDir, rollbackModel } from '@soc/model';
import { openBus, openStore, topicSpecs } from './backends.ts';
import { startFederationParts } from './federation.ts';
import { startStage, startStageThread, type Stoppable } from './stages.ts';
import { OUTBOUND_GROUP } from '@soc/svc-federation';
import { lockDataDir } from './data-dir-lock.ts';
import { ParsePool } from './parse-pool.ts';

import { SHIPPED_MODEL } from './stages.ts';
import { describeReference } from '@soc/models/evidence';
export { SHIPPED_MODEL };

import type { ServiceName } from './service-names.ts';
export { SERVICES, type ServiceName } from './service-names.ts';

export interface Running {
  urls: Partial<Record<'api' | 'collector' | 'ops', string>>;
  credentialsPath: string;
  credentialsCreated: boolean;
  /** The initial console user whose password is in the credentials file, when it was just created. */
  initialAdmin?: string;
  /** Bound syslog ports when the syslog source runs (port 0 in config picks free ones). */
  syslog?: { udpPort?: number; tcpPort?: number; tlsPort?: number; udpRecvBufferSize?: number; udpReceiverNice?: number };
  bus: Bus;
  store?: AlertStore;
  /** SIGHUP: TLS listeners re-read their certificate, key and client CA; open connections stay. */
  reload(): void;
  stop(): Promise<void>;
}


const INDEXER_GROUP = 'soc-indexer';
const CONSUMER_GROUPS: [string, string][] = [
  ['soc-detector', TOPICS.events],
  [INDEXER_GROUP, TOPICS.alerts],
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

let guarded = false;

/**
 * Last resort, once per process: the HTTP layer and every consumer handle their own errors, so
 * reaching here is a bug. An unhandled rejection is logged with its stack and the services go on
 * (one forgotten promise must not take every service down); an uncaught exception leaves the
 * process in an unknown state, so it is logged as fatal and the process exits 1 for the
 * supervisor to restart it (the data-dir lock is released on exit).
 */
function guardProcess(logger: Logger): void {
  if (guarded) return;
  guarded = true;
  process.on('unhandledRejection', (err) => logger.error({ err }, 'bug: unhandled promise rejection'));
  process.on('uncaughtException', (err) => {
    logger.fatal({ err }, 'bug: uncaught exception; exiting');
    logger.flush(() => process.exit(1));
    setTimeout(() => process.exit(1), 1000).unref();
  });
}

/**
 * Starts the named services in this process. With all of them on one port it is `soc start`;
 * with one it is a scale-out container. Stops in reverse order: HTTP first (no new input),
 * then consumers drain their batch in flight and commit, then the backends close.
 */
export async function startServices(cfg: SocConfig, services: readonly ServiceName[], logger: Logger, extraAnalyzers: Analyzer[] = []): Promise<Running> {
  guardProcess(logger);
  mkdirSync(cfg.dataDir, { recursive: true, mode: 0o700 });
  // First, before any file in the data directory is opened: a second soc on the same embedded
  // bus or store files stops here. Scale-out services on Kafka and a search engine may share one
  // data directory (credentials, auth.db in WAL mode), so they take no lock.
  // A start-up that fails below leaves it to the exit handler, which releases it too.
  const lock = cfg.bus.kind === 'embedded' || cfg.store.kind === 'embedded' ? lockDataDir(cfg.dataDir) : undefined;
  const creds = ensureCredentials(cfg.dataDir);
  const auth = new AuthDb(join(cfg.dataDir, 'auth.db'));
  let initialAdmin: string | undefined;
  if (!auth.hasUsers()) {
    for (const u of creds.users) await auth.addUser(u.name, u.role, u.password);
    initialAdmin = creds.users[0]?.name;
  }
  const verifier = new SessionAuthorizer(new TokenVerifier([...creds.credentials, ...credentialsFromEnv(process.env)]), auth);
  const metrics = new Metrics();
  const bus = openBus(cfg, logger.child({ component: 'bus' }));
  const stack: Stoppable[] = [{ name: 'data-dir-lock', stop: async () => lock?.release() }, { name: 'auth', stop: async () => auth.close() }, { name: 'bus', stop: () => bus.close() }];
  const reloaders: { name: string; reload(): void }[] = [];
  const reload = () => {
    for (const r of reloaders) {
      try {
        r.reload();
        logger.info({ component: r.name }, 'TLS certificate reloaded');
      } catch (err) {
        logger.error({ err, component: r.name }, 'TLS reload failed: the previous certificate stays in use');
      }
    }
  };
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
      const log = logger.child({ component: 'collector' });
      // Parsing in its own threads; stopped after the HTTP servers and sources (pushed before them).
      const cidrs = cfg.detector.internalCidrs;
      const pool = c.parseThreads > 0 ? await ParsePool.start(c.parseThreads, { internalCidrs: cidrs, preserveOriginal: c.preserveOriginal, nice: c.parseThreadNice }, log, metrics) : undefined;
      if (pool) stack.push({ name: 'parser-threads', stop: () => pool.close() });
      const ingest = new BusIngest(producer, metrics, log, { internal: cidrs.length ? new CidrSet(cidrs) : undefined, preserveOriginal: c.preserveOriginal }, pool?.parse);
      if (c.syslog.enabled) {
        const y = c.syslog;
        const s = await startSyslogServer({
          ingest, host: y.host, udpPort: y.udpPort, tcpPort: y.tcpPort, tls: y.tls, maxMessageBytes: y.maxMessageBytes, logger: log, registry: metrics.registry,
          batchSize: y.batchSize, lingerMs: y.lingerMs, recvBufferSize: y.recvBufferSize, udpMaxQueuedBytes: y.udpMaxQueuedBytes, udpReceiverNice: y.udpReceiverNice, maxConnections: y.maxConnections, idleTimeoutMs: y.idleTimeoutSeconds * 1000,
        });
        stack.push({ name: 'syslog', stop: () => s.close() });
        if (y.tls) reloaders.push({ name: 'syslog-tls', reload: () => s.reloadTls() });
        syslog = { udpPort: s.udpPort, tcpPort: s.tcpPort, tlsPort: s.tlsPort, udpRecvBufferSize: s.udpRecvBufferSize, udpReceiverNice: s.udpReceiverNice };
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
    const streams = new LiveStreams();
    if (services.includes('api') && store) {
      const trustFile = cfg.federation.trustListFile;
      const console_ = consoleRoutes({
        store,
        bus,
        auth,
        streams,
        logger: logger.child({ component: 'console' }),
        indexerGroup: INDEXER_GROUP,
        self: cfg.soc.id,
        trustList: trustFile ? () => loadTrustList(trustFile) : undefined,
        rollbackModel: (version) => rollbackModel(modelsDir(cfg.dataDir), version),
        secureCookies: cfg.api.tls !== undefined,
      });
      // Console routes first: /v1/alerts/stream must win over /v1/alerts/:id.
      routes.api = [...console_, ...apiRoutes({ store, bus, metrics, models: () => listModelVersions(modelsDir(cfg.dataDir), cfg.detector.modelPath ?? describeReference()) }), ...federation.routes];
    }

    const urls: Running['urls'] = {};
    const serve = async (name: string, host: string, port: number, r: Route[], tls?: WebTls) => {
      const handler = createHttpHandler({ service: name, routes: [...r, ...opsRoutes(metrics, health)], verifier, responseHeaders: SECURITY_HEADERS, logger: logger.child({ component: `http-${name}` }), metrics, rateLimitPerSecond: cfg.api.rateLimitPerSecond });
      const server = await listen(handler, host, port, tls);
      stack.push({ name: `http-${name}`, stop: server.close });
      if (tls) reloaders.push({ name: `https-${name}`, reload: () => reloadTls(server.server as TlsServer, tls.config, tls.field) });
      return server.url;
    };
    const apiTls: WebTls | undefined = cfg.api.tls && { config: cfg.api.tls, field: 'api.tls' };
    const collectorTls: WebTls | undefined = cfg.collector.tls && { config: cfg.collector.tls, field: 'collector.tls' };
    const both = routes.collector.length > 0 && routes.api.length > 0;
    if (both) {
      // One process, one port: the collector's and the analysts' routes side by side.
      urls.api = urls.collector = await serve('soc', cfg.api.host, cfg.api.port, [...routes.collector, ...routes.api], apiTls ?? collectorTls);
    } else {
      if (routes.collector.length) urls.collector = await serve('collector', cfg.collector.host, cfg.collector.port, routes.collector, collectorTls);
      if (routes.api.length) urls.api = await serve('api', cfg.api.host, cfg.api.port, routes.api, apiTls);
    }
    // Services without HTTP of their own (detector, indexer) still answer /healthz and /metrics.
    if (!urls.api && !urls.collector) urls.ops = await serve('ops', cfg.api.host, cfg.api.port, [], apiTls);
    // Stopped before the HTTP servers: an open event stream would keep a server from closing.
    stack.push({ name: 'live-streams', stop: () => streams.stop() });
    return { urls, credentialsPath: creds.path, credentialsCreated: creds.created, initialAdmin, syslog, bus, store, reload, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
