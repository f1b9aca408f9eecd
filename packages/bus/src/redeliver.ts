import { backoffDelay, isRetriable, sleep } from '@soc/errors';
import { TOPICS, deadLetterRecord, makeDeadLetter } from '@soc/schema';
import type { Logger } from '@soc/telemetry';
import type { BatchHandler, ConsumedRecord, PoisonOptions, Producer, ProducerRecord } from './port.ts';

export interface DeliveryContext {
  groupId: string;
  signal: AbortSignal;
  log: Logger;
  poison?: PoisonOptions;
  /** The adapter's own dead-letter writer, used unless `poison.deadLetter` names another. */
  sendDeadLetters: (records: ProducerRecord[]) => Promise<void>;
}

/** The adapters' default dead-letter writer: the bus's own dead-letter topic, through one producer made on first use. */
export function deadLetterSender(makeProducer: () => Promise<Producer>): (records: ProducerRecord[]) => Promise<void> {
  let producer: Promise<Producer> | undefined;
  return async (records) => {
    producer ??= makeProducer().catch((err: unknown) => {
      producer = undefined;
      throw err;
    });
    await (await producer).send(TOPICS.deadLetter, records);
  };
}

const errorText = (err: unknown): string => (err instanceof Error ? `${err.name}: ${err.message}` : String(err));

/**
 * The poison-record policy, shared by both adapters (see `PoisonOptions` in port.ts). Resolves
 * once every record of `batch` was either handled by a successful handler call or written to the
 * dead-letter topic; the adapter then commits the batch. Order within the partition is kept:
 * halves are handled left to right, and a half that fails retriably blocks the rest until it
 * goes through. It rejects only when the consumer stops (nothing is then committed).
 */
export async function deliverBatch(handler: BatchHandler, batch: ConsumedRecord[], ctx: DeliveryContext): Promise<void> {
  const p = ctx.poison ?? {};
  const retriesBeforeSplit = Math.max(1, p.retriesBeforeSplit ?? 3);
  const delays = { initialDelayMs: p.initialDelayMs ?? 50, maxDelayMs: p.maxDelayMs ?? 5000 };
  const attempts = new Map<ConsumedRecord, number>();
  const first = batch[0]!;
  const where = { groupId: ctx.groupId, topic: first.topic, partition: first.partition };

  const deadLetter = async (r: ConsumedRecord, err: unknown): Promise<void> => {
    const stage = p.stage ?? 'consumer';
    const dl = {
      ...makeDeadLetter(stage, `${r.topic}/${r.partition}@${r.offset}`, `poison record: ${errorText(err)}`, r.value),
      group: ctx.groupId,
      topic: r.topic,
      partition: r.partition,
      offset: r.offset,
      attempts: attempts.get(r) ?? 1,
    };
    // Writing the dead letter is infrastructure: if it fails, retry without limit rather than skip an unrecorded record.
    for (let i = 0; ; i++) {
      try {
        await (p.deadLetter ?? ctx.sendDeadLetters)([deadLetterRecord(dl)]);
        break;
      } catch (e) {
        if (ctx.signal.aborted) throw e;
        ctx.log.warn({ err: e, ...where, offset: r.offset }, 'writing a dead letter failed; retrying');
        await sleep(backoffDelay(i, delays), ctx.signal);
      }
    }
    p.metrics?.consumerDeadLetters.inc({ group: ctx.groupId, topic: r.topic, stage });
    ctx.log.error({ ...where, offset: r.offset, attempts: dl.attempts, reason: dl.reason }, 'poison record dead-lettered; the consumer moves on');
  };

  const deliver = async (records: ConsumedRecord[]): Promise<void> => {
    for (let tries = 0; ; tries++) {
      try {
        await handler(records);
        return;
      } catch (err) {
        if (ctx.signal.aborted) throw err;
        for (const r of records) attempts.set(r, (attempts.get(r) ?? 0) + 1);
        const retriable = isRetriable(err);
        const context = { err, ...where, offset: records[0]!.offset, count: records.length, attempt: tries + 1, retriable };
        if (records.length === 1 && !retriable) return deadLetter(records[0]!, err);
        if (records.length > 1 && (!retriable || tries + 1 >= retriesBeforeSplit)) {
          ctx.log.warn(context, 'batch handler failed; splitting the batch to isolate the failing record');
          const mid = Math.ceil(records.length / 2);
          await deliver(records.slice(0, mid));
          await deliver(records.slice(mid));
          return;
        }
        // Retriable (store or bus down): back off and try again, without limit for a single record.
        const delayMs = backoffDelay(tries, delays);
        ctx.log.warn({ ...context, delayMs }, 'batch handler failed with a retriable error; retrying');
        await sleep(delayMs, ctx.signal);
      }
    }
  };

  await deliver(batch);
}
