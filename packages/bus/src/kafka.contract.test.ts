import kafkajs from 'kafkajs';
import { describe, expect, it, vi } from 'vitest';
import { BackendUnavailableError } from '@soc/errors';
import { createLogger } from '@soc/telemetry';
import { busConformance, eventually } from './conformance.ts';
import { createKafkaBus, kafkaClientConfig, kafkaLogCreator } from './kafka.ts';
import { partitionForKey } from './partition.ts';
import type { ConsumedRecord } from './port.ts';
import { FakeKafka } from './testing/fake-kafka.ts';

const { CompressionTypes, KafkaJSConnectionError, KafkaJSNonRetriableError, KafkaJSNumberOfRetriesExceeded, logLevel } = kafkajs;
const logger = createLogger('bus-test', { level: 'warn' });
const busOn = (fake: FakeKafka, extra: { compression?: 'gzip' | 'none' } = {}) => createKafkaBus({ brokers: ['127.0.0.1:9092'], clientId: 'test', kafka: fake, logger, ...extra });

// The whole conformance suite against the adapter, with kafkajs replaced by the recording fake.
busConformance('kafka adapter over a kafkajs fake', async () => {
  const fake = new FakeKafka();
  const bus = busOn(fake);
  return {
    bus,
    settleMs: 100,
    async reopen(old) {
      await old.close();
      return busOn(fake);
    },
    async cleanup() {
      await bus.close();
    },
  };
});

