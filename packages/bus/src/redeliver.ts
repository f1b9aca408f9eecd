import { retry } from '@soc/errors';
import type { Logger } from '@soc/telemetry';
import type { BatchHandler, ConsumedRecord } from './port.ts';

/**
 * The port's redelivery rule, shared by both adapters: a batch whose handler fails is handed
 * over again, with backoff, until it succeeds or the consumer stops. It is never skipped, so
 * nothing is lost; handlers dead-letter input they can never accept themselves.
 */
export function handleUntilDone(handler: BatchHandler, batch: ConsumedRecord[], signal: AbortSignal, log: Logger, context: Record<string, unknown> = {}): Promise<void> {
  const first = batch[0]!;
  return retry(() => handler(batch), {
    retries: Number.MAX_SAFE_INTEGER,
    initialDelayMs: 50,
    maxDelayMs: 5000,
    signal,
    shouldRetry: () => true,
    onRetry: (err, attempt, delayMs) =>
      log.warn({ err, attempt, delayMs, ...context, topic: first.topic, partition: first.partition, offset: first.offset, count: batch.length }, 'batch handler failed; retrying the same batch'),
  });
}
