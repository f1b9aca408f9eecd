/**
 * Remembers which messages were accepted until their timestamp leaves the freshness window; after
 * that they are refused as stale anyway. Synchronous on purpose: both this map and a SQLite table
 * (better-sqlite3) answer without I/O waits, and verifyInbound stays a plain function.
 */
export interface ReplayCache {
  has(key: string, nowMs: number): boolean;
  add(key: string, expiresAtMs: number): void;
}

/**
 * Insertion-ordered Map as LRU+TTL. When full, the oldest entry is dropped: that would reopen a
 * replay for it, so size `capacity` above the peak message rate times the window.
 */
export class MemoryReplayCache implements ReplayCache {
  private readonly entries = new Map<string, number>();
  constructor(readonly capacity = 100_000) {}

  has(key: string, nowMs: number): boolean {
    const exp = this.entries.get(key);
    if (exp === undefined) return false;
    if (exp > nowMs) return true;
    this.entries.delete(key);
    return false;
  }

  add(key: string, expiresAtMs: number): void {
    this.entries.delete(key);
    this.entries.set(key, expiresAtMs);
    for (const k of this.entries.keys()) {
      if (this.entries.size <= this.capacity) break;
      this.entries.delete(k);
    }
  }

  /** Drops expired entries; call it periodically if traffic is bursty (has() also drops lazily). */
  prune(nowMs: number): void {
    for (const [k, exp] of this.entries) if (exp <= nowMs) this.entries.delete(k);
  }

  get size(): number {
    return this.entries.size;
  }
}
