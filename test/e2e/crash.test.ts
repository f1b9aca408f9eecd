import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openEmbeddedBus } from '@soc/bus';
import { TOPICS } from '@soc/schema';
import { api, eveAlert, startSoc, waitFor } from '../helpers/soc-process.ts';

/**
 * kill -9 while events stream in; restart; every event that got a 202 must have produced
 * exactly one alert: none lost (the bus had it before the 202), none twice (ids are
 * deterministic, the store upserts).
 */
describe('crash safety', () => {
  it('loses no accepted event and duplicates none across kill -9', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'soc-crash-'));
    try {
      let soc = await startSoc({ dataDir: dir });
      const accepted: number[] = [];
      let next = 0;
      let killed = false;
      const sender = (async () => {
        while (!killed) {
          const batch = Array.from({ length: 50 }, () => next++);
          try {
            const r = await api(soc.url, soc.sensorToken, '/v1/events', { method: 'POST', body: batch.map((i) => eveAlert(i, { sid: 4000001 })).join('\n') });
            if (r.status === 202) accepted.push(...batch);
          } catch {
            // connection cut by the kill: not acknowledged, so not counted
          }
        }
      })();
      await waitFor(async () => accepted.length >= 1500, 'some accepted events');
      soc.proc.kill('SIGKILL');
      killed = true;
      await soc.stop();
      await sender;
      expect(accepted.length).toBeGreaterThan(0);

      soc = await startSoc({ dataDir: dir });
      // Read beside the running process (SQLite WAL): whether the detector and the indexer have
      // consumed everything on the bus, including events appended whose 202 the kill cut off.
      const bus = openEmbeddedBus({ path: join(dir, 'bus.db') });
      try {
        const drained = async () =>
          (await bus.lag('soc-detector', TOPICS.events)).every((p) => p.lag === 0) && (await bus.lag('soc-indexer', TOPICS.alerts)).every((p) => p.lag === 0);
        // Counted only once nothing is left to index, so alerts still arriving cannot skew it.
        const total = await waitFor(async () => {
          if (!(await drained())) return undefined;
          const r = await api(soc.url, soc.analystToken, '/v1/alerts?rule_id=4000001&limit=1');
          return r.body.total >= accepted.length ? r.body.total : undefined;
        }, `${accepted.length} alerts after restart, bus drained`, 60_000);
        // Events sent but never acknowledged may or may not be there; acknowledged ones must be, once each.
        const ids = new Set<string>();
        const perPort = new Map<number, number>();
        let cursor: string | null = null;
        do {
          const page: { body: { alerts: { id: string; source?: { port?: number } }[]; next_cursor: string | null } } = await api(soc.url, soc.analystToken, `/v1/alerts?rule_id=4000001&limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
          for (const a of page.body.alerts) {
            ids.add(a.id);
            const port = a.source?.port ?? -1;
            perPort.set(port, (perPort.get(port) ?? 0) + 1);
          }
          cursor = page.body.next_cursor;
        } while (cursor);
        expect(ids.size).toBe(total);
        expect(total).toBeLessThanOrEqual(next);
        // eveAlert(i) sends from port 40000 + i: each acknowledged event has exactly one alert.
        const missing = accepted.filter((i) => perPort.get(40000 + i) !== 1);
        expect(missing).toEqual([]);
      } finally {
        await bus.close();
        expect(await soc.stop()).toBe(0);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
