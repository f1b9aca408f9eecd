/**
 * The bus port: a partitioned, durable, replayable log with consumer groups (Kafka semantics).
 * Delivery guarantee of every adapter: at-least-once. A record handed to `Producer.send` is
 * durable once the promise resolves; a consumer's offsets advance only after its batch handler
 * resolved, so a crash re-delivers at most the uncommitted batch, never loses one.
 */

import type { DeadLetter } from '@soc/schema';
import type { Metrics } from '@soc/telemetry';

export type Headers = Record<string, string>;

export interface ProducerRecord {
  /** Records with the same key go to the same partition, in order. `null` spreads round-robin. */
  key: string | null;
  value: string;
  headers?: Headers;
  /** Milliseconds since the epoch; defaults to the append time. */
  timestamp?: number;
}

export interface ConsumedRecord {
  topic: string;
  partition: number;
  offset: number;
  key: string | null;
  value: string;
  headers: Headers;
  timestamp: number;
}

export interface TopicSpec {
  name: string;
  partitions: number;
  /** Kafka: replication factor; ignored by the embedded log (one copy on local disk). */
  replicationFactor?: number;
  retentionMs?: number;
  retentionBytes?: number;
}

export interface RecordMetadata {
  topic: string;
  partition: number;
  offset: number;
}

export interface Producer {
  /** Appends in order; resolves once every record is durable. Rejects with a retriable BackendUnavailableError when the bus cannot accept. */
  send(topic: string, records: ProducerRecord[]): Promise<RecordMetadata[]>;
  close(): Promise<void>;
}

export interface ConsumerOptions {
  groupId: string;
  topics: string[];
  /** Where a group with no committed offset starts. Default: earliest. */
  fromBeginning?: boolean;
  /** Most records handed to one handler call. */
  maxBatchSize?: number;
  /** How long an idle consumer waits before polling again. */
  pollIntervalMs?: number;
  /** Where and how poison records are dead-lettered (see `src/redeliver.ts`). */
  poison?: PoisonOptions;
}

/**
 * The poison-record policy of a consumer. A handler failure with a retriable error (the
 * `@soc/errors` flag: store or bus down) is retried with backoff; a batch that still fails is
 * split, and a single record failing retriably is retried without limit, so an outage never
 * dead-letters valid records. A non-retriable failure splits the batch down to the offending
 * record(s), which go to the dead-letter topic; the rest is handled and the offset moves on.
 */
export interface PoisonOptions {
  /** The service this consumer belongs to, recorded as the dead letter's stage. Default `consumer`. */
  stage?: DeadLetter['stage'];
  /** Writes dead letters. Default: this bus's dead-letter topic (federation inbound writes to its local bus instead). */
  deadLetter?: (records: ProducerRecord[]) => Promise<void>;
  /** Counts dead-lettered records (`soc_consumer_dead_letters_total`). */
  metrics?: Metrics;
  /** Attempts of a multi-record batch on retriable errors before it is split. Default 3. */
  retriesBeforeSplit?: number;
  /** First backoff delay; doubles up to `maxDelayMs`. Defaults 50 ms and 5 s. */
  initialDelayMs?: number;
  maxDelayMs?: number;
}

export type BatchHandler = (batch: ConsumedRecord[]) => Promise<void>;

export interface Consumer {
  /**
   * Starts the consume loop. Batches hold records of one topic-partition, in offset order. The
   * offsets are committed only after the handler resolves; a rejected handler is retried or its
   * batch split under the poison-record policy (`PoisonOptions`), so a handler must be
   * idempotent and should have no effect when it rejects.
   */
  run(handler: BatchHandler): Promise<void>;
  /** Stops after the batch in flight is handled and committed. */
  stop(): Promise<void>;
}

export interface PartitionLag {
  topic: string;
  partition: number;
  committed: number;
  end: number;
  lag: number;
}

export interface Bus {
  readonly kind: 'embedded' | 'kafka';
  ensureTopics(specs: TopicSpec[]): Promise<void>;
  producer(): Promise<Producer>;
  consumer(opts: ConsumerOptions): Promise<Consumer>;
  /** Per-partition lag of a consumer group on a topic. */
  lag(groupId: string, topic: string): Promise<PartitionLag[]>;
  /** Reads records without a group (inspection: dead letters, quarantine). */
  read(topic: string, opts?: { partition?: number; fromOffset?: number; limit?: number }): Promise<ConsumedRecord[]>;
  close(): Promise<void>;
}
