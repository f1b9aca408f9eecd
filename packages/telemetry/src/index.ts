import { pino, type Logger, type LoggerOptions } from 'pino';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type { Logger } from 'pino';

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

  constructor(opts: { defaults?: boolean } = {}) {
    const r = this.registry;
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
