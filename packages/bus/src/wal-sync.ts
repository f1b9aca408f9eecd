import fs from 'node:fs';

/**
 * Makes the embedded log's commits durable off the thread that commits. The connection runs
 * with synchronous=NORMAL, so a commit writes its WAL frames without waiting for the disk; every
 * commit that must be durable then awaits `durable()`, an fdatasync of the same WAL file (the
 * call SQLite makes at each commit under synchronous=FULL) run on libuv's thread pool. So a send
 * still resolves only once its records are on stable storage, while the thread goes on taking
 * requests during the flush; and the commits made while one fdatasync runs share the next one
 * (group commit). The WAL file is never replaced while the connection that opened it is open
 * (SQLite removes it only when the last connection closes), so one descriptor serves.
 */
export class WalSync {
  private fd: number | undefined;
  private inFlight: Promise<void> | undefined;
  private queued: Promise<void> | undefined;

  constructor(private readonly walPath: string) {}

  /** Resolves once every commit made before this call is on stable storage. */
  durable(): Promise<void> {
    if (this.queued) return this.queued;
    if (!this.inFlight) return this.begin();
    // The flush in flight may have started before the caller's commit: the next one covers it.
    const next = this.inFlight.then(
      () => undefined,
      () => undefined,
    ).then(() => {
      this.queued = undefined;
      return this.begin();
    });
    this.queued = next;
    return next;
  }

  private begin(): Promise<void> {
    const p = new Promise<void>((resolve, reject) => {
      try {
        this.fd ??= fs.openSync(this.walPath, 'r');
      } catch (err) {
        return reject(err);
      }
      fs.fdatasync(this.fd, (err) => (err ? reject(err) : resolve()));
    });
    this.inFlight = p;
    const clear = () => {
      if (this.inFlight === p) this.inFlight = undefined;
    };
    p.then(clear, clear);
    return p;
  }

  /** After the flushes asked for have finished; the connection closes after this. */
  async close(): Promise<void> {
    await Promise.allSettled([this.inFlight, this.queued]);
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }
}
