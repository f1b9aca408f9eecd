/**
 * The bus conformance suite: the behaviour every adapter must show, declared as vitest tests so
 * each adapter's test file runs the same checks against the real backend.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackendUnavailableError, ValidationError } from '@soc/errors';
import { DeadLetter, TOPICS } from '@soc/schema';
import { Metrics } from '@soc/telemetry';
import { partitionForKey } from './partition.ts';
import type { Bus, ConsumedRecord, Consumer, ConsumerOptions, ProducerRecord } from './port.ts';

export interface BusUnderTest {
  bus: Bus;
  cleanup(): Promise<void>;
  /** Closes `bus` and opens a new one on the same storage (restart). Without it a restart is a new consumer on the same bus. */
  reopen?(bus: Bus): Promise<Bus>;
  /** Applies retention now; without it the retention test is not declared (Kafka deletes whole segments on its own schedule). */
  enforceRetention?(bus: Bus): Promise<void>;
  /** How long a group needs to settle after members join. Default 1 s. */
  settleMs?: number;
  /** Upper bound for waiting on deliveries. Default 20 s. */
  timeoutMs?: number;
}

export async function eventually(pred: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));
const uniqueTopic = (label: string) => `conf-${label}-${randomUUID().slice(0, 8)}`;
const keyed = (key: string | null, n: number, prefix = key ?? 'null'): ProducerRecord[] =>
  Array.from({ length: n }, (_, i) => ({ key, value: `${prefix}#${i}`, headers: { seq: String(i) } }));

/** What an injected handler failure throws: `true` a retriable outage, an Error that error. */
type Failure = (batch: ConsumedRecord[]) => boolean | Error;

/** Starts a consumer that records every batch it is handed, and separately the batches its handler accepted. */
async function collecting(bus: Bus, o: ConsumerOptions, fail?: Failure) {
  const batches: ConsumedRecord[][] = [];
  const handled: ConsumedRecord[][] = [];
  const consumer: Consumer = await bus.consumer(o);
  await consumer.run(async (batch) => {
    batches.push(batch);
    const f = fail?.(batch);
    if (f === true) throw new BackendUnavailableError('outage injected by the conformance suite');
    if (f instanceof Error) throw f;
    handled.push(batch);
  });
  return { consumer, batches, records: () => batches.flat(), handled: () => handled.flat() };
}

/** The dead letters the poison-record policy wrote for one topic. */
async function deadLettersOf(bus: Bus, topic: string): Promise<DeadLetter[]> {
  await bus.ensureTopics([{ name: TOPICS.deadLetter, partitions: 1 }]);
  return (await bus.read(TOPICS.deadLetter, { limit: 10_000 })).map((r) => DeadLetter.parse(JSON.parse(r.value))).filter((d) => d.topic === topic);
}

export interface ConformanceOptions {
  /**
   * Declares the retention test. Kafka deletes whole closed segments on the broker's own
   * schedule, so record-exact retention is not part of its contract (its topic configs are
   * checked by the contract tests). Default true.
   */
  retention?: boolean;
}

