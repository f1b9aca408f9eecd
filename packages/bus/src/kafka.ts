/**
 * The Kafka bus adapter on kafkajs 2.2.4: idempotent producer with acks=all, consumers that
 * commit a batch's offset only after the handler resolved, provisioning through the admin API.
 */
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import type {
  ConsumerConfig,
  ConsumerRunConfig,
  ConsumerSubscribeTopics,
  EachBatchPayload,
  ITopicConfig,
  KafkaConfig,
  KafkaMessage,
  LogEntry,
  Message,
  ProducerConfig,
  ProducerRecord as KafkaProducerRecord,
  RecordMetadata as KafkaRecordMetadata,
} from 'kafkajs';
import { BackendUnavailableError, isRetriable, retry } from '@soc/errors';
import { deadLetterSender, deliverBatch } from './redeliver.ts';
import { createLogger, type Logger } from '@soc/telemetry';
import type { BatchHandler, Bus, ConsumedRecord, Consumer, ConsumerOptions, PartitionLag, Producer, RecordMetadata, TopicSpec } from './port.ts';

/**
 * kafkajs is loaded when a Kafka bus is created, not when this package is imported: every thread
 * of `soc start` on the embedded bus would otherwise hold its modules (about 12 MB of heap per
 * thread) without using them.
 */
let library: typeof import('kafkajs') | undefined;
const kafkajs = (): typeof import('kafkajs') => (library ??= createRequire(import.meta.url)('kafkajs') as typeof import('kafkajs'));

/** The part of the kafkajs surface this adapter uses; a real `Kafka` satisfies it, and so does the contract tests' fake. */
export interface KafkaProducerLike {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  send(record: KafkaProducerRecord): Promise<KafkaRecordMetadata[]>;
}
export interface KafkaConsumerLike {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  subscribe(subscription: ConsumerSubscribeTopics): Promise<void>;
  run(config?: ConsumerRunConfig): Promise<void>;
  stop(): Promise<void>;
  seek(target: { topic: string; partition: number; offset: string }): void;
}
export interface KafkaAdminLike {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  listTopics(): Promise<string[]>;
  createTopics(options: { topics: ITopicConfig[]; waitForLeaders?: boolean; timeout?: number }): Promise<boolean>;
  createPartitions(options: { topicPartitions: { topic: string; count: number }[] }): Promise<boolean>;
  fetchTopicMetadata(options?: { topics: string[] }): Promise<{ topics: { name: string; partitions: { partitionId: number }[] }[] }>;
  fetchTopicOffsets(topic: string): Promise<{ partition: number; offset: string; high: string; low: string }[]>;
  fetchOffsets(options: { groupId: string; topics?: string[] }): Promise<{ topic: string; partitions: { partition: number; offset: string }[] }[]>;
  deleteGroups(groupIds: string[]): Promise<unknown>;
}
export interface KafkaLike {
  producer(config?: ProducerConfig): KafkaProducerLike;
  consumer(config: ConsumerConfig): KafkaConsumerLike;
  admin(): KafkaAdminLike;
}

export interface KafkaBusOptions {
  brokers: string[];
  clientId: string;
  ssl?: boolean | { ca?: string; cert?: string; key?: string; rejectUnauthorized?: boolean };
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
  /** Lets a producer create a topic it does not find (broker defaults). Default false: provision with ensureTopics. */
  allowTopicCreation?: boolean;
  /** Replication factor for ensureTopics when the spec has none. Default: the broker's default (-1). */
  replicationFactor?: number;
  compression?: 'gzip' | 'none';
  logger?: Logger;
  /** Injected kafkajs-compatible client (tests); default `new Kafka(kafkaClientConfig(...))`. */
  kafka?: KafkaLike;
  /** Attempts for a send before it rejects (kafkajs retries with backoff). Default 8. */
  sendRetries?: number;
  /** Upper bound for `read()` waiting on the broker. Default 10 s. */
  readTimeoutMs?: number;
}

/** kafkajs log lines into pino, keeping kafkajs's namespace and structured fields. */
export function kafkaLogCreator(logger: Logger): KafkaConfig['logCreator'] {
  return () =>
    ({ namespace, level, log }: LogEntry) => {
      const { message, timestamp: _ts, logger: _l, ...fields } = log;
      const entry = { ...fields, kafkajs: namespace };
      if (level === kafkajs().logLevel.ERROR) logger.error(entry, message);
      else if (level === kafkajs().logLevel.WARN) logger.warn(entry, message);
      else if (level === kafkajs().logLevel.INFO) logger.info(entry, message);
      else logger.debug(entry, message);
    };
}

