/**
 * An in-memory stand-in for the kafkajs surface the Kafka adapter uses (KafkaLike). It keeps a
 * log per topic-partition, group commits and group membership, calls the producer's configured
 * partitioner like kafkajs does, re-fetches unresolved messages like kafkajs does, and records
 * every call so contract tests can assert what the adapter asked of kafkajs.
 */
import kafkajs from 'kafkajs';
import type { ConsumerConfig, ConsumerRunConfig, ConsumerSubscribeTopics, EachBatchPayload, ITopicConfig, Message, ProducerConfig, ProducerRecord } from 'kafkajs';
import type { KafkaAdminLike, KafkaConsumerLike, KafkaLike, KafkaProducerLike } from '../kafka.ts';

/** The shape kafkajs hands to eachBatch (KafkaMessage's record-batch variant). */
interface StoredMessage {
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer>;
  offset: string;
  timestamp: string;
  attributes: number;
  size: number;
}

export class FakeKafka implements KafkaLike {
  readonly topics = new Map<string, StoredMessage[][]>();
  readonly committed = new Map<string, number>();
  readonly groups = new Map<string, FakeConsumer[]>();
  readonly calls = {
    producerConfigs: [] as ProducerConfig[],
    consumerConfigs: [] as ConsumerConfig[],
    sends: [] as ProducerRecord[],
    commits: [] as { groupId: string; topic: string; partition: number; offset: string }[],
    createTopics: [] as ITopicConfig[],
    createPartitions: [] as { topic: string; count: number }[],
  };
  /** Errors the next sends reject with, in order. */
  readonly sendFailures: Error[] = [];

  producer(config: ProducerConfig = {}): KafkaProducerLike {
    this.calls.producerConfigs.push(config);
    const partitioner = config.createPartitioner?.() ?? kafkajs.Partitioners.DefaultPartitioner();
    return {
      connect: async () => {},
      disconnect: async () => {},
      send: async (record) => {
        this.calls.sends.push(record);
        const failure = this.sendFailures.shift();
        if (failure) throw failure;
        let partitions = this.topics.get(record.topic);
        if (!partitions) {
          if (!config.allowAutoTopicCreation) throw new kafkajs.KafkaJSProtocolError('This server does not host this topic-partition');
          partitions = this.create(record.topic, 1);
        }
        const partitionMetadata = partitions.map((_, partitionId) => ({ partitionId, leader: 0, replicas: [0], isr: [0], partitionErrorCode: 0 }));
        const base = new Map<number, number>();
        for (const message of record.messages) {
          const p = partitioner({ topic: record.topic, partitionMetadata, message });
          const log = partitions[p]!;
          if (!base.has(p)) base.set(p, log.length);
          log.push(this.stored(message, log.length));
        }
        return [...base].map(([partition, baseOffset]) => ({ topicName: record.topic, partition, errorCode: 0, baseOffset: String(baseOffset) }));
      },
    };
  }

  consumer(config: ConsumerConfig): KafkaConsumerLike {
    this.calls.consumerConfigs.push(config);
    return new FakeConsumer(this, config.groupId);
  }

  admin(): KafkaAdminLike {
    return {
      connect: async () => {},
      disconnect: async () => {},
      listTopics: async () => [...this.topics.keys()],
      createTopics: async ({ topics }) => {
        this.calls.createTopics.push(...topics);
        for (const t of topics) if (!this.topics.has(t.topic)) this.create(t.topic, t.numPartitions ?? 1);
        return true;
      },
      createPartitions: async ({ topicPartitions }) => {
        this.calls.createPartitions.push(...topicPartitions);
        for (const { topic, count } of topicPartitions) {
          const parts = this.topics.get(topic)!;
          while (parts.length < count) parts.push([]);
        }
        return true;
      },
      fetchTopicMetadata: async (o) => ({
        topics: (o?.topics ?? [...this.topics.keys()]).map((name) => ({ name, partitions: (this.topics.get(name) ?? []).map((_, partitionId) => ({ partitionId })) })),
      }),
      fetchTopicOffsets: async (topic) => {
        const parts = this.topics.get(topic);
        if (!parts) throw new kafkajs.KafkaJSProtocolError('This server does not host this topic-partition');
        return parts.map((log, partition) => ({ partition, offset: String(log.length), high: String(log.length), low: '0' }));
      },
      fetchOffsets: async ({ groupId, topics }) =>
        (topics ?? []).map((topic) => ({
          topic,
          partitions: (this.topics.get(topic) ?? []).map((_, partition) => ({ partition, offset: String(this.committed.get(`${groupId}|${topic}|${partition}`) ?? -1) })),
        })),
      deleteGroups: async (ids) => {
        for (const id of ids) for (const k of [...this.committed.keys()]) if (k.startsWith(`${id}|`)) this.committed.delete(k);
        return [];
      },
    };
  }

