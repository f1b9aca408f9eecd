import { FEATURE_COUNT, type FeatureVector } from '@soc/features';
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
  async scoreMany(vectors: readonly FeatureVector[]): Promise<Score[]> {
    // A whole batch needs no lingering for company: it is scored now, in chunks of maxBatch.
    const out: Score[] = [];
    for (let i = 0; i < vectors.length; i += this.maxBatch) out.push(...(await this.model.score(vectors.slice(i, i + this.maxBatch))));
    return out;
  }

  /** scoreMany over vectors laid out end to end in `input` (see AnomalyModel.scoreRows): no copy. */
  async scoreRows(input: Float32Array, rows: number): Promise<Score[]> {
    const out: Score[] = [];
    for (let i = 0; i < rows; i += this.maxBatch) {
      const n = Math.min(this.maxBatch, rows - i);
      out.push(...(await this.model.scoreRows(input.subarray(i * FEATURE_COUNT, (i + n) * FEATURE_COUNT), n)));
    }
    return out;
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
