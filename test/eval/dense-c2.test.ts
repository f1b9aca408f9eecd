import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { EcsEvent } from '@soc/schema';
import { buildReference, REFERENCE_CAPTURES } from '@soc/models/reference';
import { evaluateEvents, fitAndLoad, readZeekEvents, shippedModel } from '@soc/cli/eval-conn';
import { ROOT } from '../helpers/soc-process.ts';

/**
 * A short, dense remote-access-trojan session — 700 connections in 8 minutes to one host on an
 * odd port, too fast for any interval to count as a beacon — planted in each real benign
 * workstation day and scored out of the box by a reference built without that day (leave one
 * day out). It must be alerted within minutes of its first flow, and the day must stay as quiet
 * as without it. Fitted on a one-hour capture that holds the session (the short-capture case: less
 * than a day of baseline may lower the reference threshold, never raise it), it is still alerted. The C2 flows are copies of one of the day's own HTTPS flows, moved in time and
 * to the C2's address and port, so everything else is the real capture.
 */
const DATA = resolve(ROOT, '../shared/data/zeek-real');
const present = REFERENCE_CAPTURES.every((c) => existsSync(join(DATA, c, 'conn.log.gz')));
if (!present) console.warn(`dense-c2: skipped, ${DATA} (the Stratosphere captures) is absent`);

const C2 = '185.62.190.17';

function plant(events: EcsEvent[], port: number, flows: number, seconds: number): EcsEvent[] {
  const template = events.find((e) => e.network?.direction === 'outbound' && e.destination?.port === 443 && e.zeek)!;
  const t0 = Date.parse(events[Math.floor(events.length / 2)]!['@timestamp']);
  const out: EcsEvent[] = [];
  for (let i = 0; i < flows; i++) {
    const e = structuredClone(template) as EcsEvent & { zeek: { session_id?: string; connection?: Record<string, unknown> } };
    e['@timestamp'] = new Date(t0 + (i * seconds * 1000) / flows).toISOString();
    e.event = { ...e.event, id: `planted-${i}`, duration: 2e9 };
    e.destination = { ...e.destination, ip: C2, port, bytes: 260 + (i % 70) };
    e.source = { ...e.source, bytes: 340 + (i % 50) };
    delete e.network!.protocol;
    e.zeek.session_id = `Cplanted${i}`;
    e.zeek.connection = { ...e.zeek.connection, state: 'SF', orig_bytes: 200 + (i % 50), resp_bytes: 100 + (i % 70) };
    out.push(e);
  }
  // Zeek writes records when connections end: keep the capture's write order by end time.
  const end = (e: EcsEvent) => Date.parse(e['@timestamp']) + (e.event.duration ?? 0) / 1e6;
  return [...events, ...out].sort((a, b) => end(a) - end(b));
}

describe.skipIf(!present)('a dense, short-lived C2 session in real benign traffic', () => {
  for (const day of REFERENCE_CAPTURES) {
    it(`is alerted within minutes in ${day}, which stays under 2 alerts/hour`, async () => {
      const events = await readZeekEvents([join(DATA, day, 'conn.log.gz')]);
      const m = shippedModel();
      m.calibration = await buildReference(REFERENCE_CAPTURES.filter((c) => c !== day).map((c) => join(DATA, c)));
      const clean = await evaluateEvents(events, m, { mode: 'out-of-the-box' });
      const planted = await evaluateEvents(plant(events, 6606, 700, 480), m, { bad: [C2], mode: 'out-of-the-box' });
      expect(planted.recall).toBe(1);
      expect(planted.first_alert_s![C2]).toBeLessThan(300);
      expect(clean.alerts_per_hour).toBeLessThanOrEqual(2);
      expect(clean.plain_alerted_share).toBeLessThanOrEqual(0.1);
      // The planted session adds its own alert and nothing else.
      expect(planted.alerts).toBeLessThanOrEqual(clean.alerts + 1);
    }, 120_000);
  }

  it('is alerted within minutes in a one-hour capture fitted on itself, the session in its baseline', async () => {
    const day = REFERENCE_CAPTURES[2]!;
    const all = await readZeekEvents([join(DATA, day, 'conn.log.gz')]);
    const mid = Date.parse(all[Math.floor(all.length / 2)]!['@timestamp']);
    const hour = all.filter((e) => Math.abs(Date.parse(e['@timestamp']) - mid) < 1_800_000);
    const events = plant(hour, 6606, 700, 480);
    const dir = mkdtempSync(join(tmpdir(), 'soc-dense-fit-'));
    try {
      const m = await fitAndLoad(events, dir, 'dense-fit', [day]);
      try {
        const r = await evaluateEvents(events, m, { bad: [C2], mode: 'fitted-on-itself' });
        expect(r.recall).toBe(1);
        expect(r.first_alert_s![C2]).toBeLessThan(300);
        expect(r.plain_alerted_share).toBeLessThanOrEqual(0.05);
      } finally {
        await m.model?.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
