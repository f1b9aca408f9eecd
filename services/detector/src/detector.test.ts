import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openEmbeddedBus, type Bus } from '@soc/bus';
import { Alert, DeadLetter, EcsEvent, TOPICS } from '@soc/schema';
import { Metrics, createLogger } from '@soc/telemetry';
import { signatureAnalyzer, startDetector, type Analyzer } from './detector.ts';

const ctx = { origin: { soc: 'soc-ee', country: 'EE' }, tlp: 'AMBER' as const };
const event = (i: number): EcsEvent =>
  EcsEvent.parse({
    '@timestamp': '2026-11-01T12:00:00.000Z',
    event: { id: `ev-${i}`, kind: 'alert', category: ['intrusion_detection'], type: ['info'], dataset: 'suricata.eve', severity: 2 },
    source: { ip: '203.0.113.9', port: 40000 + i },
    destination: { ip: '10.0.0.5', port: 22 },
    rule: { id: '2001219', name: 'ET SCAN Potential SSH Scan' },
  });

async function until(fn: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('detector poison-record policy', () => {
  let dir: string;
  let bus: Bus;
  const logger = createLogger('detector-test', { level: 'silent' });
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'detector-'));
    bus = openEmbeddedBus({ path: join(dir, 'bus.db'), logger });
    await bus.ensureTopics([{ name: TOPICS.events, partitions: 1 }, { name: TOPICS.alerts, partitions: 1 }, { name: TOPICS.deadLetter, partitions: 1 }]);
  });
  afterEach(async () => {
    await bus.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const alertsOnTopic = async () => (await bus.read(TOPICS.alerts, { limit: 10_000 })).map((r) => Alert.parse(JSON.parse(r.value)));

  it('dead-letters an event an analyzer throws on; every other event gives its alert once; later events still flow', async () => {
    // An analyzer with a bug on one kind of input (here: one source port). Before the policy the detector retried that batch forever.
    const buggy: Analyzer = {
      name: 'buggy',
      analyze: async (events) => {
        const bad = events.find((e) => e.source?.port === 40013);
        if (bad) throw new TypeError(`Cannot read properties of undefined (reading 'bytes') in event ${bad.event.id}`);
        return [];
      },
    };
    const p = await bus.producer();
    await p.send(TOPICS.events, Array.from({ length: 40 }, (_, i) => ({ key: '10.0.0.5', value: JSON.stringify(event(i)) })));
    const metrics = new Metrics({ defaults: false });
    const d = await startDetector({ bus, logger, metrics, analyzers: [signatureAnalyzer(ctx), buggy], maxBatchSize: 16 });
    await until(async () => (await bus.lag('soc-detector', TOPICS.events)).every((l) => l.lag === 0));
    await p.send(TOPICS.events, [40, 41].map((i) => ({ key: '10.0.0.5', value: JSON.stringify(event(i)) })));
    await until(async () => new Set((await alertsOnTopic()).map((a) => a.id)).size === 41);

    const byEvent = new Map<string, Set<string>>();
    for (const a of await alertsOnTopic()) for (const e of a.related_events) byEvent.set(e, (byEvent.get(e) ?? new Set()).add(a.id));
    const expected = Array.from({ length: 42 }, (_, i) => i).filter((i) => i !== 13).map((i) => `ev-${i}`);
    expect([...byEvent.keys()].sort()).toEqual(expected.sort());
    // One alert id per event: a redelivered half re-sends the same id, which the store upserts.
    for (const ids of byEvent.values()) expect(ids.size).toBe(1);

    const dead = (await bus.read(TOPICS.deadLetter, { limit: 100 })).map((r) => DeadLetter.parse(JSON.parse(r.value)));
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({ stage: 'detector', group: 'soc-detector', topic: TOPICS.events, partition: 0, offset: 13, raw: JSON.stringify(event(13)) });
    expect(dead[0]!.reason).toMatch(/TypeError: Cannot read properties/);
    expect((await metrics.consumerDeadLetters.get()).values).toEqual([expect.objectContaining({ value: 1, labels: { group: 'soc-detector', topic: TOPICS.events, stage: 'detector' } })]);
    await d.stop();
    await p.close();
  });
});
