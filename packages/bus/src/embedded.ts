/**
 * The embedded bus: a Kafka-shaped log in one SQLite file (WAL). Several processes may open the
 * same file; consumer groups coordinate through heartbeating member rows and partition claims.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import Database from 'better-sqlite3';
import { z } from 'zod';
import { BackendUnavailableError, backoffDelay, SQLITE_OPEN_RETRY, retrySync, sleep } from '@soc/errors';
import { deadLetterSender, deliverBatch } from './redeliver.ts';
import { createLogger, type Logger } from '@soc/telemetry';
import { assignedPartitions, createPartitioner } from './partition.ts';
import type { BatchHandler, Bus, ConsumedRecord, Consumer, ConsumerOptions, PartitionLag, Producer, ProducerRecord, RecordMetadata, TopicSpec } from './port.ts';
import { LEGACY_RECORDS, partitionTable, partitionTableSql, SCHEMA } from './sqlite-schema.ts';
import { WalSync } from './wal-sync.ts';

export interface EmbeddedBusOptions {
  path: string;
  logger?: Logger;
  /** Partitions of a topic created implicitly by a producer. Default 4. */
  defaultPartitions?: number;
  /** How often retention runs. Default 30 s. */
  retentionCheckIntervalMs?: number;
  /** A group member without a heartbeat for this long is expired and its partitions reassigned. Default 10 s. */
  memberTimeoutMs?: number;
  /** How long a statement waits for another process's write lock before failing. Default 5 s. */
  busyTimeoutMs?: number;
}

export interface EmbeddedBus extends Bus {
  readonly kind: 'embedded';
  readonly path: string;
  /** Applies retention now (it also runs on a timer); returns the number of records deleted. */
  enforceRetention(now?: number): Promise<number>;
}

const topicSpecSchema = z.object({
  name: z.string().min(1).max(249),
  partitions: z.number().int().min(1).max(10_000),
  replicationFactor: z.number().int().min(1).optional(),
  retentionMs: z.number().int().positive().optional(),
  retentionBytes: z.number().int().positive().optional(),
});

interface TopicRow {
  id: number;
  partitions: number;
  retention_ms: number | null;
  retention_bytes: number | null;
}
/** A record as the read statements return it: raw, in column order (offset, key, value, headers, timestamp). */
type RecordRow = [offset: number, key: string | null, value: string, headers: string | null, timestamp: number];

/** One emitter per database file, so every bus instance of this process on that file wakes on appends. */
const appendSignals = new Map<string, EventEmitter>();
function appendSignal(path: string): EventEmitter {
  let e = appendSignals.get(path);
  if (!e) {
    e = new EventEmitter();
    e.setMaxListeners(0);
    appendSignals.set(path, e);
  }
  return e;
}

/** Page size of a new log file (see openEmbeddedBus). */
export const PAGE_SIZE = 16_384;

const RETRIABLE_SQLITE = /^SQLITE_(BUSY|LOCKED|IOERR|FULL|PROTOCOL)/;

