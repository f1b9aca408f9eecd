import type { Bus, ConsumedRecord, Producer } from '@soc/bus';
import { EcsEvent, TOPICS, decodeJson, deadLetterRecord, makeDeadLetter, type Alert } from '@soc/schema';
import type { Logger, Metrics } from '@soc/telemetry';
import { alertFromSignatureEvent, type AlertContext } from './signatures.ts';

/**
 * An analyzer turns a batch of validated events into alerts. Analyzers keep their own state
 * (windows, groups) and must be deterministic in the events they see, so that re-delivery after
 * a crash yields the same alert ids.
 */
export interface Analyzer {
  readonly name: string;
  analyze(events: EcsEvent[]): Promise<Alert[]>;
  close?(): Promise<void>;
}

export function signatureAnalyzer(ctx: AlertContext): Analyzer {
  return {
    name: 'signatures',
    analyze: async (events) => events.flatMap((e) => alertFromSignatureEvent(e, ctx) ?? []),
  };
}

export interface DetectorOptions {
  bus: Bus;
  analyzers: Analyzer[];
  logger: Logger;
  metrics: Metrics;
  groupId?: string;
  maxBatchSize?: number;
}

/**
 * Consumes events, runs the analyzers and publishes alerts. Delivery: at-least-once — alerts are
 * durable on the alert topic before the event offsets are committed; deterministic alert ids
 * make a replayed batch an upsert, not a duplicate. Poison records (an event an analyzer throws
 * on) are isolated by the bus's policy and dead-lettered with stage `detector`.
 */
export async function startDetector(o: DetectorOptions): Promise<{ stop(): Promise<void> }> {
  const producer: Producer = await o.bus.producer();
  const consumer = await o.bus.consumer({ groupId: o.groupId ?? 'soc-detector', topics: [TOPICS.events], maxBatchSize: o.maxBatchSize ?? 2000, poison: { stage: 'detector', metrics: o.metrics } });
  const run = consumer.run(async (batch: ConsumedRecord[]) => {
    const events: EcsEvent[] = [];
    const dead: { key: string; value: string }[] = [];
    for (const r of batch) {
      const parsed = decodeJson(EcsEvent, r.value, 'event');
      if (parsed.ok) events.push(parsed.value);
      else dead.push(deadLetterRecord(makeDeadLetter('detector', `${r.topic}/${r.partition}@${r.offset}`, parsed.reason, r.value)));
    }
    const alerts: Alert[] = [];
    for (const a of o.analyzers) alerts.push(...(await a.analyze(events)));
    if (dead.length) await producer.send(TOPICS.deadLetter, dead);
    if (alerts.length) {
      await producer.send(TOPICS.alerts, alerts.map((a) => ({ key: a.id, value: JSON.stringify(a) })));
      for (const a of alerts) o.metrics.alertsOut.inc({ detector: a.detector });
    }
  });
  run.catch((err: unknown) => o.logger.fatal({ err }, 'detector consumer stopped'));
  return {
    async stop() {
      await consumer.stop();
      await run.catch(() => undefined);
      for (const a of o.analyzers) await a.close?.();
      await producer.close();
    },
  };
}
