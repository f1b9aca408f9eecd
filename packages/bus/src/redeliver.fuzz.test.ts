import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BackendUnavailableError, ValidationError } from '@soc/errors';
import { DeadLetter } from '@soc/schema';
import { createLogger } from '@soc/telemetry';
import type { ConsumedRecord, ProducerRecord } from './port.ts';
import { deliverBatch } from './redeliver.ts';

/**
 * Property of the poison-record policy: for any batch, any set of poison records and any outage
 * (retriable failures, then recovery), every good record is handled exactly once and in offset
 * order by a successful handler call, every poison record is dead-lettered exactly once with its
 * offset, and no good record is ever dead-lettered. Cases: FUZZ_RUNS.
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 100);
const log = createLogger('redeliver-fuzz', { level: 'silent' });
const record = (offset: number): ConsumedRecord => ({ topic: 't', partition: 0, offset, key: null, value: `v${offset}`, headers: {}, timestamp: 0 });

describe('poison-record policy under fuzzing', () => {
  it('handles every good record once, in order, and dead-letters exactly the poison ones', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 80 }), fc.array(fc.nat(), { maxLength: 6 }), fc.nat({ max: 25 }), async (n, poisonAt, outageCalls) => {
        const batch = Array.from({ length: n }, (_, i) => record(100 + i));
        const poison = new Set(poisonAt.map((p) => 100 + (p % n)));
        const handled: number[] = [];
        const dead: DeadLetter[] = [];
        let calls = 0;
        await deliverBatch(
          async (b) => {
            // An outage first (store down), then a handler that cannot accept poison records.
            if (++calls <= outageCalls) throw new BackendUnavailableError('store down');
            if (b.some((r) => poison.has(r.offset))) throw new ValidationError('cannot handle');
            handled.push(...b.map((r) => r.offset));
          },
          batch,
          {
            groupId: 'g',
            signal: new AbortController().signal,
            log,
            poison: { stage: 'indexer', initialDelayMs: 0, maxDelayMs: 0 },
            sendDeadLetters: async (records: ProducerRecord[]) => void dead.push(...records.map((r) => DeadLetter.parse(JSON.parse(r.value)))),
          },
        );
        expect(handled).toEqual(batch.map((r) => r.offset).filter((o) => !poison.has(o)));
        expect(dead.map((d) => d.offset)).toEqual([...poison].sort((a, b) => a - b));
        for (const d of dead) expect(d).toMatchObject({ stage: 'indexer', group: 'g', topic: 't', partition: 0, raw: `v${d.offset}` });
      }),
      { numRuns: RUNS },
    );
  });
});
