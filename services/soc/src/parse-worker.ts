import { parentPort, workerData } from 'node:worker_threads';
import { CidrSet } from '@soc/netaddr';
import { threadCpuSeconds } from '@soc/telemetry';
import { parseLines, type IngestContext } from '@soc/svc-collector';
import type { ParserThreadSettings } from './parse-pool.ts';
import { linesFromWire, parsedToWire, type LinesWire } from './parse-wire.ts';
import { setThreadNice } from './thread-nice.ts';

/** Entry of a parser thread (see ParsePool): parses and validates batches of lines, nothing else; no I/O. */
const { internalCidrs, preserveOriginal, nice } = workerData as ParserThreadSettings;
const inForce = nice === undefined ? undefined : setThreadNice(nice);
const settings = { internal: internalCidrs.length ? new CidrSet(internalCidrs) : undefined, preserveOriginal };
const port = parentPort!;
port.on('message', ({ id, lines, ctx }: { id: number; lines: LinesWire; ctx: IngestContext }) => {
  // parseLines never throws on input (a parser bug costs one line, dead-lettered); anything else is ours.
  try {
    const parsed = parsedToWire(parseLines(linesFromWire(lines), ctx, settings));
    // This thread's CPU time rides on each answer, for soc_thread_cpu_seconds_total (the pool holds no registry here).
    port.postMessage({ id, parsed, cpu: threadCpuSeconds() });
  } catch (err) {
    port.postMessage({ id, error: (err as Error).message });
  }
});
port.postMessage({ ready: true, nice: inForce });