describe('kafka adapter contract with kafkajs', () => {
  it('configures an idempotent, acks=all, gzip producer that delegates partitioning to kafkajs', async () => {
    const fake = new FakeKafka();
    const bus = busOn(fake);
    await bus.ensureTopics([{ name: 'events', partitions: 6 }]);
    const producer = await bus.producer();
    const records = ['h1', 'h2', 'h3', 'h1', null, null].map((key, i) => ({ key, value: `v${i}` }));
    const meta = await producer.send('events', records);

    const cfg = fake.calls.producerConfigs[0]!;
    expect(cfg.idempotent).toBe(true);
    expect(cfg.maxInFlightRequests).toBe(1);
    expect(typeof cfg.createPartitioner).toBe('function');
    const sent = fake.calls.sends[0]!;
    expect(sent.acks).toBe(-1);
    expect(sent.compression).toBe(CompressionTypes.GZIP);
    expect(sent.messages.map((m) => m.key)).toEqual(['h1', 'h2', 'h3', 'h1', null, null]);
    expect(sent.messages.every((m) => m.partition === undefined)).toBe(true);

    for (let i = 0; i < 4; i++) expect(meta[i]!.partition).toBe(partitionForKey(records[i]!.key!, 6));
    // Offsets per partition follow the broker's baseOffset, in send order.
    const h1 = meta.filter((_, i) => records[i]!.key === 'h1');
    expect(h1[1]!.offset).toBe(h1[0]!.offset + 1);
    const stored = fake.topics.get('events')!;
    for (const [i, m] of meta.entries()) expect(stored[m.partition]![m.offset]!.value?.toString()).toBe(`v${i}`);

    const plain = busOn(fake, { compression: 'none' });
    await (await plain.producer()).send('events', [{ key: 'x', value: 'y' }]);
    expect(fake.calls.sends[1]!.compression).toBe(CompressionTypes.None);
    await bus.close();
    await plain.close();
  });

  it('maps kafkajs errors to BackendUnavailableError with the retriable flag kafkajs gave', async () => {
    const fake = new FakeKafka();
    const bus = busOn(fake);
    await bus.ensureTopics([{ name: 't', partitions: 1 }]);
    const producer = await bus.producer();
    const retriable = new KafkaJSConnectionError('Connection error: ECONNREFUSED');
    fake.sendFailures.push(retriable, new KafkaJSNonRetriableError('Invalid message'), new KafkaJSNumberOfRetriesExceeded(retriable, { retryCount: 8, retryTime: 5000 }));
    const outcomes: unknown[] = [];
    for (let i = 0; i < 3; i++) outcomes.push(await producer.send('t', [{ key: null, value: 'x' }]).catch((e: unknown) => e));
    expect(outcomes.every((e) => e instanceof BackendUnavailableError)).toBe(true);
    expect(outcomes.map((e) => (e as BackendUnavailableError).retriable)).toEqual([true, false, true]);
    expect((outcomes[0] as Error).cause).toBe(retriable);
    await bus.close();
  });

  it('sends again with a new producer id when the idempotent producer is out of sequence, once', async () => {
    const fake = new FakeKafka();
    const bus = busOn(fake);
    await bus.ensureTopics([{ name: 't', partitions: 1 }]);
    const producer = await bus.producer();
    const outOfOrder = () => Object.assign(new kafkajs.KafkaJSProtocolError('The broker received an out of order sequence number'), { type: 'OUT_OF_ORDER_SEQUENCE_NUMBER', code: 45 });
    fake.sendFailures.push(outOfOrder());
    const [meta] = await producer.send('t', [{ key: null, value: 'x' }]);
    expect(meta?.offset).toBe(0);
    // A second producer was made (a new producer id), and the batch went out on it.
    expect(fake.calls.producerConfigs).toHaveLength(2);
    expect(fake.calls.sends).toHaveLength(2);
    // Twice in a row is not papered over: the caller sees it.
    fake.sendFailures.push(outOfOrder(), outOfOrder());
    await expect(producer.send('t', [{ key: null, value: 'y' }])).rejects.toBeInstanceOf(BackendUnavailableError);
    await bus.close();
  });

  it('commits a batch only after its handler succeeded; a throwing handler gets the same batch again', async () => {
    const fake = new FakeKafka();
    const bus = busOn(fake);
    await bus.ensureTopics([{ name: 't', partitions: 1 }]);
    await (await bus.producer()).send('t', Array.from({ length: 5 }, (_, i) => ({ key: null, value: `v${i}` })));
    const calls: ConsumedRecord[][] = [];
    const commitsSeenByHandler: number[] = [];
    const consumer = await bus.consumer({ groupId: 'g', topics: ['t'] });
    await consumer.run(async (batch) => {
      calls.push(batch);
      commitsSeenByHandler.push(fake.calls.commits.length);
      if (calls.length === 1) throw new BackendUnavailableError('transient');
    });
    await eventually(() => fake.calls.commits.length > 0, 5000, 'a commit');
    expect(calls[1]!.map((r) => r.offset)).toEqual(calls[0]!.map((r) => r.offset));
    expect(commitsSeenByHandler).toEqual([0, 0]);
    expect(fake.calls.commits).toEqual([{ groupId: 'g', topic: 't', partition: 0, offset: '5' }]);
    const consumerCfg = fake.calls.consumerConfigs[0]!;
    expect(consumerCfg.groupId).toBe('g');
    await consumer.stop();
    await bus.close();
  });

  it('provisions topics with partitions, replication and retention, and grows partitions', async () => {
    const fake = new FakeKafka();
    const bus = createKafkaBus({ brokers: ['b:9092'], clientId: 'c', kafka: fake, logger, replicationFactor: 3 });
    await bus.ensureTopics([{ name: 'ecs', partitions: 4, retentionMs: 86_400_000, retentionBytes: 1_000_000 }]);
    await bus.ensureTopics([{ name: 'ecs', partitions: 8 }]);
    expect(fake.calls.createTopics).toEqual([
      {
        topic: 'ecs',
        numPartitions: 4,
        replicationFactor: 3,
        configEntries: [
          { name: 'retention.ms', value: '86400000' },
          { name: 'retention.bytes', value: '1000000' },
        ],
      },
    ]);
    expect(fake.calls.createPartitions).toEqual([{ topic: 'ecs', count: 8 }]);
    await bus.close();
  });

  it('passes TLS and SASL settings to kafkajs and routes kafkajs logs into pino', () => {
    const log = createLogger('kafka-log-test', { level: 'info' });
    const errors = vi.spyOn(log, 'error').mockImplementation(() => undefined);
    const debugs = vi.spyOn(log, 'debug').mockImplementation(() => undefined);
    const cfg = kafkaClientConfig(
      {
        brokers: ['k1:9093', 'k2:9093'],
        clientId: 'soc-a',
        ssl: { ca: 'CA', cert: 'CERT', key: 'KEY', rejectUnauthorized: true },
        sasl: { mechanism: 'scram-sha-512', username: 'soc', password: 'secret' },
      },
      log,
    );
    expect(cfg.brokers).toEqual(['k1:9093', 'k2:9093']);
    expect(cfg.clientId).toBe('soc-a');
    expect(cfg.ssl).toEqual({ ca: 'CA', cert: 'CERT', key: 'KEY', rejectUnauthorized: true });
    expect(cfg.sasl).toEqual({ mechanism: 'scram-sha-512', username: 'soc', password: 'secret' });
    expect(cfg.logLevel).toBe(logLevel.INFO);
    expect(kafkaClientConfig({ brokers: ['k'], clientId: 'c' }, log).ssl).toBeUndefined();

    const write = kafkaLogCreator(log)!(logLevel.INFO);
    write({ namespace: 'Consumer', level: logLevel.ERROR, label: 'ERROR', log: { message: 'crash', timestamp: 'now', logger: 'kafkajs', groupId: 'g1' } });
    write({ namespace: 'Producer', level: logLevel.DEBUG, label: 'DEBUG', log: { message: 'chatter', timestamp: 'now', logger: 'kafkajs' } });
    expect(errors).toHaveBeenCalledWith({ kafkajs: 'Consumer', groupId: 'g1' }, 'crash');
    expect(debugs).toHaveBeenCalledWith({ kafkajs: 'Producer' }, 'chatter');
  });
});
