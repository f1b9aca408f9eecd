import { pino, type Logger, type LoggerOptions } from 'pino';
import { AggregatorRegistry, Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import { threadCpuSeconds } from './thread-cpu.ts';

export type { Logger } from 'pino';
export { cpuSecondsOfStat, threadCpuSeconds } from './thread-cpu.ts';

/** Structured logs, one JSON line per event, to stderr so stdout stays free for machine output. */
export function createLogger(name: string, opts: LoggerOptions = {}): Logger {
  return pino(
    {
      name,
      level: process.env.SOC_LOG_LEVEL ?? 'info',
      base: { service: name },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: ['*.token', '*.authorization', 'headers.authorization', '*.password', '*.api_key'], censor: '[redacted]' },
      ...opts,
    },
    pino.destination({ fd: 2, sync: false }),
  );
}

/** The pipeline's metrics, one registry per process, shared by every service it runs. */
export class Metrics {
  readonly registry = new Registry();
  readonly eventsIn: Counter<'source' | 'format'>;
  readonly eventsRejected: Counter<'source' | 'reason'>;
  readonly alertsOut: Counter<'detector'>;
  readonly alertsIndexed: Counter;
  readonly consumerLag: Gauge<'group' | 'topic'>;
  readonly storeLatency: Histogram<'operation'>;
  readonly busLatency: Histogram<'operation'>;
  readonly httpRequests: Counter<'service' | 'route' | 'status'>;
  readonly federation: Counter<'direction' | 'outcome' | 'reason'>;
  readonly flowsScored: Counter;
  readonly consumerDeadLetters: Counter<'group' | 'topic' | 'stage'>;
  readonly queueDepth: Gauge<'stage'>;
  /** CPU seconds of each thread of the process that reports them: the stage that saturates its core shows here. */
  readonly threadCpu: Counter<'thread'>;
  private readonly threadCpuSeen = new Map<string, number>();
  /** Latest snapshots of this process's worker threads (detector, indexer), by thread. */
  private readonly threads = new Map<string, MetricObjectWithValues<MetricValue<string>>[]>();

  /**
   * `thread`: the name under which the thread that owns this registry reports its own CPU time on
   * every scrape (default `main`; a stage thread passes its stage); other threads report through
   * `reportThreadCpu`.
   */
  constructor(opts: { defaults?: boolean; thread?: string } = {}) {
    const r = this.registry;
    const self = opts.thread ?? 'main';
    if (opts.defaults !== false) collectDefaultMetrics({ register: r, prefix: 'soc_process_' });
    this.eventsIn = new Counter({ name: 'soc_events_in_total', help: 'Events accepted onto the bus', labelNames: ['source', 'format'], registers: [r] });
    this.eventsRejected = new Counter({ name: 'soc_events_rejected_total', help: 'Input lines dead-lettered', labelNames: ['source', 'reason'], registers: [r] });
    this.alertsOut = new Counter({ name: 'soc_alerts_out_total', help: 'Alerts produced by detectors', labelNames: ['detector'], registers: [r] });
    this.alertsIndexed = new Counter({ name: 'soc_alerts_indexed_total', help: 'Alerts written to the alert store', registers: [r] });
    this.consumerLag = new Gauge({ name: 'soc_consumer_lag', help: 'Records not yet committed by a consumer group', labelNames: ['group', 'topic'], registers: [r] });
    this.storeLatency = new Histogram({ name: 'soc_store_latency_seconds', help: 'Alert store operation latency', labelNames: ['operation'], buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5], registers: [r] });
    this.busLatency = new Histogram({ name: 'soc_bus_latency_seconds', help: 'Bus operation latency', labelNames: ['operation'], buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1], registers: [r] });
    this.httpRequests = new Counter({ name: 'soc_http_requests_total', help: 'HTTP requests by route and status', labelNames: ['service', 'route', 'status'], registers: [r] });
    this.federation = new Counter({ name: 'soc_federation_messages_total', help: 'Federation envelopes by direction and outcome', labelNames: ['direction', 'outcome', 'reason'], registers: [r] });
    this.flowsScored = new Counter({ name: 'soc_flows_scored_total', help: 'Flow events scored by the anomaly model', registers: [r] });
    this.consumerDeadLetters = new Counter({ name: 'soc_consumer_dead_letters_total', help: 'Poison bus records a consumer gave up on and dead-lettered', labelNames: ['group', 'topic', 'stage'], registers: [r] });
    this.queueDepth = new Gauge({ name: 'soc_queue_depth', help: 'Work waiting in a bounded in-process queue (events), by stage', labelNames: ['stage'], registers: [r] });
    const report = (thread: string, seconds: number | undefined) => this.reportThreadCpu(thread, seconds);
    this.threadCpu = new Counter({
      name: 'soc_thread_cpu_seconds_total',
      help: 'CPU time (user + system) used by each thread of this process (Linux), by thread: main, parser-<n>, detector, indexer',
      labelNames: ['thread'],
      registers: [r],
      collect: () => report(self, threadCpuSeconds()),
    });
  }

  /** Takes a thread's cumulative CPU seconds (its `threadCpuSeconds()`) into `soc_thread_cpu_seconds_total`. */
  reportThreadCpu(thread: string, seconds: number | undefined): void {
    if (seconds === undefined) return;
    const delta = seconds - (this.threadCpuSeen.get(thread) ?? 0);
    if (delta <= 0) return;
    this.threadCpuSeen.set(thread, seconds);
    this.threadCpu.inc({ thread }, delta);
  }

  /** Takes a worker thread's metrics snapshot (its registry's getMetricsAsJSON) into /metrics. */
  absorb(thread: string, snapshot: MetricObjectWithValues<MetricValue<string>>[]): void {
    this.threads.set(thread, snapshot);
  }

  /** Prometheus text of this registry, with the worker threads' counters summed in. */
  async render(): Promise<string> {
    if (this.threads.size === 0) return this.registry.metrics();
    return AggregatorRegistry.aggregate([await this.registry.getMetricsAsJSON(), ...this.threads.values()]).metrics();
  }

  /** Times an async operation into a histogram. */
  async time<T>(h: Histogram<'operation'>, operation: string, fn: () => Promise<T>): Promise<T> {
    const end = h.startTimer({ operation });
    try {
      return await fn();
    } finally {
      end();
    }
  }
}
