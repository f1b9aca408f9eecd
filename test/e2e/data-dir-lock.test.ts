import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startSoc, type SocProcess } from '../helpers/soc-process.ts';

/** Two `soc start` on one data directory would share its SQLite bus and store: the second refuses. */
describe('data directory lock', () => {
  const dir = mkdtempSync(join(tmpdir(), 'soc-lock-'));
  const running: SocProcess[] = [];
  afterAll(async () => {
    await Promise.all(running.map((s) => s.stop('SIGKILL')));
    rmSync(dir, { recursive: true, force: true });
  });
  const lockFile = join(dir, 'soc.lock');
  const env = { SOC_DETECTOR_ANOMALY: 'false' };

  it('refuses a second soc start on the same data directory, naming the owner', async () => {
    const first = await startSoc({ dataDir: dir, env });
    running.push(first);
    expect(JSON.parse(readFileSync(lockFile, 'utf8'))).toMatchObject({ pid: first.proc.pid });
    const second = await startSoc({ dataDir: dir, env }).then(
      (s) => (running.push(s), 'started'),
      (err: Error) => err.message,
    );
    expect(second).toMatch(/exited with 1 before ready/);
    expect(second).toMatch(new RegExp(`soc: data directory .* is in use by soc pid ${first.proc.pid}`));
    // The first one is untouched and still serves.
    expect((await fetch(`${first.url}/healthz`)).status).toBe(200);
  });

  it('takes over the lock of a killed soc, and releases its own on a clean stop', async () => {
    const first = running.pop()!;
    expect(await first.stop('SIGKILL')).toBeNull();
    expect(existsSync(lockFile)).toBe(true); // kill -9 leaves it: stale
    const next = await startSoc({ dataDir: dir, env });
    expect(JSON.parse(readFileSync(lockFile, 'utf8'))).toMatchObject({ pid: next.proc.pid });
    expect((await fetch(`${next.url}/readyz`, { headers: { authorization: `Bearer ${next.sensorToken}` } })).status).toBe(200);
    const code = await next.stop('SIGTERM');
    expect(code, next.stderr()).toBe(0);
    expect(existsSync(lockFile)).toBe(false);
  });
});
