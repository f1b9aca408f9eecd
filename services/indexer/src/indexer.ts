import type { Bus, ConsumedRecord } from '@soc/bus';
import { BackendUnavailableError } from '@soc/errors';
import { Alert, TOPICS, decodeJson, deadLetterRecord, makeDeadLetter } from '@soc/schema';
import type { AlertStore } from '@soc/store';
import type { Logger, Metrics } from '@soc/telemetry';

export interface IndexerOptions {
  bus: Bus;
  store: AlertStore;
  logger: Logger;
  metrics: Metrics;
  groupId?: string;
  batchSize?: number;
}

/**
 * Writes alerts from the alert topic to the store. Delivery: at-least-once — offsets are
 * committed only after the store accepted the batch; upsert by alert id makes redelivery
 * harmless. Alerts the store refuses for good (invalid, mapping errors) are dead-lettered with
 * the store's reason; anything retriable fails the batch so the consumer retries it without
 * limit (a store outage dead-letters nothing). A record the store throws on non-retriably is
 * isolated by the bus's poison-record policy and dead-lettered with stage `indexer`.
 */
export async function startIndexer(o: IndexerOptions): Promise<{ stop(): Promise<void> }> {
  const producer = await o.bus.producer();
  const consumer = await o.bus.consumer({ groupId: o.groupId ?? 'soc-indexer', topics: [TOPICS.alerts], maxBatchSize: o.batchSize ?? 1000, poison: { stage: 'indexer', metrics: o.metrics } });
  const run = consumer.run(async (batch: ConsumedRecord[]) => {
    const alerts = new Map<string, Alert>();
    const raw = new Map<string, string>();
    const dead: { key: string; value: string }[] = [];
    for (const r of batch) {
      const d = decodeJson(Alert, r.value, 'alert');
      if (!d.ok) {
        dead.push(deadLetterRecord(makeDeadLetter('indexer', `${r.topic}/${r.partition}@${r.offset}`, d.reason, r.value)));
        continue;
      }
      // Later records of the same alert supersede earlier ones within a batch.
      alerts.set(d.value.id, d.value);
      raw.set(d.value.id, r.value);
    }
    if (alerts.size) {
      const result = await o.metrics.time(o.metrics.storeLatency, 'upsert', () => o.store.upsert([...alerts.values()]));
      const retriable = result.failed.filter((f) => f.retriable);
      if (retriable.length) throw new BackendUnavailableError(`store refused ${retriable.length} alerts for now: ${retriable[0]!.reason}`);
      for (const f of result.failed) dead.push(deadLetterRecord(makeDeadLetter('indexer', `alert:${f.id}`, f.reason, raw.get(f.id) ?? '')));
      o.metrics.alertsIndexed.inc(result.upserted);
    }
    if (dead.length) await producer.send(TOPICS.deadLetter, dead);
  });
  run.catch((err: unknown) => o.logger.fatal({ err }, 'indexer consumer stopped'));
  return {
    async stop() {
      await consumer.stop();
      await run.catch(() => undefined);
      await producer.close();
    },
  };
}
