/**
 * A Map bounded to `cap` entries that forgets the entries not touched for a while, with one Map
 * operation per hit: two generations of at most ⌈cap/2⌉ entries each (the scheme of quick-lru).
 * Reads and writes go to the young generation; a hit in the old one moves the entry up; when the
 * young generation is full it becomes the old one and the old one is dropped whole. An entry
 * touched within the last ⌈cap/2⌉ insertions is always kept; none is kept past `cap` insertions
 * without a touch. (A delete + re-insert per touch, exact LRU on one Map, cost two hash
 * operations per hit and left the table full of holes to compact.)
 */
export class LruMap<K, V> {
  private young = new Map<K, V>();
  private old = new Map<K, V>();
  private readonly half: number;
  evictions = 0;

  constructor(readonly cap: number) {
    if (!(cap > 0)) throw new Error('LruMap cap must be positive');
    this.half = Math.ceil(cap / 2);
  }

  get size(): number {
    return this.young.size + this.old.size;
  }

  /** The value, marked recently used. */
  get(key: K): V | undefined {
    const v = this.young.get(key);
    if (v !== undefined) return v;
    const o = this.old.get(key);
    if (o !== undefined) {
      this.old.delete(key);
      this.insert(key, o);
    }
    return o;
  }

  /**
   * One Map write: a stale copy left in the old generation is shadowed by the young one (reads
   * look there first) and dropped with its generation, so `size` may count it until then.
   */
  set(key: K, value: V): void {
    this.insert(key, value);
  }

  private insert(key: K, value: V): void {
    this.young.set(key, value);
    if (this.young.size >= this.half) {
      this.evictions += this.old.size;
      this.old = this.young;
      this.young = new Map();
    }
  }
}

/** A fixed-capacity ring of float32 values, oldest overwritten first. */
export class FloatRing {
  private readonly buf: Float32Array;
  private next = 0;
  size = 0;

  constructor(capacity: number) {
    this.buf = new Float32Array(capacity);
  }

  push(v: number): void {
    this.buf[this.next] = v;
    this.next = (this.next + 1) % this.buf.length;
    if (this.size < this.buf.length) this.size++;
  }

  values(): Float32Array {
    return this.size === this.buf.length ? this.buf : this.buf.subarray(0, this.size);
  }
}
