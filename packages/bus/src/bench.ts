/**
 * Embedded bus throughput: batch append and group consume on a temp file, in records/s.
 * Measures the real path (prepared statements, one FULL-synchronous transaction per batch).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@soc/telemetry';
import { openEmbeddedBus } from './embedded.ts';

export interface BusBenchResult {
  records: number;
  batchSize: number;
  valueBytes: number;
  appendPerSec: number;
  consumePerSec: number;
}

export async function benchEmbeddedBus(o: { records?: number; batchSize?: number; valueBytes?: number; partitions?: number } = {}): Promise<BusBenchResult> {
  const records = o.records ?? 200_000;
  const batchSize = o.batchSize ?? 1000;
  const valueBytes = o.valueBytes ?? 400;
  const dir = mkdtempSync(join(tmpdir(), 'soc-bus-bench-'));
  const bus = openEmbeddedBus({ path: join(dir, 'bench.db'), logger: createLogger('bus-bench', { level: 'warn' }) });
  try {
    await bus.ensureTopics([{ name: 'bench', partitions: o.partitions ?? 4 }]);
    const producer = await bus.producer();
    const value = 'x'.repeat(valueBytes);
    const batches = Array.from({ length: Math.ceil(records / batchSize) }, (_, b) =>
      Array.from({ length: Math.min(batchSize, records - b * batchSize) }, (_, i) => ({ key: `host-${(b * batchSize + i) % 5000}`, value })),
    );

    const t0 = performance.now();
    for (const batch of batches) await producer.send('bench', batch);
    const appendSecs = (performance.now() - t0) / 1000;

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
    return { records, batchSize, valueBytes, appendPerSec: Math.round(records / appendSecs), consumePerSec: Math.round(records / consumeSecs) };
  } finally {
    await bus.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
