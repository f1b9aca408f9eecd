import { spawn } from 'node:child_process';

/**
 * Another process writing to a SQLite file: it takes the write lock, holds it for `ms`, and
 * commits a change (a row in its own probe table), as a concurrent writer does (the indexer's
 * batch while an analyst triages). Resolves once the lock is held, with a promise of the commit.
 * `driver` is the caller's resolved path of better-sqlite3.
 */
export async function holdWriteLock(dbPath: string, ms: number, driver: string): Promise<{ committed: Promise<void> }> {
  const script = `const D = require(process.argv[1]); const db = new D(process.argv[2]);
db.exec('BEGIN IMMEDIATE; CREATE TABLE IF NOT EXISTS test_writer_probe (x); INSERT INTO test_writer_probe VALUES (1)');
process.stdout.write('locked\\n'); setTimeout(() => { db.exec('COMMIT'); db.close(); }, Number(process.argv[3]));`;
  const child = spawn(process.execPath, ['-e', script, driver, dbPath, String(ms)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const committed = new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`the writer exited with ${code}`))));
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (b: Buffer) => b.toString().includes('locked') && resolve());
    committed.catch(reject);
  });
  return { committed };
}
