import { HttpError, type Route } from '@soc/http';
import type { Logger, Metrics } from '@soc/telemetry';

export interface BackpressureOptions {
  /** Ingest requests handled at once; each holds its body in memory until it is durable. */
  maxInFlight: number;
  /** Events the pipeline may have accepted but not yet consumed before the collector refuses more. */
  maxBacklog: number;
  /** Records waiting per consuming stage (consumer lag), e.g. detector and indexer. */
  backlog: () => Promise<Record<string, number>>;
  metrics: Metrics;
  logger: Logger;
  intervalMs?: number;
}

/**
 * Admission control for the collector: when the pipeline falls behind, a sensor gets 503 +
 * Retry-After (and keeps its data) instead of the collector growing memory or the backlog
 * growing without bound. Two bounded queues: requests in flight (bodies in memory) and the
 * consumer lag of each stage behind the collector (events on the durable bus, checked on a
 * timer so the request path stays cheap). Their depths are in /metrics as soc_queue_depth.
 */
export class Backpressure {
  private inFlight = 0;
  private behind = false;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly o: BackpressureOptions) {
    const check = async () => {
      const lags = await o.backlog();
      let worst = 0;
      for (const [stage, n] of Object.entries(lags)) {
        o.metrics.queueDepth.set({ stage }, n);
        worst = Math.max(worst, n);
      }
      if (worst > o.maxBacklog !== this.behind) o.logger.warn({ backlog: lags, max: o.maxBacklog }, worst > o.maxBacklog ? 'pipeline behind; refusing ingest with 503' : 'pipeline caught up; accepting ingest');
      this.behind = worst > o.maxBacklog;
    };
    this.timer = setInterval(() => void check().catch((err: unknown) => o.logger.warn({ err }, 'backlog check failed')), o.intervalMs ?? 250);
    this.timer.unref();
  }

  /** Seconds the sender should wait, or 0 with a slot taken (give it back with `release`). */
  admit(): number {
    if (this.behind || this.inFlight >= this.o.maxInFlight) return 1;
    this.o.metrics.queueDepth.set({ stage: 'collector' }, ++this.inFlight);
    return 0;
  }

  release(): void {
    this.o.metrics.queueDepth.set({ stage: 'collector' }, --this.inFlight);
  }

  close(): void {
    clearInterval(this.timer);
  }
}

/** Wraps a route handler with admission: refused before the body is read, so nothing more is held. */
export function admitted(bp: Backpressure | undefined, handler: Route['handler']): Route['handler'] {
  if (!bp) return handler;
  return async (ctx) => {
    const retryAfter = bp.admit();
    if (retryAfter > 0) {
      ctx.req.resume();
      throw new HttpError(503, 'pipeline is behind; retry later', { 'retry-after': String(retryAfter) });
    }
    try {
      await handler(ctx);
    } finally {
      bp.release();
    }
  };
}
