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

/** Adds `delta` to a counter in a map, deleting it at zero so maps hold only live keys. */
export function bump<K>(m: Map<K, number>, key: K, delta: number): void {
  const v = (m.get(key) ?? 0) + delta;
  if (v === 0) m.delete(key);
  else m.set(key, v);
}