export function busConformance(name: string, makeBus: () => Promise<BusUnderTest>, o: ConformanceOptions = {}): void {
  describe(`bus conformance: ${name}`, () => {
    let h: BusUnderTest;
    let bus: Bus;
    const stops: Consumer[] = [];
    const timeout = () => h.timeoutMs ?? 20_000;
    const settle = () => delay(h.settleMs ?? 1000);
    const start = async (o: ConsumerOptions, fail?: Failure) => {
      const c = await collecting(bus, o, fail);
      stops.push(c.consumer);
      return c;
    };
    const stopAll = async () => {
      await Promise.all(stops.splice(0).map((c) => c.stop()));
    };

    beforeAll(async () => {
      h = await makeBus();
      bus = h.bus;
    });
    afterAll(async () => {
      await stopAll();
      await h?.cleanup();
    });

    it('creates topics idempotently', async () => {
      const topic = uniqueTopic('ensure');
      await bus.ensureTopics([{ name: topic, partitions: 3 }]);
      await bus.ensureTopics([{ name: topic, partitions: 3 }]);
      const lag = await bus.lag('nobody', topic);
      expect(lag.map((l) => l.partition).sort()).toEqual([0, 1, 2]);
      expect(lag.every((l) => l.end === 0 && l.lag === 0)).toBe(true);
    });

    it('keeps keyed records on the murmur2 partition, in order', async () => {
      const topic = uniqueTopic('keyed');
      await bus.ensureTopics([{ name: topic, partitions: 4 }]);
      const producer = await bus.producer();
      const keys = ['host-a', 'host-b', 'host-c', '10.0.0.7'];
      for (let round = 0; round < 3; round++) {
        await producer.send(topic, keys.flatMap((k) => keyed(k, 5, `${k}/${round}`)));
      }
      const all = await bus.read(topic, { limit: 1000 });
      expect(all).toHaveLength(60);
      for (const k of keys) {
        const mine = all.filter((r) => r.key === k);
        expect(new Set(mine.map((r) => r.partition))).toEqual(new Set([partitionForKey(k, 4)]));
        const inOffsetOrder = [...mine].sort((a, b) => a.offset - b.offset).map((r) => r.value);
        const sent = [0, 1, 2].flatMap((round) => keyed(k, 5, `${k}/${round}`).map((r) => r.value));
        expect(inOffsetOrder).toEqual(sent);
      }
      expect(all.find((r) => r.key === 'host-a')?.headers).toEqual({ seq: '0' });
    });

    it('spreads null-keyed records over partitions', async () => {
      const topic = uniqueTopic('nullkey');
      await bus.ensureTopics([{ name: topic, partitions: 4 }]);
      const producer = await bus.producer();
      for (let i = 0; i < 8; i++) await producer.send(topic, keyed(null, 5, `n${i}`));
      const all = await bus.read(topic, { limit: 1000 });
      expect(all).toHaveLength(40);
      expect(new Set(all.map((r) => r.partition)).size).toBeGreaterThan(1);
    });

    it('appends a batch and consumes it in batches of one topic-partition', async () => {
      const topic = uniqueTopic('batch');
      await bus.ensureTopics([{ name: topic, partitions: 3 }]);
      const producer = await bus.producer();
      const sent = Array.from({ length: 1000 }, (_, i) => ({ key: `k${i % 17}`, value: `v${i}` }));
      const meta = await producer.send(topic, sent);
      expect(meta).toHaveLength(1000);
      for (let p = 0; p < 3; p++) {
        const offs = meta.filter((m) => m.partition === p).map((m) => m.offset);
        expect(offs).toEqual(Array.from({ length: offs.length }, (_, i) => offs[0]! + i));
      }
      const c = await start({ groupId: `g-${randomUUID()}`, topics: [topic], maxBatchSize: 100 });
      await eventually(() => c.records().length >= 1000, timeout(), '1000 records');
      expect(new Set(c.records().map((r) => r.value))).toEqual(new Set(sent.map((r) => r.value)));
      for (const b of c.batches) {
        expect(b.length).toBeLessThanOrEqual(100);
        expect(new Set(b.map((r) => `${r.topic}/${r.partition}`)).size).toBe(1);
        expect(b.map((r) => r.offset)).toEqual([...b.map((r) => r.offset)].sort((x, y) => x - y));
      }
      await stopAll();
    });

    it('commits only after the handler succeeds: a batch failing retriably is redelivered, nothing is lost', async () => {
      const topic = uniqueTopic('retry');
      const groupId = `g-${randomUUID()}`;
      await bus.ensureTopics([{ name: topic, partitions: 2 }]);
      const producer = await bus.producer();
      await producer.send(topic, keyed(null, 50));
      let failed = false;
      const c = await start({ groupId, topics: [topic], maxBatchSize: 10 }, () => !failed && (failed = true));
      await eventually(() => new Set(c.records().map((r) => r.value)).size >= 50, timeout(), 'all 50 records');
      const [first, second] = c.batches;
      expect(second?.map((r) => r.offset)).toEqual(first?.map((r) => r.offset));
      await eventually(async () => (await bus.lag(groupId, topic)).every((l) => l.lag === 0), timeout(), 'lag 0');
      expect(await deadLettersOf(bus, topic)).toEqual([]);
      await stopAll();
    });

    it('dead-letters a poison record with where it was read and why; every other record is handled once', async () => {
      const topic = uniqueTopic('poison');
      const groupId = `g-${randomUUID()}`;
      // Kafka producers do not create topics: the pipeline provisions the dead-letter topic at start.
      await bus.ensureTopics([{ name: topic, partitions: 1 }, { name: TOPICS.deadLetter, partitions: 1 }]);
      const producer = await bus.producer();
      const sent = keyed('k', 40);
      sent[13] = { key: 'k', value: 'poison-a' };
      sent[27] = { key: 'k', value: 'poison-b' };
      await producer.send(topic, sent);
      const metrics = new Metrics({ defaults: false });
      const c = await start({ groupId, topics: [topic], maxBatchSize: 16, poison: { stage: 'detector', metrics } }, (b) =>
        b.some((r) => r.value.startsWith('poison')) ? new ValidationError('cannot analyse this record') : false,
      );
      await eventually(async () => (await bus.lag(groupId, topic)).every((l) => l.lag === 0), timeout(), 'lag 0 past the poison records');
      const good = sent.filter((r) => !r.value.startsWith('poison')).map((r) => r.value);
      expect(c.handled().map((r) => r.value)).toEqual(good);
      const dead = await deadLettersOf(bus, topic);
      expect(dead.map((d) => [d.raw, d.offset])).toEqual([['poison-a', 13], ['poison-b', 27]]);
      for (const d of dead) {
        expect(d).toMatchObject({ stage: 'detector', group: groupId, topic, partition: 0, source: `${topic}/0@${d.offset}` });
        expect(d.reason).toContain('cannot analyse this record');
        expect(d.attempts).toBeGreaterThan(1);
      }
      const counted = (await metrics.consumerDeadLetters.get()).values.find((v) => v.labels.group === groupId);
      expect(counted?.value).toBe(2);
      await stopAll();
    });

    it('retries an outage (retriable errors) without limit and dead-letters nothing', async () => {
      const topic = uniqueTopic('outage');
      const groupId = `g-${randomUUID()}`;
      await bus.ensureTopics([{ name: topic, partitions: 1 }]);
      await (await bus.producer()).send(topic, keyed('k', 20));
      let calls = 0;
      // Long enough for the policy to split the batch down to single records, which must then wait out the outage.
      const c = await start({ groupId, topics: [topic], maxBatchSize: 20, poison: { initialDelayMs: 1, maxDelayMs: 20, retriesBeforeSplit: 2 } }, () => ++calls <= 30);
      await eventually(async () => (await bus.lag(groupId, topic)).every((l) => l.lag === 0), timeout(), 'lag 0 after the outage');
      expect(calls).toBeGreaterThan(30);
      expect(c.handled().map((r) => r.value)).toEqual(keyed('k', 20).map((r) => r.value));
      expect(await deadLettersOf(bus, topic)).toEqual([]);
      await stopAll();
    });

    it('splits partitions between two consumers of one group with no record handled twice', async () => {
      const topic = uniqueTopic('split');
      const groupId = `g-${randomUUID()}`;
      await bus.ensureTopics([{ name: topic, partitions: 4 }]);
      const a = await start({ groupId, topics: [topic] });
      const b = await start({ groupId, topics: [topic] });
      await settle();
      const producer = await bus.producer();
      const sent = Array.from({ length: 200 }, (_, i) => ({ key: `key-${i}`, value: `v${i}` }));
      await producer.send(topic, sent);
      const handled = () => [...a.records(), ...b.records()];
      await eventually(() => handled().length >= 200, timeout(), '200 records across the group');
      await delay(200);
      const values = handled().map((r) => r.value);
      expect(values).toHaveLength(200);
      expect(new Set(values).size).toBe(200);
      const pa = new Set(a.records().map((r) => r.partition));
      const pb = new Set(b.records().map((r) => r.partition));
      expect(pa.size).toBeGreaterThan(0);
      expect(pb.size).toBeGreaterThan(0);
      expect([...pa].filter((p) => pb.has(p))).toEqual([]);
      await stopAll();
    });

    it('gives every group all records', async () => {
      const topic = uniqueTopic('groups');
      await bus.ensureTopics([{ name: topic, partitions: 2 }]);
      await (await bus.producer()).send(topic, keyed(null, 30));
      const one = await start({ groupId: `g1-${randomUUID()}`, topics: [topic] });
      const two = await start({ groupId: `g2-${randomUUID()}`, topics: [topic] });
      await eventually(() => one.records().length >= 30 && two.records().length >= 30, timeout(), 'both groups');
      expect(new Set(one.records().map((r) => r.value)).size).toBe(30);
      expect(new Set(two.records().map((r) => r.value)).size).toBe(30);
      await stopAll();
    });

    it('resumes a group from its committed offsets after a restart', async () => {
      const topic = uniqueTopic('resume');
      const groupId = `g-${randomUUID()}`;
      await bus.ensureTopics([{ name: topic, partitions: 2 }]);
      await (await bus.producer()).send(topic, keyed(null, 40, 'before'));
      const first = await start({ groupId, topics: [topic], maxBatchSize: 7 });
      await eventually(() => first.records().length >= 40, timeout(), 'first 40');
      await stopAll();
      if (h.reopen) {
        bus = await h.reopen(bus);
        h.bus = bus;
      }
      await (await bus.producer()).send(topic, keyed(null, 25, 'after'));
      const second = await start({ groupId, topics: [topic] });
      await eventually(() => second.records().length >= 25, timeout(), '25 new records');
      await delay(200);
      expect(second.records().map((r) => r.value).sort()).toEqual(keyed(null, 25, 'after').map((r) => r.value).sort());
      await stopAll();
    });

    it('reports lag per partition', async () => {
      const topic = uniqueTopic('lag');
      const groupId = `g-${randomUUID()}`;
      await bus.ensureTopics([{ name: topic, partitions: 3 }]);
      await (await bus.producer()).send(topic, keyed(null, 30));
      const before = await bus.lag(groupId, topic);
      expect(before).toHaveLength(3);
      expect(before.reduce((s, l) => s + l.lag, 0)).toBe(30);
      expect(before.reduce((s, l) => s + l.end, 0)).toBe(30);
      const c = await start({ groupId, topics: [topic] });
      await eventually(() => c.records().length >= 30, timeout(), '30 records');
      await eventually(async () => (await bus.lag(groupId, topic)).reduce((s, l) => s + l.lag, 0) === 0, timeout(), 'lag 0');
      const after = await bus.lag(groupId, topic);
      expect(after.every((l) => l.committed === l.end)).toBe(true);
      await stopAll();
    });

    it('reads a partition from an offset without a group', async () => {
      const topic = uniqueTopic('read');
      await bus.ensureTopics([{ name: topic, partitions: 2 }]);
      await (await bus.producer()).send(topic, keyed('one-key', 10));
      const p = partitionForKey('one-key', 2);
      const got = await bus.read(topic, { partition: p, fromOffset: 3, limit: 4 });
      expect(got.map((r) => r.offset)).toEqual([3, 4, 5, 6]);
      expect(got.map((r) => r.value)).toEqual(['one-key#3', 'one-key#4', 'one-key#5', 'one-key#6']);
      expect(await bus.read(topic, { partition: 1 - p })).toEqual([]);
    });

    if (o.retention ?? true) {
      it('deletes records by retention (age and size)', async (ctx) => {
        // Kafka's retention runs on the broker's own schedule; adapters without a trigger skip it.
        if (!h.enforceRetention) return ctx.skip('adapter has no retention trigger');
        const byAge = uniqueTopic('age');
        const bySize = uniqueTopic('size');
        await bus.ensureTopics([
          { name: byAge, partitions: 1, retentionMs: 60_000 },
          { name: bySize, partitions: 1, retentionBytes: 1000 },
        ]);
        const producer = await bus.producer();
        const old = Date.now() - 3_600_000;
        await producer.send(byAge, keyed('k', 10, 'old').map((r) => ({ ...r, timestamp: old })));
        await producer.send(byAge, keyed('k', 5, 'new'));
        await producer.send(bySize, Array.from({ length: 50 }, (_, i) => ({ key: null, value: `${i}`.padEnd(100, '.') })));
        await h.enforceRetention(bus);
        expect((await bus.read(byAge, { limit: 100 })).map((r) => r.value)).toEqual(keyed('k', 5, 'new').map((r) => r.value));
        const left = await bus.read(bySize, { limit: 100 });
        expect(left.length).toBeGreaterThan(0);
        expect(left.length).toBeLessThanOrEqual(10);
        expect(left[left.length - 1]?.offset).toBe(49);
        // Offsets keep growing after deletion.
        const [meta] = await producer.send(bySize, [{ key: null, value: 'next' }]);
        expect(meta?.offset).toBe(50);
      });
    }
  });
}