  private create(topic: string, partitions: number): StoredMessage[][] {
    const parts = Array.from({ length: partitions }, () => [] as StoredMessage[]);
    this.topics.set(topic, parts);
    return parts;
  }

  private stored(m: Message, offset: number): StoredMessage {
    const headers: Record<string, Buffer> = {};
    for (const [k, v] of Object.entries(m.headers ?? {})) headers[k] = Buffer.from(String(v));
    return {
      key: m.key === null || m.key === undefined ? null : Buffer.from(m.key),
      value: m.value === null ? null : Buffer.from(m.value),
      headers,
      offset: String(offset),
      timestamp: m.timestamp ?? String(Date.now()),
      attributes: 0,
      size: 0,
    };
  }
}

class FakeConsumer implements KafkaConsumerLike {
  private subscription: ConsumerSubscribeTopics = { topics: [] };
  private running = false;
  private loop: Promise<void> | undefined;
  private readonly seeks = new Map<string, number>();
  private readonly positions = new Map<string, number>();
  heartbeats = 0;

  constructor(
    private readonly kafka: FakeKafka,
    private readonly groupId: string,
  ) {}

  async connect(): Promise<void> {}
  async disconnect(): Promise<void> {
    await this.stop();
  }
  async subscribe(s: ConsumerSubscribeTopics): Promise<void> {
    this.subscription = s;
  }
  seek({ topic, partition, offset }: { topic: string; partition: number; offset: string }): void {
    this.seeks.set(`${topic}|${partition}`, Number(offset));
  }

  async run(config: ConsumerRunConfig = {}): Promise<void> {
    const members = this.kafka.groups.get(this.groupId) ?? [];
    members.push(this);
    this.kafka.groups.set(this.groupId, members);
    this.running = true;
    this.loop = this.consume(config);
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    await this.loop;
    const members = this.kafka.groups.get(this.groupId) ?? [];
    this.kafka.groups.set(
      this.groupId,
      members.filter((m) => m !== this),
    );
  }

  /** Partitions owned by this member: round-robin by join order, like a range of one. */
  private owns(partition: number): boolean {
    const members = this.kafka.groups.get(this.groupId) ?? [];
    return partition % members.length === members.indexOf(this);
  }

  private position(topic: string, partition: number): number {
    const key = `${topic}|${partition}`;
    const seek = this.seeks.get(key);
    if (seek !== undefined) {
      this.seeks.delete(key);
      this.positions.set(key, seek);
      return seek;
    }
    const committed = this.kafka.committed.get(`${this.groupId}|${key}`);
    const known = this.positions.get(key);
    if (known !== undefined) return known;
    const log = this.kafka.topics.get(topic)![partition]!;
    return committed ?? (this.subscription.fromBeginning ? 0 : log.length);
  }

  private async consume(config: ConsumerRunConfig): Promise<void> {
    while (this.running) {
      let delivered = false;
      for (const topic of this.subscription.topics as string[]) {
        const parts = this.kafka.topics.get(topic) ?? [];
        for (let partition = 0; partition < parts.length && this.running; partition++) {
          if (!this.owns(partition)) {
            this.positions.delete(`${topic}|${partition}`);
            continue;
          }
          const from = this.position(topic, partition);
          const messages = parts[partition]!.slice(from, from + 1000);
          if (messages.length === 0) continue;
          delivered = true;
          let resolved = -1;
          const payload = {
            batch: { topic, partition, highWatermark: String(parts[partition]!.length), messages },
            resolveOffset: (o: string) => {
              resolved = Number(o);
            },
            heartbeat: async () => {
              this.heartbeats++;
            },
            pause: () => () => undefined,
            commitOffsetsIfNecessary: async (offsets?: { topics: { topic: string; partitions: { partition: number; offset: string }[] }[] }) => {
              for (const t of offsets?.topics ?? [])
                for (const p of t.partitions) {
                  this.kafka.calls.commits.push({ groupId: this.groupId, topic: t.topic, partition: p.partition, offset: p.offset });
                  this.kafka.committed.set(`${this.groupId}|${t.topic}|${p.partition}`, Number(p.offset));
                }
            },
            uncommittedOffsets: () => ({ topics: [] }),
            isRunning: () => this.running,
            isStale: () => false,
          } as unknown as EachBatchPayload;
          try {
            await config.eachBatch?.(payload);
            if (config.eachBatchAutoResolve !== false) resolved = Number(messages[messages.length - 1]!.offset);
          } catch {
            // kafkajs restarts the consumer; the unresolved messages are fetched again.
          }
          // Like kafkajs: the next fetch starts after the last resolved offset.
          this.positions.set(`${topic}|${partition}`, resolved >= 0 ? resolved + 1 : from);
        }
      }
      if (!delivered) await new Promise((r) => setTimeout(r, 5));
    }
  }
}
