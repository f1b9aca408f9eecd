/** Fixed-capacity FIFO: push returns the element it pushed out, so callers can update running counts. */
export class Ring<T> {
  private readonly buf: (T | undefined)[];
  private start = 0;
  private len = 0;

  constructor(readonly capacity: number) {
    this.buf = new Array<T | undefined>(capacity);
  }

  get size(): number {
    return this.len;
  }

  push(item: T): T | undefined {
    if (this.len < this.capacity) {
      this.buf[(this.start + this.len++) % this.capacity] = item;
      return undefined;
    }
    const evicted = this.buf[this.start];
    this.buf[this.start] = item;
    this.start = (this.start + 1) % this.capacity;
    return evicted;
  }
}

/**
 * Counts by number (a connection window's source ports) in one open-addressing table (linear
 * probing, deletion by backward shift, at most half full: it doubles beyond), so an update
 * allocates nothing once grown, where a Map's entries churn on random ephemeral ports. Keys are
 * equal as in a Map (SameValueZero). A count only ever falls to zero, never below: the caller
 * removes what it added.
 */
export class CountTable {
  private keys = new Float64Array(8);
  /** 0 marks an empty slot. */
  private counts = new Int32Array(8);
  private mask = 7;
  private used = 0;

  get(key: number): number {
    return this.counts[this.slot(key)]!;
  }

  add(key: number, delta: number): void {
    let i = this.slot(key);
    if (this.counts[i] === 0) {
      if (2 * (this.used + 1) > this.counts.length) {
        this.grow();
        i = this.slot(key);
      }
      this.keys[i] = key;
      this.used++;
    }
    if ((this.counts[i]! += delta) === 0) this.remove(i);
  }

  private grow(): void {
    const { keys, counts } = this;
    this.keys = new Float64Array(2 * keys.length);
    this.counts = new Int32Array(2 * counts.length);
    this.mask = this.counts.length - 1;
    for (let j = 0; j < counts.length; j++) {
      if (counts[j] === 0) continue;
      const i = this.slot(keys[j]!);
      this.keys[i] = keys[j]!;
      this.counts[i] = counts[j]!;
    }
  }

  /** Equal keys (NaN, ±0 included) share a home: `| 0` maps each to one integer. */
  private home(key: number): number {
    const h = Math.imul(key | 0, 0x9e3779b1);
    return (h ^ (h >>> 15)) & this.mask;
  }

  /** The slot holding `key`, or the empty slot where it would go (at most half are used). */
  private slot(key: number): number {
    let i = this.home(key);
    for (; this.counts[i] !== 0; i = (i + 1) & this.mask) {
      const k = this.keys[i]!;
      if (k === key || (k !== k && key !== key)) return i;
    }
    return i;
  }

  /** Closes the hole at `hole`: a later key of the run moves into it unless its home lies after it. */
  private remove(hole: number): void {
    let i = hole;
    for (let j = (i + 1) & this.mask; this.counts[j] !== 0; j = (j + 1) & this.mask) {
      if (((j - this.home(this.keys[j]!)) & this.mask) >= ((j - i) & this.mask)) {
        this.keys[i] = this.keys[j]!;
        this.counts[i] = this.counts[j]!;
        i = j;
      }
    }
    this.counts[i] = 0;
    this.used--;
  }
}
