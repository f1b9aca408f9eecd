import Database from 'better-sqlite3';
import { BackendUnavailableError } from '@soc/errors';
import type { ReplayCache } from '@soc/federation';

/**
 * The replay cache on disk, so a restart does not reopen replay holes. Writes are staged: `add`
 * is visible to `has` at once (duplicates inside one batch are caught) but becomes durable only on
 * `commit()`, which the inbound handler calls after the accepted alerts are durable on the bus.
 * A crash in between forgets the staged ids, so the redelivered batch is accepted again rather
 * than refused as a replay of something that was never stored.
 */
export class SqliteReplayCache implements ReplayCache {
  private readonly db: Database.Database;
  private readonly staged = new Map<string, number>();
  private readonly q: { get: Database.Statement<[string, number], { k: string }>; put: Database.Statement<[string, number]>; prune: Database.Statement<[number]>; count: Database.Statement<[], { n: number }> };

  constructor(path: string) {
    this.db = new Database(path);
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('journal_mode = WAL');
    this.db.exec('CREATE TABLE IF NOT EXISTS replay (k TEXT PRIMARY KEY, expires_at INTEGER NOT NULL) WITHOUT ROWID; CREATE INDEX IF NOT EXISTS replay_exp ON replay (expires_at);');
    this.q = {
      get: this.db.prepare('SELECT k FROM replay WHERE k = ? AND expires_at > ?'),
      put: this.db.prepare('INSERT INTO replay (k, expires_at) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET expires_at = MAX(expires_at, excluded.expires_at)'),
      prune: this.db.prepare('DELETE FROM replay WHERE expires_at <= ?'),
      count: this.db.prepare('SELECT COUNT(*) AS n FROM replay'),
    };
  }

  has(key: string, nowMs: number): boolean {
    const staged = this.staged.get(key);
    if (staged !== undefined && staged > nowMs) return true;
    return this.q.get.get(key, nowMs) !== undefined;
  }

  add(key: string, expiresAtMs: number): void {
    this.staged.set(key, Math.max(expiresAtMs, this.staged.get(key) ?? 0));
  }

  /** Makes the staged ids durable in one transaction and drops entries past their window. */
  commit(nowMs: number = Date.now()): void {
    try {
      this.db.transaction(() => {
        for (const [k, exp] of this.staged) this.q.put.run(k, exp);
        this.q.prune.run(nowMs);
      })();
    } catch (err) {
      throw new BackendUnavailableError(`replay cache write failed: ${(err as Error).message}`, { cause: err });
    }
    this.staged.clear();
  }

  /** Forgets staged ids after the batch failed: its redelivery must not look like a replay. */
  discard(): void {
    this.staged.clear();
  }

  get size(): number {
    return this.q.count.get()!.n;
  }

  close(): void {
    this.db.close();
  }
}