/** The kafkajs client configuration: brokers, TLS, SASL and logging. Pure, so its mapping is testable. */
export function kafkaClientConfig(opts: KafkaBusOptions, logger: Logger): KafkaConfig {
  const level = logger.isLevelEnabled('debug') ? kafkajs().logLevel.DEBUG : logger.isLevelEnabled('info') ? kafkajs().logLevel.INFO : kafkajs().logLevel.WARN;
  return {
    clientId: opts.clientId,
    brokers: opts.brokers,
    ...(opts.ssl === undefined ? {} : { ssl: opts.ssl }),
    ...(opts.sasl === undefined ? {} : { sasl: { ...opts.sasl } as KafkaConfig['sasl'] }),
    logLevel: level,
    logCreator: kafkaLogCreator(logger),
    retry: { initialRetryTime: 100, maxRetryTime: 5000, retries: 8 },
  };
}

/** kafkajs errors carry `retriable`; "retries exhausted" is as retriable as the failure it wraps, so a collector can answer 503. */
export function toBusError(err: unknown, what: string): BackendUnavailableError {
  if (err instanceof BackendUnavailableError) return err;
  const e = err as { name?: string; message?: string; cause?: unknown };
  const retriable = isRetriable(err) || (e?.name === 'KafkaJSNumberOfRetriesExceeded' && isRetriable(e.cause));
  return new BackendUnavailableError(`kafka bus: ${what} failed: ${e?.message ?? String(err)}`, { cause: err, retriable });
}

/** OUT_OF_ORDER_SEQUENCE_NUMBER (45), possibly wrapped by kafkajs's "retries exhausted". */
export function outOfSequence(err: unknown): boolean {
  for (let e = err as { type?: string; code?: number; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (e.type === 'OUT_OF_ORDER_SEQUENCE_NUMBER' || e.code === 45) return true;
  }
  return false;
}

function headerValue(v: Buffer | string | (Buffer | string)[] | undefined): string {
  if (v === undefined) return '';
  if (Array.isArray(v)) return v.map(String).join(',');
  return v.toString();
}

export function toConsumed(topic: string, partition: number, m: KafkaMessage): ConsumedRecord {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(m.headers ?? {})) headers[k] = headerValue(v);
  return {
    topic,
    partition,
    offset: Number(m.offset),
    key: m.key === null || m.key === undefined ? null : m.key.toString(),
    value: m.value === null ? '' : m.value.toString(),
    headers,
    timestamp: Number(m.timestamp),
  };
}

/** Connects once, on first use; a failed connect is retried by the next call. */
function lazily<T extends { connect(): Promise<void> }>(client: T, what: string): () => Promise<T> {
  let connecting: Promise<T> | undefined;
  return () =>
    (connecting ??= client.connect().then(
      () => client,
      (err: unknown) => {
        connecting = undefined;
        throw toBusError(err, what);
      },
    ));
}

