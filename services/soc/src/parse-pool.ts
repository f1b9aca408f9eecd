import type { Worker } from 'node:worker_threads';
import { BackendUnavailableError, SocError } from '@soc/errors';
import type { IngestContext, LineParser, ParsedLines, RawLine } from '@soc/svc-collector';
import type { Logger, Metrics } from '@soc/telemetry';
import { linesToWire, parsedFromWire, type ParsedWire } from './parse-wire.ts';
import { moduleWorker } from './worker.ts';

/** What every parser thread parses with (the CIDRs as text: a CidrSet does not cross threads). */
export interface ParserThreadSettings {
  internalCidrs: string[];
  preserveOriginal: boolean;
  /** The threads' nice value (`collector.parseThreadNice`); absent: the process's. */
  nice?: number;
}

type Job = { lines: number; resolve: (p: ParsedLines) => void; reject: (e: Error) => void };
type FromParser = { ready: true; nice?: number } | { id: number; parsed: ParsedWire; cpu?: number } | { id: number; error: string };

interface Slot {
  worker: Worker;
  /** `parser-<n>`, n counting every thread started (a replacement gets a new name: its CPU time starts at 0). */
  name: string;
  jobs: Map<number, Job>;
  /** The nice value the thread runs at, as it reported (undefined: the OS did not say). */
  nice?: number;
}

/**
 * Worker threads that parse and validate the collector's batches (`parseLines`), so that on a
 * multi-core machine parsing, the main thread's HTTP and bus appends, and the stage threads run
 * at once. Only parsing moves: the bus append and the 202 stay with the caller, so a 202 still
 * means durable. A batch goes to the thread with the fewest batches in hand; a thread that dies
 * fails its batches with a retriable error (the sender sends them again, unacknowledged) and is
 * replaced. The lines in hand are the parser stage's queue (`soc_queue_depth{stage="parser"}`),
 * bounded by the collector's requests in flight.
 */
export class ParsePool {
  private readonly slots: Slot[] = [];
  private nextId = 0;
  private started = 0;
  private closing = false;
  private inHand = 0;

  private constructor(
    private readonly settings: ParserThreadSettings,
    private readonly logger: Logger,
    private readonly metrics?: Metrics,
  ) {}

  /** Starts `size` threads; resolves once every one is ready (a start-up error rejects). */
  static async start(size: number, settings: ParserThreadSettings, logger: Logger, metrics?: Metrics): Promise<ParsePool> {
    const pool = new ParsePool(settings, logger, metrics);
    try {
      for (let i = 0; i < size; i++) pool.slots.push(await pool.spawn());
    } catch (err) {
      await pool.close();
      throw err;
    }
    return pool;
  }

  /** The running threads (a test ends one to see it replaced). */
  get threads(): readonly Worker[] {
    return this.slots.map((s) => s.worker);
  }

  /** The nice value of each running thread, as it reported. */
  get nice(): (number | undefined)[] {
    return this.slots.map((s) => s.nice);
  }

  /** Lines handed to the threads and not yet parsed. */
  get depth(): number {
    return this.inHand;
  }

  private track(lines: number): void {
    this.inHand += lines;
    this.metrics?.queueDepth.set({ stage: 'parser' }, this.inHand);
  }

  readonly parse: LineParser = (lines: RawLine[], ctx: IngestContext) => {
    if (this.closing) return Promise.reject(new BackendUnavailableError('the parser threads are stopping'));
    if (this.slots.length === 0) return Promise.reject(new BackendUnavailableError('no parser thread is running (one is being replaced)'));
    let slot = this.slots[0]!;
    for (const s of this.slots) if (s.jobs.size < slot.jobs.size) slot = s;
    const id = this.nextId++;
    this.track(lines.length);
    return new Promise<ParsedLines>((resolve, reject) => {
      slot.jobs.set(id, { lines: lines.length, resolve, reject });
      slot.worker.postMessage({ id, lines: linesToWire(lines), ctx });
    });
  };

  private spawn(): Promise<Slot> {
    const worker = moduleWorker(new URL('./parse-worker.ts', import.meta.url), this.settings);
    const slot: Slot = { worker, name: `parser-${this.started++}`, jobs: new Map() };
    return new Promise<Slot>((resolve, reject) => {
      let ready = false;
      worker.on('message', (m: FromParser) => {
        if ('ready' in m) {
          ready = true;
          slot.nice = m.nice;
          if (this.settings.nice !== undefined && m.nice !== this.settings.nice) this.logger.warn({ asked: this.settings.nice, nice: m.nice }, 'parser thread priority not set as asked (raising it needs CAP_SYS_NICE)');
          resolve(slot);
          return;
        }
        const job = slot.jobs.get(m.id);
        if (!job) return;
        slot.jobs.delete(m.id);
        this.track(-job.lines);
        if ('parsed' in m) {
          this.metrics?.reportThreadCpu(slot.name, m.cpu);
          job.resolve(parsedFromWire(m.parsed));
        } else job.reject(new SocError(`parser thread: ${m.error}`));
      });
      worker.once('error', (err) => this.logger.error({ err }, 'parser thread failed'));
      worker.once('exit', (code) => {
        for (const job of slot.jobs.values()) {
          this.track(-job.lines);
          job.reject(new BackendUnavailableError(`parser thread exited with ${code}; the batch was not acknowledged`));
        }
        slot.jobs.clear();
        if (!ready) return reject(new SocError(`parser thread exited with ${code} before it was ready`));
        const i = this.slots.indexOf(slot);
        if (i < 0 || this.closing) return;
        this.slots.splice(i, 1);
        this.logger.warn({ code }, 'parser thread exited; starting another');
        this.spawn().then(
          (s) => (this.closing ? void s.worker.terminate() : this.slots.push(s)),
          (err: unknown) => this.logger.error({ err }, 'could not replace a parser thread'),
        );
      });
    });
  }

  /** Lets the batches in hand finish (bounded), then ends the threads. */
  async close(): Promise<void> {
    this.closing = true;
    const deadline = Date.now() + 5000;
    while (this.slots.some((s) => s.jobs.size > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    this.slots.length = 0;
  }
}
