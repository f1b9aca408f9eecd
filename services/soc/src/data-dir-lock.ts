import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { SocError } from '@soc/errors';

/**
 * One process per data directory: the embedded bus and store are SQLite files that two
 * pipelines must not share (each would consume, commit and index the other's records), and the
 * tail checkpoints and credentials live there too. An exclusive lock file holds the owner's pid;
 * a lock whose process is gone (kill -9, power loss) is stale and taken over. Released on stop
 * and on exit.
 */

export const LOCK_FILE = 'soc.lock';

interface LockInfo {
  pid: number;
  host: string;
  started_at: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, it is just not ours to signal.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readLock(path: string): LockInfo | undefined {
  try {
    const v = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockInfo>;
    return typeof v.pid === 'number' && typeof v.host === 'string' ? (v as LockInfo) : undefined;
  } catch {
    return undefined; // unreadable or half-written: no live owner can be named
  }
}

/** Whether the process a lock names is still running (as far as this host can tell). */
function held(info: LockInfo | undefined): info is LockInfo {
  if (!info) return false;
  if (info.host !== hostname()) return true; // a shared volume: we cannot see that process, so we do not steal
  // Our own pid in the file is a previous incarnation (a container restarts as pid 1 again).
  return info.pid !== process.pid && alive(info.pid);
}

export interface DataDirLock {
  path: string;
  release(): void;
}

export function lockDataDir(dataDir: string): DataDirLock {
  const path = join(dataDir, LOCK_FILE);
  const mine: LockInfo = { pid: process.pid, host: hostname(), started_at: new Date().toISOString() };
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, JSON.stringify(mine) + '\n');
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = readLock(path);
      if (held(owner)) {
        throw new SocError(
          `data directory ${dataDir} is in use by soc pid ${owner.pid}${owner.host !== mine.host ? ` on ${owner.host}` : ''} since ${owner.started_at} (stop it, or use another --data-dir; remove ${path} only if no soc runs there)`,
        );
      }
      if (attempt > 0) throw new SocError(`data directory ${dataDir}: could not take the lock ${path} (another soc is starting there)`);
      // Stale: its process is gone. Remove and try once more; a racing starter loses at openSync.
      try {
        unlinkSync(path);
      } catch {
        /* already removed by another starter */
      }
    }
  }
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    process.removeListener('exit', release);
    // Only our own lock: never remove one a later process took over.
    if (readLock(path)?.pid === process.pid) unlinkSync(path);
  };
  process.once('exit', release);
  return { path, release };
}