/** SQLite failures cross the port as BackendUnavailableError; lock contention and I/O trouble are retriable. */
export function toBackendError(err: unknown, what: string): BackendUnavailableError {
  if (err instanceof BackendUnavailableError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  const retriable = typeof code === 'string' && RETRIABLE_SQLITE.test(code);
  return new BackendUnavailableError(`embedded bus: ${what} failed: ${(err as Error)?.message ?? String(err)}`, { cause: err, retriable });
}

function toConsumed(topic: string, partition: number, [offset, key, value, headers, timestamp]: RecordRow): ConsumedRecord {
  return { topic, partition, offset, key, value, headers: headers === null ? {} : (JSON.parse(headers) as Record<string, string>), timestamp };
}

/**
 * One partition's statements, each prepared on first use: a consumer needs only `read`, a
 * producer `insert`, and `lag` over a topic of thousands of partitions only `low`.
 */
class PartitionLog {
  private insertStmt?: Database.Statement<[number, string | null, string, string | null, number, number]>;
  private readStmt?: Database.Statement<[number, number], RecordRow>;
  private lowStmt?: Database.Statement<[], { offset: number }>;
  private firstKeptStmt?: Database.Statement<[number], { offset: number }>;
  private sizesStmt?: Database.Statement<[], { offset: number; size: number }>;
  private sizeBelowStmt?: Database.Statement<[number], { n: number; bytes: number }>;
  private deleteBelowStmt?: Database.Statement<[number]>;

  constructor(
    private readonly db: Database.Database,
    private readonly table: string,
  ) {}

  get insert() {
    return (this.insertStmt ??= this.db.prepare(`INSERT INTO ${this.table} (offset, key, value, headers, timestamp, size) VALUES (?, ?, ?, ?, ?, ?)`));
  }

  /**
   * Raw rows (arrays): better-sqlite3 builds no object with named keys per record, a third of a
   * consumer's read cost for event-sized records.
   */
  get read() {
    return (this.readStmt ??= this.db.prepare<[number, number], RecordRow>(`SELECT offset, key, value, headers, timestamp FROM ${this.table} WHERE offset >= ? ORDER BY offset LIMIT ?`).raw(true));
  }

  get low() {
    return (this.lowStmt ??= this.db.prepare(`SELECT offset FROM ${this.table} ORDER BY offset LIMIT 1`));
  }

  get firstKept() {
    return (this.firstKeptStmt ??= this.db.prepare(`SELECT offset FROM ${this.table} WHERE timestamp >= ? ORDER BY offset LIMIT 1`));
  }

  get sizesFromStart() {
    return (this.sizesStmt ??= this.db.prepare(`SELECT offset, size FROM ${this.table} ORDER BY offset`));
  }

  get sizeBelow() {
    return (this.sizeBelowStmt ??= this.db.prepare(`SELECT COUNT(*) AS n, COALESCE(SUM(size), 0) AS bytes FROM ${this.table} WHERE offset < ?`));
  }

  get deleteBelow() {
    return (this.deleteBelowStmt ??= this.db.prepare(`DELETE FROM ${this.table} WHERE offset < ?`));
  }
}

/**
 * A file written with the single `records` table gets one table per partition, its records
 * moved in one transaction (another process opening the file at the same time finds it done).
 */
function migrateLegacyRecords(db: Database.Database, log: Logger): void {
  const legacy = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '${LEGACY_RECORDS}'`);
  if (!legacy.get()) return;
  const started = Date.now();
  let moved = 0;
  db.transaction(() => {
    if (!legacy.get()) return;
    // About 90,000 event-sized records a second here: a large log delays this open noticeably.
    moved = db.prepare<[], { n: number }>(`SELECT COUNT(*) AS n FROM ${LEGACY_RECORDS}`).get()!.n;
    log.info({ records: moved }, 'moving the log to one table per partition (a file written by an earlier version)');
    for (const { topic_id, partition } of db.prepare<[], { topic_id: number; partition: number }>('SELECT topic_id, partition FROM partitions').all()) {
      db.exec(partitionTableSql(topic_id, partition));
      db.prepare(
        `INSERT INTO ${partitionTable(topic_id, partition)} (offset, key, value, headers, timestamp, size)
         SELECT offset, key, value, headers, timestamp, size FROM ${LEGACY_RECORDS} WHERE topic_id = ? AND partition = ? ORDER BY offset`,
      ).run(topic_id, partition);
    }
    db.exec(`DROP TABLE ${LEGACY_RECORDS}`);
  }).immediate();
  if (moved > 0) log.info({ records: moved, ms: Date.now() - started }, 'log moved to one table per partition');
}

export function openEmbeddedBus(opts: EmbeddedBusOptions): EmbeddedBus {
  const path = resolve(opts.path);
  const log = (opts.logger ?? createLogger('bus')).child({ component: 'bus', adapter: 'embedded' });
  const defaultPartitions = opts.defaultPartitions ?? 4;
  const memberTimeoutMs = opts.memberTimeoutMs ?? 10_000;
  const signal = appendSignal(path);

  const db = new Database(path);
  db.pragma(`busy_timeout = ${opts.busyTimeoutMs ?? 5000}`);
  // A new file only (an existing one keeps its page size): records are event-sized, and 16 KiB
  // pages write a batch in a quarter of the WAL frames and syscalls that 4 KiB pages take.
  db.pragma(`page_size = ${PAGE_SIZE}`);
  // Processes that open a new file together (three SOCs on one federation bus) race to convert it
  // to WAL, and SQLite answers all but one SQLITE_BUSY at once, without waiting in the busy handler.
  retrySync(() => db.pragma('journal_mode = WAL'), SQLITE_OPEN_RETRY);
  // NORMAL: a commit does not wait for the disk on this thread; each commit that must survive a
  // power loss (appends, offset commits) awaits the WAL's fdatasync instead (see wal-sync.ts),
  // so an append still resolves only once it is durable.
  db.pragma('synchronous = NORMAL');
  db.exec(SCHEMA);
  retrySync(() => migrateLegacyRecords(db, log), SQLITE_OPEN_RETRY);
  const wal = new WalSync(`${path}-wal`);
  const flushed = () =>
    wal.durable().catch((err: unknown) => {
      throw new BackendUnavailableError(`embedded bus: flushing the log to disk failed: ${(err as Error)?.message ?? String(err)}`, { cause: err, retriable: true });
    });

  const q = {
    topic: db.prepare<[string], TopicRow>('SELECT id, partitions, retention_ms, retention_bytes FROM topics WHERE name = ?'),
    topicsWithRetention: db.prepare<[], TopicRow & { name: string }>(
      'SELECT id, name, partitions, retention_ms, retention_bytes FROM topics WHERE retention_ms IS NOT NULL OR retention_bytes IS NOT NULL',
    ),
    insertTopic: db.prepare('INSERT INTO topics (name, partitions, retention_ms, retention_bytes) VALUES (?, ?, ?, ?) ON CONFLICT (name) DO NOTHING'),
    updateTopic: db.prepare('UPDATE topics SET partitions = max(partitions, ?), retention_ms = ?, retention_bytes = ? WHERE name = ?'),
    insertPartition: db.prepare('INSERT OR IGNORE INTO partitions (topic_id, partition) VALUES (?, ?)'),
    partitionCount: db.prepare<[number], { n: number }>('SELECT COUNT(*) AS n FROM partitions WHERE topic_id = ?'),
    nextOffset: db.prepare<[number, number], { next_offset: number }>('SELECT next_offset FROM partitions WHERE topic_id = ? AND partition = ?'),
    advance: db.prepare('UPDATE partitions SET next_offset = ?, bytes = bytes + ? WHERE topic_id = ? AND partition = ?'),
    partitionStats: db.prepare<[number], { partition: number; next_offset: number; bytes: number }>(
      'SELECT partition, next_offset, bytes FROM partitions WHERE topic_id = ? ORDER BY partition',
    ),
    shrink: db.prepare('UPDATE partitions SET bytes = bytes - ? WHERE topic_id = ? AND partition = ?'),
    committed: db.prepare<[string, number], { partition: number; offset: number }>('SELECT partition, offset FROM offsets WHERE group_id = ? AND topic_id = ?'),
    commit: db.prepare('INSERT INTO offsets (group_id, topic_id, partition, offset) VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET offset = excluded.offset'),
    upsertMember: db.prepare(
      'INSERT INTO members (group_id, member_id, topics, heartbeat) VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET heartbeat = excluded.heartbeat, topics = excluded.topics',
    ),
    heartbeat: db.prepare('UPDATE members SET heartbeat = ? WHERE group_id = ? AND member_id = ?'),
    expireMembers: db.prepare('DELETE FROM members WHERE group_id = ? AND heartbeat < ?'),
    dropOrphanClaims: db.prepare('DELETE FROM claims WHERE group_id = ? AND member_id NOT IN (SELECT member_id FROM members WHERE group_id = ?)'),
    members: db.prepare<[string], { member_id: string; topics: string }>('SELECT member_id, topics FROM members WHERE group_id = ? ORDER BY member_id'),
    claims: db.prepare<[string], { topic_id: number; partition: number; member_id: string }>('SELECT topic_id, partition, member_id FROM claims WHERE group_id = ?'),
    claim: db.prepare('INSERT INTO claims (group_id, topic_id, partition, member_id) VALUES (?, ?, ?, ?)'),
    claimOwner: db.prepare<[string, number, number], { member_id: string }>('SELECT member_id FROM claims WHERE group_id = ? AND topic_id = ? AND partition = ?'),
    release: db.prepare('DELETE FROM claims WHERE group_id = ? AND topic_id = ? AND partition = ? AND member_id = ?'),
    leaveClaims: db.prepare('DELETE FROM claims WHERE group_id = ? AND member_id = ?'),
    leave: db.prepare('DELETE FROM members WHERE group_id = ? AND member_id = ?'),
  };

  /** Each partition's statements (its table exists from the topic's creation on). */
  const logs = new Map<string, PartitionLog>();
  function logOf(topicId: number, partition: number): PartitionLog {
    const id = `${topicId}:${partition}`;
    let l = logs.get(id);
    if (!l) {
      l = new PartitionLog(db, partitionTable(topicId, partition));
      logs.set(id, l);
    }
    return l;
  }

  let closed = false;
  const closedError = () => new BackendUnavailableError('embedded bus is closed', { retriable: false });
  const consumers = new Set<EmbeddedConsumer>();

  /** Runs a synchronous database step, mapping SQLite failures to the port's error. */
  function guard<T>(what: string, fn: () => T): T {
    if (closed) throw closedError();
    try {
      return fn();
    } catch (err) {
      throw toBackendError(err, what);
    }
  }

  function upsertTopic(spec: TopicSpec): TopicRow {
    q.insertTopic.run(spec.name, spec.partitions, spec.retentionMs ?? null, spec.retentionBytes ?? null);
    q.updateTopic.run(spec.partitions, spec.retentionMs ?? null, spec.retentionBytes ?? null, spec.name);
    const row = q.topic.get(spec.name)!;
    if (row.partitions > spec.partitions) log.warn({ topic: spec.name, have: row.partitions, asked: spec.partitions }, 'topic has more partitions than asked; partitions never shrink');
    for (let p = q.partitionCount.get(row.id)!.n; p < row.partitions; p++) {
      db.exec(partitionTableSql(row.id, p));
      q.insertPartition.run(row.id, p);
    }
    return row;
  }

  /** A producer writing to an unknown topic creates it with the default partition count and no retention. */
  function topicForAppend(name: string): TopicRow {
    return q.topic.get(name) ?? upsertTopic({ name, partitions: defaultPartitions });
  }

  const ensureTx = db.transaction((specs: TopicSpec[]) => {
    for (const s of specs) upsertTopic(s);
  });

  /** Appends one send's records at the partitions' next offsets; runs inside a transaction. */
  function appendRecords(topic: string, records: ProducerRecord[], pick: ReturnType<typeof createPartitioner>, now: number): RecordMetadata[] {
    const t = topicForAppend(topic);
    const next = new Map<number, number>();
    const bytes = new Map<number, number>();
    const out = new Array<RecordMetadata>(records.length);
    const inserts: PartitionLog['insert'][] = [];
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!;
      const partition = pick(topic, r.key, t.partitions);
      const offset = next.get(partition) ?? q.nextOffset.get(t.id, partition)!.next_offset;
      const headers = r.headers && Object.keys(r.headers).length > 0 ? JSON.stringify(r.headers) : null;
      (inserts[partition] ??= logOf(t.id, partition).insert).run(offset, r.key, r.value, headers, r.timestamp ?? now, r.value.length);
      next.set(partition, offset + 1);
      bytes.set(partition, (bytes.get(partition) ?? 0) + r.value.length);
      out[i] = { topic, partition, offset };
    }
    for (const [partition, offset] of next) q.advance.run(offset, bytes.get(partition)!, t.id, partition);
    return out;
  }

  interface PendingSend {
    topic: string;
    records: ProducerRecord[];
    pick: ReturnType<typeof createPartitioner>;
    now: number;
    resolve: (m: RecordMetadata[]) => void;
    reject: (e: unknown) => void;
  }
  const appendTx = db.transaction((sends: PendingSend[]) => sends.map((p) => appendRecords(p.topic, p.records, p.pick, p.now)));

  /**
   * Group commit: the sends made while this thread was busy (several requests' batches, events
   * and dead letters of one request) are appended in one transaction, and every commit made
   * while one WAL flush runs shares the next flush. Each send resolves only after its records
   * are committed and flushed. A group that fails for a reason that may be one send's own is
   * retried send by send, so it stays that send's failure.
   */
  let pending: PendingSend[] = [];
  let flushTimer: NodeJS.Immediate | undefined;
  function flushSends(): void {
    flushTimer = undefined;
    const sends = pending;
    pending = [];
    if (sends.length === 0) return;
    const committed: [PendingSend, RecordMetadata[]][] = [];
    const commit = (group: PendingSend[]) => {
      const meta = guard('append', () => appendTx.immediate(group));
      group.forEach((p, i) => committed.push([p, meta[i]!]));
    };
    try {
      commit(sends);
    } catch (err) {
      // Lock contention, a full disk or I/O trouble fails every send alike (and retrying each would wait out busy_timeout again).
      if (sends.length === 1 || (err as BackendUnavailableError).retriable) for (const p of sends) p.reject(err);
      else
        for (const p of sends) {
          try {
            commit([p]);
          } catch (e) {
            p.reject(e);
          }
        }
    }
    if (committed.length === 0) return;
    for (const topic of new Set(committed.map(([p]) => p.topic))) signal.emit('append', topic);
    flushed().then(
      () => committed.forEach(([p, meta]) => p.resolve(meta)),
      (err: unknown) => committed.forEach(([p]) => p.reject(err)),
    );
  }

  /** Kafka-like retention: the oldest records go first, by age or by the partition's size; consumers do not hold it back. */
  const retainTx = db.transaction((t: TopicRow, partition: number, nextOffset: number, partitionBytes: number, now: number) => {
    const l = logOf(t.id, partition);
    let below = 0;
    if (t.retention_ms !== null) below = l.firstKept.get(now - t.retention_ms)?.offset ?? nextOffset;
    if (t.retention_bytes !== null && partitionBytes > t.retention_bytes) {
      const excess = partitionBytes - t.retention_bytes;
      let acc = 0;
      for (const row of l.sizesFromStart.iterate()) {
        acc += row.size;
        if (acc >= excess) {
          below = Math.max(below, row.offset + 1);
          break;
        }
      }
    }
    if (below === 0) return 0;
    const gone = l.sizeBelow.get(below)!;
    if (gone.n === 0) return 0;
    l.deleteBelow.run(below);
    q.shrink.run(gone.bytes, t.id, partition);
    return gone.n;
  });

  function enforceRetentionSync(now: number): number {
    let deleted = 0;
    for (const t of q.topicsWithRetention.all()) {
      for (const p of q.partitionStats.all(t.id)) deleted += retainTx.immediate(t, p.partition, p.next_offset, p.bytes, now);
    }
    if (deleted > 0) log.debug({ deleted }, 'retention deleted records');
    return deleted;
  }

  const retentionTimer = setInterval(() => {
    try {
      guard('retention', () => enforceRetentionSync(Date.now()));
    } catch (err) {
      log.warn({ err }, 'retention pass failed; next pass retries');
    }
  }, opts.retentionCheckIntervalMs ?? 30_000);
  retentionTimer.unref();

  class EmbeddedConsumer implements Consumer {
    private readonly memberId = `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
    private readonly groupId: string;
    private readonly topics: string[];
    private readonly maxBatchSize: number;
    private readonly pollIntervalMs: number;
    private readonly fromBeginning: boolean;
    private readonly tickMs = Math.max(50, Math.min(1000, Math.floor(memberTimeoutMs / 4)));
    private owned: { topic: string; topicId: number; partition: number; position: number }[] = [];
    private cursor = 0;
    private lastTick = 0;
    private abort: AbortController | undefined;
    private loop: Promise<void> | undefined;
    private heartbeatTimer: NodeJS.Timeout | undefined;
    private readonly log: Logger;
    private readonly poison: ConsumerOptions['poison'];
    private readonly sendDeadLetters = deadLetterSender(() => bus.producer());

    constructor(o: ConsumerOptions) {
      this.poison = o.poison;
      this.groupId = o.groupId;
      this.topics = [...new Set(o.topics)];
      this.maxBatchSize = o.maxBatchSize ?? 500;
      this.pollIntervalMs = o.pollIntervalMs ?? 20;
      this.fromBeginning = o.fromBeginning ?? true;
      this.log = log.child({ groupId: this.groupId, memberId: this.memberId });
    }

    async run(handler: BatchHandler): Promise<void> {
      if (this.abort) throw new Error('consumer is already running');
      this.abort = new AbortController();
      consumers.add(this);
      if (guard('join group', () => this.tick())) await flushed();
      this.heartbeatTimer = setInterval(() => {
        try {
          guard('heartbeat', () => q.heartbeat.run(Date.now(), this.groupId, this.memberId));
        } catch (err) {
          this.log.warn({ err }, 'heartbeat failed');
        }
      }, this.tickMs);
      this.loop = this.consume(handler, this.abort.signal);
    }

    async stop(): Promise<void> {
      if (!this.abort) return;
      this.abort.abort(new Error('consumer stopped'));
      await this.loop;
      clearInterval(this.heartbeatTimer);
      consumers.delete(this);
      this.abort = undefined;
      if (closed) return;
      try {
        guard('leave group', () =>
          db.transaction(() => {
            q.leaveClaims.run(this.groupId, this.memberId);
            q.leave.run(this.groupId, this.memberId);
          }).immediate(),
        );
      } catch (err) {
        // The member expires after memberTimeoutMs anyway.
        this.log.warn({ err }, 'leaving the group failed');
      }
    }

    private async consume(handler: BatchHandler, abort: AbortSignal): Promise<void> {
      let failures = 0;
      while (!abort.aborted) {
        try {
          if (Date.now() - this.lastTick >= this.tickMs && guard('rebalance', () => this.tick())) await flushed();
          const batch = guard('fetch', () => this.nextBatch());
          if (!batch) {
            await this.waitForAppend(abort);
            continue;
          }
          await deliverBatch(handler, batch, { groupId: this.groupId, signal: abort, log: this.log, poison: this.poison, sendDeadLetters: this.sendDeadLetters });
          await this.commit(batch);
          failures = 0;
        } catch (err) {
          if (abort.aborted) break;
          this.log.error({ err }, 'consume loop error; backing off');
          await sleep(backoffDelay(failures++, { initialDelayMs: 100, maxDelayMs: 5000 }), abort).catch(() => undefined);
        }
      }
    }

    /**
     * Joins or refreshes membership, expires silent members, and claims/releases partitions to
     * match the deterministic assignment. True when it committed a first position for a partition
     * (the caller makes that durable).
     */
    private tick(): boolean {
      this.lastTick = Date.now();
      const { groupId, memberId } = this;
      let positioned = false;
      this.owned = db
        .transaction(() => {
          const now = Date.now();
          q.upsertMember.run(groupId, memberId, JSON.stringify(this.topics), now);
          q.expireMembers.run(groupId, now - memberTimeoutMs);
          q.dropOrphanClaims.run(groupId, groupId);
          const members = q.members.all(groupId).map((m) => ({ id: m.member_id, topics: JSON.parse(m.topics) as string[] }));
          const claims = new Map(q.claims.all(groupId).map((c) => [`${c.topic_id}:${c.partition}`, c.member_id]));
          const owned: EmbeddedConsumer['owned'] = [];
          const keep = new Set<string>();
          for (const topic of this.topics) {
            const t = q.topic.get(topic);
            if (!t) continue;
            const committed = new Map(q.committed.all(groupId, t.id).map((c) => [c.partition, c.offset]));
            for (const partition of assignedPartitions(members, memberId, topic, t.partitions)) {
              const key = `${t.id}:${partition}`;
              const owner = claims.get(key);
              // Another live member still holds it: it releases on its next tick, then we claim.
              if (owner !== undefined && owner !== memberId) continue;
              if (owner === undefined) q.claim.run(groupId, t.id, partition, memberId);
              keep.add(key);
              let position = committed.get(partition);
              if (position === undefined) {
                position = this.fromBeginning ? 0 : q.nextOffset.get(t.id, partition)!.next_offset;
                q.commit.run(groupId, t.id, partition, position);
                positioned = true;
              }
              owned.push({ topic, topicId: t.id, partition, position });
            }
          }
          for (const [key, owner] of claims) {
            if (owner !== memberId || keep.has(key)) continue;
            const [topicId, partition] = key.split(':').map(Number) as [number, number];
            q.release.run(groupId, topicId, partition, memberId);
          }
          return owned;
        })
        .immediate();
      return positioned;
    }

    /** Round-robin over owned partitions so one busy partition cannot starve the others. */
    private nextBatch(): ConsumedRecord[] | undefined {
      const n = this.owned.length;
      for (let i = 0; i < n; i++) {
        const o = this.owned[(this.cursor + i) % n]!;
        const rows = logOf(o.topicId, o.partition).read.all(o.position, this.maxBatchSize);
        if (rows.length > 0) {
          this.cursor = (this.cursor + i + 1) % n;
          return rows.map((r) => toConsumed(o.topic, o.partition, r));
        }
      }
      return undefined;
    }

    /**
     * Commits only while this member still owns the partition; otherwise the new owner re-reads
     * the batch. The position moves on once the commit is durable: a failed flush re-delivers.
     */
    private async commit(batch: ConsumedRecord[]): Promise<void> {
      const last = batch[batch.length - 1]!;
      const o = this.owned.find((x) => x.topic === last.topic && x.partition === last.partition);
      if (!o) return;
      const ok = guard('commit', () =>
        db
          .transaction(() => {
            if (q.claimOwner.get(this.groupId, o.topicId, o.partition)?.member_id !== this.memberId) return false;
            q.commit.run(this.groupId, o.topicId, o.partition, last.offset + 1);
            return true;
          })
          .immediate(),
      );
      if (ok) {
        await flushed();
        o.position = last.offset + 1;
      } else {
        this.log.warn({ topic: o.topic, partition: o.partition }, 'partition was reassigned before commit; its new owner re-delivers the batch');
        this.owned = this.owned.filter((x) => x !== o);
      }
    }

    /** Idle wait: wakes on a local producer's append, or after the poll interval (appends by other processes). */
    private waitForAppend(abort: AbortSignal): Promise<void> {
      return new Promise((done) => {
        const finish = () => {
          clearTimeout(timer);
          signal.off('append', onAppend);
          abort.removeEventListener('abort', finish);
          done();
        };
        const onAppend = (topic: string) => {
          if (this.topics.includes(topic)) finish();
        };
        const timer = setTimeout(finish, Math.min(this.pollIntervalMs, Math.max(0, this.tickMs - (Date.now() - this.lastTick))));
        signal.on('append', onAppend);
        abort.addEventListener('abort', finish, { once: true });
      });
    }
  }

  const bus: EmbeddedBus = {
    kind: 'embedded',
    path,

    async ensureTopics(specs) {
      const parsed = specs.map((s) => topicSpecSchema.parse(s));
      guard('ensure topics', () => ensureTx.immediate(parsed));
      await flushed();
    },

    async producer(): Promise<Producer> {
      const pick = createPartitioner();
      return {
        send(topic, records) {
          if (records.length === 0) return Promise.resolve([]);
          if (closed) return Promise.reject(closedError());
          return new Promise<RecordMetadata[]>((resolve, reject) => {
            pending.push({ topic, records, pick, now: Date.now(), resolve, reject });
            flushTimer ??= setImmediate(flushSends);
          });
        },
        async close() {},
      };
    },

    async consumer(o) {
      return new EmbeddedConsumer(o);
    },

    async lag(groupId, topic) {
      return guard('lag', () => {
        const t = q.topic.get(topic);
        if (!t) return [];
        const committed = new Map(q.committed.all(groupId, t.id).map((c) => [c.partition, c.offset]));
        return q.partitionStats.all(t.id).map((p): PartitionLag => {
          const c = committed.get(p.partition) ?? -1;
          const from = c >= 0 ? c : (logOf(t.id, p.partition).low.get()?.offset ?? p.next_offset);
          return { topic, partition: p.partition, committed: c, end: p.next_offset, lag: Math.max(0, p.next_offset - from) };
        });
      });
    },

    async read(topic, o = {}) {
      return guard('read', () => {
        const t = q.topic.get(topic);
        if (!t) return [];
        const from = o.fromOffset ?? 0;
        const limit = o.limit ?? 100;
        if (o.partition !== undefined) {
          if (!Number.isInteger(o.partition) || o.partition < 0 || o.partition >= t.partitions) return [];
          return logOf(t.id, o.partition).read.all(from, limit).map((r) => toConsumed(topic, o.partition!, r));
        }
        // Partition by partition, in offset order within each, as one ORDER BY partition, offset did.
        const out: ConsumedRecord[] = [];
        for (let p = 0; p < t.partitions && out.length < limit; p++) {
          for (const r of logOf(t.id, p).read.all(from, limit - out.length)) out.push(toConsumed(topic, p, r));
        }
        return out;
      });
    },

    async enforceRetention(now = Date.now()) {
      return guard('retention', () => enforceRetentionSync(now));
    },

    async close() {
      if (closed) return;
      await Promise.all([...consumers].map((c) => c.stop()));
      clearInterval(retentionTimer);
      // Sends already made are appended (or fail) before the file closes, never left pending.
      if (flushTimer) clearImmediate(flushTimer);
      flushSends();
      await wal.close();
      closed = true;
      db.close();
    },
  };
  return bus;
}
