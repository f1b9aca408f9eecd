import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The floor for the embedded adapters: plain inserts of same-sized values into one indexed
 * SQLite table, WAL + synchronous=FULL, one transaction per batch, no other work.
 */
export function sqliteInsertBaseline(o: { rows: number; valueBytes: number; batchSize: number }): number {
  const dir = mkdtempSync(join(tmpdir(), 'soc-sqlite-baseline-'));
  try {
    const db = new Database(join(dir, 'baseline.db'));
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.exec('CREATE TABLE t (seq INTEGER PRIMARY KEY, k TEXT NOT NULL, v TEXT NOT NULL); CREATE UNIQUE INDEX t_k ON t (k)');
    const insert = db.prepare('INSERT INTO t (k, v) VALUES (?, ?)');
    const value = 'x'.repeat(o.valueBytes);
    const batch = db.transaction((from: number, n: number) => {
      for (let i = from; i < from + n; i++) insert.run(`k${i}`, value);
    });
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < o.rows; i += o.batchSize) batch(i, Math.min(o.batchSize, o.rows - i));
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    db.close();
    return o.rows / s;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
