import { readFileSync } from 'node:fs';

/** The unit of /proc's utime and stime: USER_HZ, 100 on Linux whatever the kernel's tick rate. */
const USER_HZ = 100;

/**
 * CPU seconds (user + system) the calling thread has used, from `/proc/thread-self/stat`; undefined
 * where the OS does not say (not Linux). Node 20 has no per-thread CPU clock of its own, and
 * `process.cpuUsage()` in a worker thread answers for the whole process.
 */
export function threadCpuSeconds(): number | undefined {
  let stat: string;
  try {
    stat = readFileSync('/proc/thread-self/stat', 'utf8');
  } catch {
    return undefined;
  }
  return cpuSecondsOfStat(stat);
}

/** utime + stime of a `/proc/<pid>/task/<tid>/stat` line, in seconds. */
export function cpuSecondsOfStat(stat: string): number | undefined {
  // The command name may hold spaces and parentheses: the fields start after its last ") ".
  const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the line, the 12th and 13th after the name.
  const ticks = Number(fields[11]) + Number(fields[12]);
  return Number.isFinite(ticks) ? ticks / USER_HZ : undefined;
}