export function createKafkaBus(opts: KafkaBusOptions): Bus {
  const log = (opts.logger ?? createLogger('bus')).child({ component: 'bus', adapter: 'kafka' });
  const kafka: KafkaLike = opts.kafka ?? new (kafkajs().Kafka)(kafkaClientConfig(opts, log));
  const compression = opts.compression === 'none' ? kafkajs().CompressionTypes.None : kafkajs().CompressionTypes.GZIP;
  const adminClient = kafka.admin();
  let adminUsed = false;
  const connectAdmin = lazily(adminClient, 'admin connect');
  const admin = () => {
    adminUsed = true;
    return connectAdmin();
  };
  const producers = new Set<KafkaProducerLike>();
  const consumers = new Set<KafkaConsumer>();
  /**
   * Admin operations retried while the broker reports a transient state (a topic not yet known to
   * every listener, the group coordinator still loading on a fresh or restarted broker).
   */
  const adminOp = <T>(what: string, fn: () => Promise<T>): Promise<T> =>
    retry(
      async () => {
        try {
          return await fn();
        } catch (err) {
          throw toBusError(err, what);
        }
      },
      { retries: 8, initialDelayMs: 200, maxDelayMs: 3000, onRetry: (err, attempt, delayMs) => log.warn({ err: (err as Error).message, attempt, delayMs }, `${what} retry`) },
    );

  class KafkaConsumer implements Consumer {
    private client: KafkaConsumerLike | undefined;
    private abort: AbortController | undefined;
    private readonly sendDeadLetters = deadLetterSender(() => bus.producer());
    constructor(private readonly o: ConsumerOptions) {}

    async run(handler: BatchHandler): Promise<void> {
      if (this.client) throw new Error('consumer is already running');
      const abort = (this.abort = new AbortController());
      const client = (this.client = kafka.consumer({ groupId: this.o.groupId, allowAutoTopicCreation: false, sessionTimeout: 30_000, heartbeatInterval: 3000 }));
      consumers.add(this);
      try {
        await client.connect();
        await client.subscribe({ topics: this.o.topics, fromBeginning: this.o.fromBeginning ?? true });
        await client.run({
          autoCommit: false,
          eachBatchAutoResolve: false,
          eachBatch: (payload) => this.eachBatch(payload, handler, abort.signal),
        });
      } catch (err) {
        throw toBusError(err, 'consumer start');
      }
    }

    /** Hands the fetched batch over in chunks; each chunk's offset is resolved and committed only after the handler resolved. */
    private async eachBatch(p: EachBatchPayload, handler: BatchHandler, abort: AbortSignal): Promise<void> {
      const { topic, partition, messages } = p.batch;
      const max = this.o.maxBatchSize ?? 500;
      for (let i = 0; i < messages.length; i += max) {
        if (!p.isRunning() || p.isStale() || abort.aborted) return;
        const chunk = messages.slice(i, i + max).map((m) => toConsumed(topic, partition, m));
        // Long handlers (and retries) must not cost the group membership.
        const beat = setInterval(() => void p.heartbeat().catch((err: unknown) => log.debug({ err }, 'heartbeat during batch failed')), 1000);
        try {
          await deliverBatch(handler, chunk, { groupId: this.o.groupId, signal: abort, log, poison: this.o.poison, sendDeadLetters: this.sendDeadLetters });
        } catch (err) {
          if (abort.aborted) return;
          throw err;
        } finally {
          clearInterval(beat);
        }
        const last = chunk[chunk.length - 1]!.offset;
        p.resolveOffset(String(last));
        await p.commitOffsetsIfNecessary({ topics: [{ topic, partitions: [{ partition, offset: String(last + 1) }] }] });
        await p.heartbeat();
      }
    }

    async stop(): Promise<void> {
      const client = this.client;
      if (!client) return;
      this.abort?.abort(new Error('consumer stopped'));
      this.client = undefined;
      consumers.delete(this);
      await client.stop();
      await client.disconnect();
    }
  }

  function ensureTopics(specs: TopicSpec[]): Promise<void> {
    return adminOp('ensure topics', async () => {
      const a = await admin();
      const existing = new Set(await a.listTopics());
      const missing = specs.filter((s) => !existing.has(s.name));
      if (missing.length > 0) {
        await a.createTopics({
          waitForLeaders: true,
          topics: missing.map((s) => ({
            topic: s.name,
            numPartitions: s.partitions,
            replicationFactor: s.replicationFactor ?? opts.replicationFactor ?? -1,
            configEntries: [
              ...(s.retentionMs === undefined ? [] : [{ name: 'retention.ms', value: String(s.retentionMs) }]),
              ...(s.retentionBytes === undefined ? [] : [{ name: 'retention.bytes', value: String(s.retentionBytes) }]),
            ],
          })),
        });
      }
      const present = specs.filter((s) => existing.has(s.name));
      if (present.length === 0) return;
      const meta = await a.fetchTopicMetadata({ topics: present.map((s) => s.name) });
      const grow = present.filter((s) => (meta.topics.find((t) => t.name === s.name)?.partitions.length ?? 0) < s.partitions);
      if (grow.length > 0) await a.createPartitions({ topicPartitions: grow.map((s) => ({ topic: s.name, count: s.partitions })) });
    });
  }

  function lag(groupId: string, topic: string): Promise<PartitionLag[]> {
    return adminOp('lag', async () => {
      const a = await admin();
      const [ends, groups] = await Promise.all([a.fetchTopicOffsets(topic), a.fetchOffsets({ groupId, topics: [topic] })]);
      const committed = new Map((groups.find((g) => g.topic === topic)?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
      return ends
        .map((e): PartitionLag => {
          const c = committed.get(e.partition) ?? -1;
          const end = Number(e.high);
          return { topic, partition: e.partition, committed: c, end, lag: Math.max(0, end - (c >= 0 ? c : Number(e.low))) };
        })
        .sort((x, y) => x.partition - y.partition);
    });
  }

  /** Inspection read: a throwaway group seeks each wanted partition and collects up to its high watermark. */
  async function read(topic: string, o: { partition?: number; fromOffset?: number; limit?: number } = {}): Promise<ConsumedRecord[]> {
    const limit = o.limit ?? 100;
    const from = o.fromOffset ?? 0;
    const ends = await (await admin()).fetchTopicOffsets(topic).catch((err: unknown) => {
      throw toBusError(err, 'read');
    });
    const wanted = ends
      .filter((e) => o.partition === undefined || e.partition === o.partition)
      .map((e) => ({ partition: e.partition, start: Math.max(from, Number(e.low)), high: Number(e.high) }))
      .filter((w) => w.start < w.high);
    if (wanted.length === 0) return [];
    const groupId = `${opts.clientId}-read-${randomUUID()}`;
    const client = kafka.consumer({ groupId, allowAutoTopicCreation: false });
    const got = new Map<number, ConsumedRecord[]>(wanted.map((w) => [w.partition, []]));
    const complete = (w: (typeof wanted)[number]) => {
      const recs = got.get(w.partition)!;
      return recs.length >= limit || (recs.length > 0 && recs[recs.length - 1]!.offset >= w.high - 1);
    };
    try {
      await client.connect();
      await client.subscribe({ topics: [topic], fromBeginning: true });
      let finish!: () => void;
      const done = new Promise<void>((r) => (finish = r));
      await client.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          const w = wanted.find((x) => x.partition === batch.partition);
          if (!w) return;
          for (const m of batch.messages) {
            const rec = toConsumed(topic, batch.partition, m);
            if (rec.offset >= w.start && rec.offset < w.high && !complete(w)) got.get(w.partition)!.push(rec);
          }
          if (wanted.every(complete)) finish();
        },
      });
      for (const w of wanted) client.seek({ topic, partition: w.partition, offset: String(w.start) });
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<void>((r) => (timer = setTimeout(r, opts.readTimeoutMs ?? 10_000)));
      await Promise.race([done, timedOut]);
      clearTimeout(timer);
    } catch (err) {
      throw toBusError(err, 'read');
    } finally {
      await client.stop().catch(() => undefined);
      await client.disconnect().catch(() => undefined);
      await (await admin()).deleteGroups([groupId]).catch(() => undefined);
    }
    return [...got.values()]
      .flat()
      .sort((x, y) => x.partition - y.partition || x.offset - y.offset)
      .slice(0, limit);
  }

  const bus: Bus = {
    kind: 'kafka',
    ensureTopics,
    lag,
    read,

    async producer(): Promise<Producer> {
      // kafkajs's own default partitioner decides; wrapping it only observes the partition of each message.
      const chosen = new WeakMap<object, number>();
      const newClient = () => kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: opts.allowTopicCreation ?? false,
        retry: { retries: opts.sendRetries ?? 8, initialRetryTime: 100, maxRetryTime: 5000 },
        createPartitioner: () => {
          const inner = kafkajs().Partitioners.DefaultPartitioner();
          return (args) => {
            const p = inner(args);
            chosen.set(args.message, p);
            return p;
          };
        },
      });
      let client = newClient();
      producers.add(client);
      let connected = lazily(client, 'producer connect');
      // kafkajs's idempotent producer can get out of step with the broker's sequence numbers after
      // a produce it retried (seen on a real broker right after topic creation, under load); a new
      // producer id starts clean. The batch is sent again: at-least-once, as every retry here.
      const renew = async () => {
        producers.delete(client);
        await client.disconnect().catch(() => undefined);
        client = newClient();
        producers.add(client);
        connected = lazily(client, 'producer connect');
      };
      return {
        async send(topic, records) {
          if (records.length === 0) return [];
          const messages: Message[] = records.map((r) => ({
            key: r.key,
            value: r.value,
            ...(r.headers ? { headers: r.headers } : {}),
            ...(r.timestamp === undefined ? {} : { timestamp: String(r.timestamp) }),
          }));
          const attempt = async () => (await connected()).send({ topic, messages, acks: -1, compression });
          let result: KafkaRecordMetadata[];
          try {
            try {
              result = await attempt();
            } catch (err) {
              if (!outOfSequence(err)) throw err;
              log.warn({ topic, err: (err as Error).message }, 'idempotent producer out of sequence; sending again with a new producer id');
              await renew();
              result = await attempt();
            }
          } catch (err) {
            throw toBusError(err, `send to ${topic}`);
          }
          // Per-record offsets: a partition's messages of one request are appended contiguously from its baseOffset.
          const base = new Map(result.map((m) => [m.partition, Number(m.baseOffset ?? -1)]));
          const seen = new Map<number, number>();
          return messages.map((m): RecordMetadata => {
            const partition = chosen.get(m) ?? -1;
            const index = seen.get(partition) ?? 0;
            seen.set(partition, index + 1);
            const b = base.get(partition);
            return { topic, partition, offset: b === undefined || b < 0 ? -1 : b + index };
          });
        },
        async close() {
          producers.delete(client);
          await client.disconnect();
        },
      };
    },

    async consumer(o) {
      return new KafkaConsumer(o);
    },

    async close() {
      await Promise.all([...consumers].map((c) => c.stop().catch((err: unknown) => log.warn({ err }, 'consumer stop failed'))));
      await Promise.all([...producers].map((p) => p.disconnect().catch((err: unknown) => log.warn({ err }, 'producer disconnect failed'))));
      producers.clear();
      if (adminUsed) await adminClient.disconnect().catch((err: unknown) => log.warn({ err }, 'admin disconnect failed'));
    },
  };
  return bus;
}
