import type { RawLine } from './types.ts';

/**
 * Collects lines and hands them on in batches: when `batchSize` lines are waiting, or
 * `lingerMs` after the first line of a batch. Batches are flushed one at a time, in order;
 * `busy` tells a stream source to pause its input while a flush is pending (backpressure).
 * `flushFn` handles its own failures (retry, log, close): a rejection would stall the chain.
 */
export class Batcher {
  private lines: RawLine[] = [];
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<void> = Promise.resolve();
  private pending = 0;

  constructor(
    private readonly flushFn: (lines: RawLine[]) => Promise<void>,
    private readonly batchSize: number,
    private readonly lingerMs: number,
    private readonly onIdle: () => void = () => {},
  ) {}

  get busy(): boolean {
    return this.pending > 0;
  }

  add(line: RawLine): void {
    this.lines.push(line);
    if (this.lines.length >= this.batchSize) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.lingerMs);
  }

  /** Queues what is waiting; resolves when every queued batch has been handled. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.lines.length) {
      const batch = this.lines;
      this.lines = [];
      this.pending++;
      this.chain = this.chain
        .then(() => this.flushFn(batch))
        .finally(() => {
          if (--this.pending === 0) this.onIdle();
        });
    }
    return this.chain;
  }
}
