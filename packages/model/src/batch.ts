import type { FeatureVector } from '@soc/features';
import type { AnomalyModel, Score } from './model.ts';

export interface BatchOptions {
  /** A batch runs as soon as it holds this many vectors (default 512). */
  maxBatch?: number;
  /** Otherwise it runs this long after its first vector arrived (default 2 ms): the latency bound. */
  lingerMs?: number;
}

interface Pending {
  vector: FeatureVector;
  resolve: (s: Score) => void;
  reject: (e: unknown) => void;
}

/**
 * Micro-batching in front of an AnomalyModel: callers score one vector at a time, inference runs
 * on batches of up to `maxBatch`, and no vector waits more than `lingerMs` for its batch to start.
 * A failed batch rejects every promise in it.
 */
export class BatchScorer {
  private readonly maxBatch: number;
  private readonly lingerMs: number;
  private queue: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly model: AnomalyModel,
    opts: BatchOptions = {},
  ) {
    this.maxBatch = opts.maxBatch ?? 512;
    this.lingerMs = opts.lingerMs ?? 2;
  }

  score(vector: FeatureVector): Promise<Score> {
    return new Promise<Score>((resolve, reject) => {
      this.queue.push({ vector, resolve, reject });
      this.schedule();
    });
  }

  /**
   * Scores many vectors with one promise: the detector hands over a whole consumer batch, and a
   * promise per flow would cost more than the inference itself.
   */
  scoreMany(vectors: readonly FeatureVector[]): Promise<Score[]> {
    if (vectors.length === 0) return Promise.resolve([]);
    return new Promise<Score[]>((resolve, reject) => {
      const out = new Array<Score>(vectors.length);
      let left = vectors.length;
      let failed = false;
      vectors.forEach((vector, i) => {
        this.queue.push({
          vector,
          resolve: (s) => {
            out[i] = s;
            if (--left === 0) resolve(out);
          },
          reject: (e) => {
            if (!failed) reject(e);
            failed = true;
          },
        });
      });
      this.schedule();
    });
  }

  /** A full batch runs now; otherwise the linger timer bounds the wait. */
  private schedule(): void {
    if (this.queue.length >= this.maxBatch) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.lingerMs);
  }

  /** Runs whatever is queued now. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      const run = this.model
        .score(batch.map((p) => p.vector))
        .then(
          (scores) => batch.forEach((p, i) => p.resolve(scores[i]!)),
          (err: unknown) => batch.forEach((p) => p.reject(err)),
        )
        .finally(() => this.inFlight.delete(run));
      this.inFlight.add(run);
    }
  }

  /** Scores what is queued and waits for every batch in flight. */
  async drain(): Promise<void> {
    this.flush();
    await Promise.all(this.inFlight);
  }
}
