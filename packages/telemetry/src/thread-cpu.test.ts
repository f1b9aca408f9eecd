import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { Metrics, cpuSecondsOfStat, threadCpuSeconds } from './index.ts';

const linux = process.platform === 'linux';
if (!linux) console.log('thread CPU tests skipped: /proc/thread-self is Linux only');
// A fixed amount of work, not of wall time: its CPU time does not shrink when other processes share the cores.
const WORK = `let x = 0; for (let i = 0; i < 3e8; i++) x = (x + i) % 1000003;`;
const work = new Function(WORK) as () => void;

describe('thread CPU time', () => {
  it('reads utime + stime after the command name, whatever the name holds', () => {
    // A thread named "a) b (c" — Linux allows any bytes in comm; fields 14 and 15 are 250 and 50 ticks.
    const stat = '4242 (a) b (c) R 1 4242 4242 0 -1 4194304 800 0 0 0 250 50 0 0 25 5 9 0 123456 1000000 2000 18446744073709551615';
    expect(cpuSecondsOfStat(stat)).toBe(3);
    expect(cpuSecondsOfStat('garbage')).toBeUndefined();
  });

  it.skipIf(!linux)('counts the calling thread only: a busy worker does not move the main thread', async () => {
    const main0 = threadCpuSeconds()!;
    // The worker sends its own stat lines from before and after its work (a plain script: no TypeScript there).
    const worker = new Worker(
      `const { parentPort } = require('node:worker_threads');
       const stat = () => require('node:fs').readFileSync('/proc/thread-self/stat', 'utf8');
       const before = stat(); ${WORK}
       parentPort.postMessage([before, stat()]);`,
      { eval: true },
    );
    const [before0, after0] = await new Promise<[string, string]>((res) => worker.once('message', res));
    await worker.terminate();
    const workerBusy = cpuSecondsOfStat(after0)! - cpuSecondsOfStat(before0)!;
    const mainUsed = threadCpuSeconds()! - main0;
    expect(workerBusy).toBeGreaterThanOrEqual(0.1);
    // The main thread only waited for the message.
    expect(mainUsed).toBeLessThan(workerBusy / 2);
    const before = threadCpuSeconds()!;
    work();
    expect(threadCpuSeconds()! - before).toBeGreaterThanOrEqual(0.1);
  });

  it.skipIf(!linux)('are in /metrics as soc_thread_cpu_seconds_total: the registry owner on each scrape, others as reported', async () => {
    const metrics = new Metrics({ defaults: false, thread: 'detector' });
    const scraped = async () => Number(/soc_thread_cpu_seconds_total\{thread="detector"\} ([\d.]+)/.exec(await metrics.render())?.[1]);
    const before = threadCpuSeconds()!;
    const first = await scraped();
    expect(first).toBeGreaterThanOrEqual(before);
    work();
    const done = threadCpuSeconds()!;
    const second = await scraped();
    expect(second).toBeGreaterThanOrEqual(done);
    expect(second - first).toBeGreaterThanOrEqual(0.1);
    // Reported readings are cumulative: the counter follows them and never goes back.
    metrics.reportThreadCpu('parser-0', 2.5);
    metrics.reportThreadCpu('parser-0', 1.0);
    metrics.reportThreadCpu('parser-0', 4.0);
    metrics.reportThreadCpu('parser-0', undefined);
    expect(await metrics.render()).toContain('soc_thread_cpu_seconds_total{thread="parser-0"} 4');
  });
});
