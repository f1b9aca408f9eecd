import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openEmbeddedBus, type Bus } from '@soc/bus';
import { SocError } from '@soc/errors';
import { DeadLetter, TOPICS, type Alert } from '@soc/schema';
import { openEmbeddedStore, type AlertStore } from '@soc/store';
import { Metrics, createLogger } from '@soc/telemetry';
import { startIndexer } from './indexer.ts';

const alert = (i: number): Alert => ({
  id: `alert-${String(i).padStart(4, '0')}`,
  '@timestamp': '2026-11-01T12:00:00.000Z',
  first_seen: '2026-11-01T12:00:00.000Z',
  last_seen: '2026-11-01T12:00:00.000Z',
  detector: 'suricata',
  rule: { id: '1', name: 'test rule' },
  score: 0.5,
  severity: 'medium',
  message: `alert ${i}`,
  explanation: { summary: 'test' },
  count: 1,
  related_events: [],
  origin: { soc: 'soc-test' },
  tlp: 'AMBER',
  status: 'new',
});

async function until(fn: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('indexer', () => {
  let dir: string;
  let bus: Bus;
  let store: AlertStore;
  const logger = createLogger('indexer-test', { level: 'silent' });

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'indexer-'));
    bus = openEmbeddedBus({ path: join(dir, 'bus.db') });
    await bus.ensureTopics([{ name: TOPICS.alerts, partitions: 2 }, { name: TOPICS.deadLetter, partitions: 1 }]);
    store = openEmbeddedStore({ path: join(dir, 'alerts.db') });
  });
  afterEach(async () => {
    await bus.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores alerts and dead-letters what can never be stored', async () => {
    const p = await bus.producer();
    await p.send(TOPICS.alerts, [...[1, 2, 3].map((i) => ({ key: alert(i).id, value: JSON.stringify(alert(i)) })), { key: 'bad', value: '{"id":"x"}' }, { key: 'worse', value: 'not json' }]);
    const ix = await startIndexer({ bus, store, logger, metrics: new Metrics({ defaults: false }) });
    await until(async () => (await store.search({ sort: '@timestamp', order: 'desc', limit: 10 })).total === 3);
    await until(async () => (await bus.read(TOPICS.deadLetter, { partition: 0 })).length === 2);
    const dead = (await bus.read(TOPICS.deadLetter, { partition: 0 })).map((r) => JSON.parse(r.value) as { stage: string; reason: string; raw: string });
    expect(dead.map((d) => d.raw).sort()).toEqual(['not json', '{"id":"x"}']);
    for (const d of dead) expect(d).toMatchObject({ stage: 'indexer', reason: expect.stringMatching(/invalid alert|not valid JSON/) });
    await ix.stop();
    await p.close();
  });

  it('commits nothing until the store accepted the batch, then catches up', async () => {
    let refusals = 2;
    const flaky: AlertStore = {
      ...store,
      kind: store.kind,
      upsert: async (alerts) => (refusals-- > 0 ? { upserted: 0, failed: alerts.map((a) => ({ id: a.id, reason: 'es_rejected_execution_exception', retriable: true })) } : store.upsert(alerts)),
    };
    const p = await bus.producer();
    await p.send(TOPICS.alerts, [4, 5].map((i) => ({ key: alert(i).id, value: JSON.stringify(alert(i)) })));
    const ix = await startIndexer({ bus, store: flaky, logger, metrics: new Metrics({ defaults: false }) });
    await until(async () => (await store.search({ sort: '@timestamp', order: 'desc', limit: 10 })).total === 2);
    await until(async () => (await bus.lag('soc-indexer', TOPICS.alerts)).every((l) => l.lag === 0));
    expect(refusals).toBeLessThan(0);
    expect(await bus.read(TOPICS.deadLetter, { partition: 0 })).toEqual([]);
    await ix.stop();
    await p.close();
  });

  const allAlerts = async () => (await store.search({ sort: '@timestamp', order: 'desc', limit: 1000 })).alerts.map((a) => a.id).sort();
  const deadLetters = async () => (await bus.read(TOPICS.deadLetter, { partition: 0, limit: 1000 })).map((r) => DeadLetter.parse(JSON.parse(r.value)));

  it('dead-letters an alert the store throws on, stores every other one once, and keeps consuming', async () => {
    // A store that throws (not reports) on one alert: before the poison-record policy the indexer retried that batch forever.
    const poisoned: AlertStore = {
      ...store,
      kind: store.kind,
      upsert: async (alerts) => {
        if (alerts.some((a) => a.id === alert(7).id)) throw new SocError('mapper_parsing_exception: object mapping for [labels] tried to parse field as object');
        return store.upsert(alerts);
      },
    };
    const p = await bus.producer();
    const ids = Array.from({ length: 30 }, (_, i) => i + 1);
    await p.send(TOPICS.alerts, ids.map((i) => ({ key: 'one-partition', value: JSON.stringify(alert(i)) })));
    const metrics = new Metrics({ defaults: false });
    const ix = await startIndexer({ bus, store: poisoned, logger, metrics, batchSize: 8 });
    await until(async () => (await bus.lag('soc-indexer', TOPICS.alerts)).every((l) => l.lag === 0));
    // Later alerts, after the poison one, still arrive.
    await p.send(TOPICS.alerts, [31, 32].map((i) => ({ key: 'one-partition', value: JSON.stringify(alert(i)) })));
    await until(async () => (await allAlerts()).length === 31);
    expect(await allAlerts()).toEqual([...ids, 31, 32].filter((i) => i !== 7).map((i) => alert(i).id).sort());
    const dead = await deadLetters();
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({ stage: 'indexer', group: 'soc-indexer', topic: TOPICS.alerts, raw: JSON.stringify(alert(7)) });
    expect(dead[0]!.reason).toMatch(/mapper_parsing_exception/);
    expect(dead[0]!.attempts).toBeGreaterThan(1);
    expect((await metrics.consumerDeadLetters.get()).values.map((v) => v.value)).toEqual([1]);
    await ix.stop();
    await p.close();
  });

  it('waits out a store held locked by a second writer (SQLITE_BUSY): nothing dead-lettered, nothing lost', async () => {
    await store.close();
    store = openEmbeddedStore({ path: join(dir, 'alerts.db'), busyTimeoutMs: 50 });
    const other = new Database(join(dir, 'alerts.db'));
    other.exec('BEGIN EXCLUSIVE');
    const p = await bus.producer();
    await p.send(TOPICS.alerts, Array.from({ length: 20 }, (_, i) => ({ key: null, value: JSON.stringify(alert(100 + i)) })));
    const ix = await startIndexer({ bus, store, logger, metrics: new Metrics({ defaults: false }), batchSize: 5 });
    // Long enough for the policy to split every batch down to single records, which must keep waiting.
    await new Promise((r) => setTimeout(r, 1500));
    other.exec('COMMIT');
    other.close();
    await until(async () => (await allAlerts()).length === 20, 20_000);
    await until(async () => (await bus.lag('soc-indexer', TOPICS.alerts)).every((l) => l.lag === 0));
    expect(await deadLetters()).toEqual([]);
    await ix.stop();
    await p.close();
  });
});
