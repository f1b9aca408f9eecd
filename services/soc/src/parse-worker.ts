import { parentPort, workerData } from 'node:worker_threads';
import { CidrSet } from '@soc/netaddr';
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
    port.postMessage({ id, parsed: parsedToWire(parseLines(linesFromWire(lines), ctx, settings)) });
  } catch (err) {
    port.postMessage({ id, error: (err as Error).message });
  }
});
port.postMessage({ ready: true, nice: inForce });
