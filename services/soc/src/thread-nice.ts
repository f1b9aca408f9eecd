import { getPriority, setPriority } from 'node:os';

/**
 * Sets the calling thread's nice value and returns the one in force (undefined where the OS does
 * not say). Linux nice values are per thread, so only this thread changes; lowering priority
 * needs no privilege, raising it needs CAP_SYS_NICE (without it the thread keeps its priority).
 */
export function setThreadNice(nice: number): number | undefined {
  try {
    setPriority(0, nice);
  } catch {
    /* not permitted: keep the inherited priority */
  }
  try {
    return getPriority(0);
  } catch {
    return undefined;
  }
}
