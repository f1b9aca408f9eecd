import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEmbeddedBus } from '@soc/bus';
import { EcsEvent, TOPICS } from '@soc/schema';
import { api, eveAlert, startSoc, waitFor, type SocProcess } from '../helpers/soc-process.ts';

/** `collector.preserveOriginal` from the environment reaches the parser threads of `soc start`. */
describe('soc start with SOC_COLLECTOR_PRESERVE_ORIGINAL=false', () => {
  let dir: string;
  let soc: SocProcess;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'soc-original-'));
    soc = await startSoc({ dataDir: join(dir, 'data'), env: { SOC_COLLECTOR_PRESERVE_ORIGINAL: 'false' } });
  });
  afterAll(async () => {
    expect(await soc?.stop()).toBe(0);
    rmSync(dir, { recursive: true, force: true });
  });

  it('puts events on the bus without event.original, ids and fields intact, and still alerts', async () => {
    const lines = Array.from({ length: 5 }, (_, i) => eveAlert(i));
    const r = await api(soc.url, soc.sensorToken, '/v1/events', { method: 'POST', body: lines.join('\n'), headers: { 'content-type': 'application/x-ndjson' } });
    expect(r.status).toBe(202);
    expect(r.body.accepted).toBe(5);
    const bus = openEmbeddedBus({ path: join(dir, 'data', 'bus.db') });
    try {
      const events = (await bus.read(TOPICS.events, { partition: 0, fromOffset: 0, limit: 100 })).map((rec) => EcsEvent.parse(JSON.parse(rec.value)));
      expect(events).toHaveLength(5);
      for (const e of events) {
        expect(e.event).not.toHaveProperty('original');
        expect(e.event.id).toMatch(/^[0-9a-f]{32}$/);
        expect(e.rule?.id).toBeDefined();
      }
    } finally {
      await bus.close();
    }
    // Detection does not need the copy: the alerts are indexed as usual.
    await waitFor(async () => (await api(soc.url, soc.analystToken, '/v1/alerts')).body.total >= 5 || undefined, 'five alerts queryable');
  });
});
