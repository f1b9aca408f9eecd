/**
 * A Map bounded to `cap` entries that forgets the least recently touched one: O(1) get/set,
 * because a Map iterates in insertion order and a touch re-inserts the key.
 */
export class LruMap<K, V> {
  private readonly map = new Map<K, V>();
  evictions = 0;

  constructor(readonly cap: number) {
    if (!(cap > 0)) throw new Error('LruMap cap must be positive');
  }

  get size(): number {
    return this.map.size;
  }

  /** The value, marked most recently used. */
  get(key: K): V | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }

  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.cap) {
      this.map.delete(this.map.keys().next().value!);
      this.evictions++;
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
