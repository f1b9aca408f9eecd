import { spawn } from 'node:child_process';

/**
 * Several processes opening one new SQLite file at the same instant, as services started
 * together on a fresh data directory do. `script` (run with tsx) calls `atParentsInstant()` and
 * then opens `path`; it exits 0 when the open worked, or 1 with the error on stderr. Timers are
 * too coarse to line processes up, so the parent names an instant and each child spins to it.
 */
export async function openAtOnce(script: string, path: string, processes: number, cwd: string): Promise<{ code: number | null; stderr: string }[]> {
  const kids = Array.from({ length: processes }, () => spawn(process.execPath, ['--import', 'tsx', script, path], { stdio: ['pipe', 'pipe', 'pipe'], cwd }));
  try {
    const results = kids.map(
      (k) =>
        new Promise<{ code: number | null; stderr: string }>((resolve) => {
          let stderr = '';
          k.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
          k.once('exit', (code) => resolve({ code, stderr: stderr.trim() }));
        }),
    );
    await Promise.all(kids.map((k) => new Promise<void>((resolve) => k.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve()))));
    const at = Date.now() + 300;
    for (const k of kids) k.stdin.write(`${at}\n`);
    return await Promise.all(results);
  } finally {
    for (const k of kids) if (k.exitCode === null) k.kill('SIGKILL');
  }
}

/** In the child of `openAtOnce`: says it is ready, then returns at the instant the parent names. */
export function atParentsInstant(): Promise<void> {
  process.stdout.write('ready\n');
  return new Promise((resolve) => {
    process.stdin.once('data', (d: Buffer) => {
      const at = Number(d.toString().trim());
      while (Date.now() < at) {
        // spin
      }
      resolve();
    });
  });
}

/** In the child: runs the open, exits 0, or 1 with the error's code and message on stderr. */
export async function exitWithOutcome(open: () => Promise<void>): Promise<never> {
  try {
    await open();
    process.exit(0);
  } catch (err) {
    process.stderr.write(`${String((err as { code?: unknown }).code)}: ${(err as Error).message}\n`);
    process.exit(1);
  }
}
