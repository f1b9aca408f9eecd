/**
 * Embedded bus throughput: batch append and group consume on a temp file, in records/s.
 * Measures the real path (prepared statements, one FULL-synchronous transaction per batch).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createLogger } from '@soc/telemetry';
import { openEmbeddedBus } from './embedded.ts';

export interface BusBenchResult {
  records: number;
  batchSize: number;
  valueBytes: number;
  appendPerSec: number;
  /** This thread's busy time (event loop not idle: work, or blocked on the disk) per appended record, one sender. */
  appendThreadUsPerRecord: number;
  /** Four senders at once, as HTTP ingest appends (group commit): records/s and thread time per record. */
  concurrentAppendPerSec: number;
  concurrentAppendThreadUsPerRecord: number;
  consumePerSec: number;
}

/** Wall seconds and this thread's busy microseconds while `run` runs. */
async function measured(run: () => Promise<void>): Promise<{ secs: number; busyUs: number }> {
  const elu = performance.eventLoopUtilization();
  const t0 = performance.now();
  await run();
  const secs = (performance.now() - t0) / 1000;
  return { secs, busyUs: performance.eventLoopUtilization(elu).active * 1000 };
}

export async function benchEmbeddedBus(o: { records?: number; batchSize?: number; valueBytes?: number; partitions?: number } = {}): Promise<BusBenchResult> {
  const records = o.records ?? 200_000;
  const batchSize = o.batchSize ?? 1000;
  const valueBytes = o.valueBytes ?? 400;
  const dir = mkdtempSync(join(tmpdir(), 'soc-bus-bench-'));
  const bus = openEmbeddedBus({ path: join(dir, 'bench.db'), logger: createLogger('bus-bench', { level: 'warn' }) });
  try {
    await bus.ensureTopics([{ name: 'bench', partitions: o.partitions ?? 4 }, { name: 'bench-concurrent', partitions: o.partitions ?? 4 }]);
    const producer = await bus.producer();
    const value = 'x'.repeat(valueBytes);
    const batches = Array.from({ length: Math.ceil(records / batchSize) }, (_, b) =>
      Array.from({ length: Math.min(batchSize, records - b * batchSize) }, (_, i) => ({ key: `host-${(b * batchSize + i) % 5000}`, value })),
    );

    const one = await measured(async () => {
      for (const batch of batches) await producer.send('bench', batch);
    });
    let next = 0;
    const four = await measured(async () => {
      await Promise.all(Array.from({ length: 4 }, async () => {
        while (next < batches.length) await producer.send('bench-concurrent', batches[next++]!);
      }));
    });

    const consumer = await bus.consumer({ groupId: 'bench', topics: ['bench'], maxBatchSize: batchSize });
    let seen = 0;
    const t1 = performance.now();
    await new Promise<void>((done) => {
      void consumer.run(async (batch) => {
        seen += batch.length;
        if (seen >= records) done();
      });
    });
    const consumeSecs = (performance.now() - t1) / 1000;
    await consumer.stop();
    return {
      records, batchSize, valueBytes,
      appendPerSec: Math.round(records / one.secs),
      appendThreadUsPerRecord: Number((one.busyUs / records).toFixed(2)),
      concurrentAppendPerSec: Math.round(records / four.secs),
      concurrentAppendThreadUsPerRecord: Number((four.busyUs / records).toFixed(2)),
      consumePerSec: Math.round(records / consumeSecs),
    };
  } finally {
    await bus.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
