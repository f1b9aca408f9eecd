import { spawn, type ChildProcess } from 'node:child_process';
import fs, { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BackendUnavailableError } from '@soc/errors';
import { openAtOnce } from '@soc/testkit/cold-open';
import { createLogger } from '@soc/telemetry';
import { busConformance, eventually } from './conformance.ts';
import { PAGE_SIZE, openEmbeddedBus, type EmbeddedBus, type EmbeddedBusOptions } from './embedded.ts';
import { partitionForKey } from './partition.ts';
import type { ConsumedRecord } from './port.ts';
import { SCHEMA } from './sqlite-schema.ts';

const logger = createLogger('bus-test', { level: 'warn' });
const MEMBER_TIMEOUT = 1000;

function tempDb(): { path: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'soc-bus-'));
  return { dir, path: join(dir, 'bus.db') };
}

busConformance('embedded', async () => {
  const { dir, path } = tempDb();
  const open = () => openEmbeddedBus({ path, logger, memberTimeoutMs: MEMBER_TIMEOUT });
  let bus: EmbeddedBus = open();
  return {
    bus,
    settleMs: 600,
    async reopen(old) {
      await old.close();
      bus = open();
      return bus;
    },
    enforceRetention: (b) => (b as EmbeddedBus).enforceRetention().then(() => undefined),
    async cleanup() {
      await bus.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describe('embedded bus specifics', () => {
  const dirs: string[] = [];
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const c of children.splice(0)) c.kill('SIGKILL');
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  // Several processes opening one new file together (three SOCs on one federation bus) race to
  // convert it to WAL; SQLite refused the losers SQLITE_BUSY without waiting (about one round in 15
  // failed before the open retried).
  it('opens a new file from several processes at once', async () => {
    const script = fileURLToPath(new URL('./testing/cold-open.ts', import.meta.url));
    const dir = mkdtempSync(join(tmpdir(), 'bus-cold-'));
    dirs.push(dir);
    const { default: Database } = await import('better-sqlite3');
    for (let round = 0; round < 6; round++) {
      const path = join(dir, `cold-${round}.db`);
      const done = await openAtOnce(script, path, 4, fileURLToPath(new URL('../../..', import.meta.url)));
      expect(done.filter((r) => r.code !== 0).map((r) => r.stderr)).toEqual([]);
      const db = new Database(path, { readonly: true });
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.prepare('SELECT name FROM topics').pluck().all()).toEqual(['federation']);
      db.close();
    }
  }, 120_000);

  function spawnMember(path: string, groupId: string, topic: string, handled: string): Promise<ChildProcess> {
    const script = fileURLToPath(new URL('./testing/group-member.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', script, path, groupId, topic, handled, String(MEMBER_TIMEOUT)], {
      stdio: ['ignore', 'pipe', 'inherit'],
      cwd: fileURLToPath(new URL('../../..', import.meta.url)),
    });
    children.push(child);
    return new Promise((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`group member exited early with ${code}`)));
      child.stdout!.on('data', (d: Buffer) => {
        if (d.toString().includes('ready')) resolve(child);
      });
    });
  }

  it('shares a group with a member in another process, and takes over its partitions when it dies', async () => {
    const { dir, path } = tempDb();
    dirs.push(dir);
    const bus = openEmbeddedBus({ path, logger, memberTimeoutMs: MEMBER_TIMEOUT });
    try {
      await bus.ensureTopics([{ name: 'events', partitions: 4 }]);
      const mine: ConsumedRecord[] = [];
      const consumer = await bus.consumer({ groupId: 'detector', topics: ['events'] });
      await consumer.run(async (batch) => {
        mine.push(...batch);
      });
      const child = await spawnMember(path, 'detector', 'events', 'handled');
      await new Promise((r) => setTimeout(r, 800));

      const producer = await bus.producer();
      await producer.send('events', Array.from({ length: 200 }, (_, i) => ({ key: `host-${i}`, value: `e${i}` })));
      const handledElsewhere = async () => (await bus.read('handled', { limit: 10_000 })).map((r) => r.value);
      const all = async () => [...mine.map((r) => `${r.partition}:${r.offset}`), ...(await handledElsewhere())];
      await eventually(async () => (await all()).length >= 200, 20_000, '200 records handled across two processes');
      await new Promise((r) => setTimeout(r, 200));
      const handled = await all();
      expect(new Set(handled).size).toBe(200);
      expect(handled).toHaveLength(200);
      expect(mine.length).toBeGreaterThan(0);
      expect((await handledElsewhere()).length).toBeGreaterThan(0);

      // Crash the other member: its partitions move here once its heartbeat goes stale.
      child.kill('SIGKILL');
      await producer.send('events', Array.from({ length: 100 }, (_, i) => ({ key: `host-${i}`, value: `late${i}` })));
      await eventually(() => new Set(mine.filter((r) => r.value.startsWith('late')).map((r) => r.value)).size === 100, 20_000, 'takeover of the dead member');
      const lag = await bus.lag('detector', 'events');
      await eventually(async () => (await bus.lag('detector', 'events')).every((l) => l.lag === 0), 5000, 'lag 0');
      expect(lag).toHaveLength(4);
      await consumer.stop();
    } finally {
      await bus.close();
    }
  });

  it('auto-creates an unknown topic with the default partition count on produce', async () => {
    const { dir, path } = tempDb();
    dirs.push(dir);
    const bus = openEmbeddedBus({ path, logger, defaultPartitions: 3 });
    await (await bus.producer()).send('fresh', [{ key: 'a', value: '1' }]);
    expect(await bus.lag('g', 'fresh')).toHaveLength(3);
    await bus.close();
  });

  it('rejects operations after close with a non-retriable BackendUnavailableError', async () => {
    const { dir, path } = tempDb();
    dirs.push(dir);
    const bus = openEmbeddedBus({ path, logger });
    const producer = await bus.producer();
    await bus.close();
    const err = await producer.send('t', [{ key: null, value: 'x' }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendUnavailableError);
    expect((err as BackendUnavailableError).retriable).toBe(false);
  });

  it('surfaces a lock held past busy_timeout as a retriable BackendUnavailableError', async () => {
    const { dir, path } = tempDb();
    dirs.push(dir);
    const holder = openEmbeddedBus({ path, logger });
    const blocked = openEmbeddedBus({ path, logger, busyTimeoutMs: 50 });
    // Hold the write lock through a raw connection, as another process mid-transaction would.
    const { default: Database } = await import('better-sqlite3');
    const raw = new Database(path);
    raw.exec('BEGIN IMMEDIATE');
    const err = await (await blocked.producer()).send('t', [{ key: null, value: 'x' }]).catch((e: unknown) => e);
    raw.exec('ROLLBACK');
    raw.close();
    expect(err).toBeInstanceOf(BackendUnavailableError);
    expect((err as BackendUnavailableError).retriable).toBe(true);
    await blocked.close();
    await holder.close();
  });

  /** A new log with topic `t` (one partition) and a producer. */
  async function freshLog(o: Partial<EmbeddedBusOptions> = {}) {
    const { dir, path } = tempDb();
    dirs.push(dir);
    const bus = openEmbeddedBus({ path, logger, ...o });
    await bus.ensureTopics([{ name: 't', partitions: 1 }]);
    return { bus, path, producer: await bus.producer() };
  }

  describe('group commit', () => {
    function open(): EmbeddedBus {
      const { dir, path } = tempDb();
      dirs.push(dir);
      return openEmbeddedBus({ path, logger });
    }

    it('appends the sends of one turn in call order, each resolved once committed and visible to another connection', async () => {
      const bus = open();
      await bus.ensureTopics([{ name: 'a', partitions: 2 }, { name: 'b', partitions: 1 }]);
      const producer = await bus.producer();
      const batch = (tag: string, n: number) => Array.from({ length: n }, (_, i) => ({ key: `k${i % 3}`, value: `${tag}${i}` }));
      const sent = [producer.send('a', batch('x', 50)), producer.send('b', batch('dl', 3)), producer.send('a', batch('y', 40)), producer.send('a', [])];
      const meta = await Promise.all(sent);
      // Read through a second connection: resolved means committed, not only written in this one.
      const other = openEmbeddedBus({ path: bus.path, logger });
      try {
        const a = [...(await other.read('a', { partition: 0, limit: 1000 })), ...(await other.read('a', { partition: 1, limit: 1000 }))];
        expect(a).toHaveLength(90);
        for (const part of [0, 1]) {
          const values = a.filter((r) => r.partition === part).map((r) => r.value);
          // Within a partition, the first send's records precede the second's, offsets without gaps.
          expect(values).toEqual([...batch('x', 50), ...batch('y', 40)].filter((_, i) => meta[i < 50 ? 0 : 2]![i < 50 ? i : i - 50]!.partition === part).map((r) => r.value));
          expect(a.filter((r) => r.partition === part).map((r) => r.offset)).toEqual(values.map((_, i) => i));
        }
        for (const [i, m] of meta[0]!.entries()) expect(a.find((r) => r.partition === m.partition && r.offset === m.offset)?.value).toBe(`x${i}`);
        expect((await other.read('b', { limit: 10 })).map((r) => r.value)).toEqual(['dl0', 'dl1', 'dl2']);
        expect(meta[3]).toEqual([]);
      } finally {
        await other.close();
        await bus.close();
      }
    });

    it("fails only the send whose own record is refused; the others of its group are appended", async () => {
      const bus = open();
      await bus.ensureTopics([{ name: 't', partitions: 1 }]);
      const producer = await bus.producer();
      const results = await Promise.allSettled([
        producer.send('t', [{ key: null, value: 'first' }]),
        // A value the log refuses (NOT NULL): this send fails, without a partial record.
        producer.send('t', [{ key: null, value: 'ok-but-in-a-bad-send' }, { key: null, value: null as unknown as string }]),
        producer.send('t', [{ key: null, value: 'third' }]),
      ]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      const err = (results[1] as PromiseRejectedResult).reason as BackendUnavailableError;
      expect(err).toBeInstanceOf(BackendUnavailableError);
      expect(err.retriable).toBe(false);
      expect((await bus.read('t', { limit: 10 })).map((r) => [r.offset, r.value])).toEqual([[0, 'first'], [1, 'third']]);
      await bus.close();
    });

    it('fails every send of a group with the retriable error when the write lock is held elsewhere', async () => {
      const { bus, path, producer } = await freshLog({ busyTimeoutMs: 50 });
      const { default: Database } = await import('better-sqlite3');
      const raw = new Database(path);
      raw.exec('BEGIN IMMEDIATE');
      const results = await Promise.allSettled([producer.send('t', [{ key: null, value: 'a' }]), producer.send('t', [{ key: null, value: 'b' }])]);
      raw.exec('ROLLBACK');
      raw.close();
      for (const r of results) {
        expect(r.status).toBe('rejected');
        expect(((r as PromiseRejectedResult).reason as BackendUnavailableError).retriable).toBe(true);
      }
      expect(await bus.read('t', { limit: 10 })).toEqual([]);
      await bus.close();
    });

    it('appends a send made just before close, and refuses one made after', async () => {
      const { bus, path, producer } = await freshLog();
      const before = producer.send('t', [{ key: null, value: 'kept' }]);
      await bus.close();
      expect(await before).toEqual([{ topic: 't', partition: 0, offset: 0 }]);
      await expect(producer.send('t', [{ key: null, value: 'late' }])).rejects.toBeInstanceOf(BackendUnavailableError);
      const again = openEmbeddedBus({ path, logger });
      expect((await again.read('t')).map((r) => r.value)).toEqual(['kept']);
      await again.close();
    });
  });

  describe('durability off the thread (WAL fdatasync)', () => {
    afterEach(() => vi.restoreAllMocks());

    /** Holds every fdatasync until released, recording which file it flushes. */
    function holdFlushes() {
      const held: { ino: number; done: () => void }[] = [];
      const real = fs.fdatasync;
      vi.spyOn(fs, 'fdatasync').mockImplementation(((fd: number, cb: (err: NodeJS.ErrnoException | null) => void) => {
        held.push({ ino: fs.fstatSync(fd).ino, done: () => real(fd, cb) });
      }) as typeof fs.fdatasync);
      return held;
    }

    it('resolves a send only after the WAL it was written to is flushed, and the sends committed meanwhile share the next flush', async () => {
      const { bus, path, producer } = await freshLog();
      const held = holdFlushes();
      const state: string[] = [];
      const first = producer.send('t', [{ key: null, value: 'a' }]).then(() => state.push('a'));
      await eventually(() => held.length === 1, 5000, 'the first flush started');
      expect(held[0]!.ino).toBe(fs.statSync(`${path}-wal`).ino);
      // Committed (another connection reads it) but not flushed: not acknowledged.
      const other = openEmbeddedBus({ path, logger });
      expect((await other.read('t')).map((r) => r.value)).toEqual(['a']);
      const later = [producer.send('t', [{ key: null, value: 'b' }]).then(() => state.push('b')), producer.send('t', [{ key: null, value: 'c' }]).then(() => state.push('c'))];
      await new Promise((r) => setTimeout(r, 50));
      expect(state).toEqual([]);
      held[0]!.done();
      await first;
      expect(state).toEqual(['a']);
      // b and c were committed while the first flush ran: one more flush covers both.
      await eventually(() => held.length === 2, 5000, 'the second flush started');
      await new Promise((r) => setTimeout(r, 50));
      expect(state).toEqual(['a']);
      held[1]!.done();
      await Promise.all(later);
      expect(state.sort()).toEqual(['a', 'b', 'c']);
      expect(held).toHaveLength(2);
      vi.restoreAllMocks();
      await other.close();
      await bus.close();
    });

    it('fails a send whose flush fails with a retriable BackendUnavailableError', async () => {
      const { bus, producer } = await freshLog();
      vi.spyOn(fs, 'fdatasync').mockImplementation(((_fd: number, cb: (err: NodeJS.ErrnoException | null) => void) => {
        cb(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
      }) as typeof fs.fdatasync);
      const err = await producer.send('t', [{ key: null, value: 'x' }]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BackendUnavailableError);
      expect((err as BackendUnavailableError).retriable).toBe(true);
      expect((err as Error).message).toMatch(/flushing the log to disk failed: EIO/);
      vi.restoreAllMocks();
      await bus.close();
    });

    it("moves a consumer on only once its offset commit is flushed", async () => {
      const { bus, producer } = await freshLog();
      const consumer = await bus.consumer({ groupId: 'g', topics: ['t'] });
      const handled: string[] = [];
      await consumer.run(async (batch) => {
        handled.push(...batch.map((r) => r.value));
      });
      const held = holdFlushes();
      const sent = [producer.send('t', [{ key: null, value: 'a' }])];
      // Committed records are readable before their flush: the consumer handles a, then its offset
      // commit waits for a flush, and so does it.
      await eventually(() => handled.length === 1, 5000, 'a handled');
      sent.push(producer.send('t', [{ key: null, value: 'b' }]));
      await new Promise((r) => setTimeout(r, 150));
      expect(handled).toEqual(['a']);
      vi.restoreAllMocks();
      for (const h of held) h.done();
      await Promise.all(sent);
      await eventually(() => handled.length === 2, 5000, 'b handled once the commit of a is durable');
      expect(handled).toEqual(['a', 'b']);
      await consumer.stop();
      await bus.close();
    });
  });

  it('creates a new log file with 16 KiB pages and keeps the page size of an existing one', async () => {
    const { default: Database } = await import('better-sqlite3');
    const fresh = tempDb();
    dirs.push(fresh.dir);
    const bus = openEmbeddedBus({ path: fresh.path, logger });
    await (await bus.producer()).send('t', [{ key: null, value: 'x' }]);
    await bus.close();
    const pageSize = (path: string) => {
      const db = new Database(path, { readonly: true });
      try {
        return db.pragma('page_size', { simple: true });
      } finally {
        db.close();
      }
    };
    expect(pageSize(fresh.path)).toBe(PAGE_SIZE);
    // A log written before this page size: it opens, appends and reads as before.
    const old = tempDb();
    dirs.push(old.dir);
    const raw = new Database(old.path);
    raw.pragma('page_size = 4096');
    raw.pragma('journal_mode = WAL');
    raw.close();
    const reopened = openEmbeddedBus({ path: old.path, logger });
    await (await reopened.producer()).send('t', [{ key: null, value: 'y' }]);
    expect((await reopened.read('t')).map((r) => r.value)).toEqual(['y']);
    await reopened.close();
    expect(pageSize(old.path)).toBe(4096);
  });

  it('grows a topic: the added partitions take and give back records', async () => {
    const { dir, path } = tempDb();
    dirs.push(dir);
    const bus = openEmbeddedBus({ path, logger });
    await bus.ensureTopics([{ name: 'grow', partitions: 2 }]);
    await bus.ensureTopics([{ name: 'grow', partitions: 5 }]);
    const key = Array.from({ length: 100 }, (_, i) => `k${i}`).find((k) => partitionForKey(k, 5) === 4)!;
    const [meta] = await (await bus.producer()).send('grow', [{ key, value: 'v' }]);
    expect(meta).toEqual({ topic: 'grow', partition: 4, offset: 0 });
    expect((await bus.read('grow', { partition: 4 })).map((r) => r.value)).toEqual(['v']);
    expect(await bus.read('grow', { partition: 5 })).toEqual([]);
    expect((await bus.lag('g', 'grow')).map((l) => l.end)).toEqual([0, 0, 0, 0, 1]);
    await bus.close();
  });

  // Files written before each partition had its own table kept every record in one `records`
  // table with a position index; such a file opens with its records, offsets and groups intact.
  it('moves a log written with one records table into per-partition tables, nothing lost or reordered', async () => {
    const { default: Database } = await import('better-sqlite3');
    const { dir, path } = tempDb();
    dirs.push(dir);
    const raw = new Database(path);
    raw.pragma('journal_mode = WAL');
    raw.exec(SCHEMA);
    raw.exec(`CREATE TABLE records (seq INTEGER PRIMARY KEY, topic_id INTEGER NOT NULL, partition INTEGER NOT NULL, offset INTEGER NOT NULL,
      key TEXT, value TEXT NOT NULL, headers TEXT, timestamp INTEGER NOT NULL, size INTEGER NOT NULL);
      CREATE UNIQUE INDEX records_position ON records (topic_id, partition, offset);`);
    raw.prepare('INSERT INTO topics (id, name, partitions, retention_ms, retention_bytes) VALUES (1, ?, 2, NULL, NULL), (2, ?, 1, 60000, NULL)').run('old', 'aged');
    // Offsets 0-1 of partition 0 were deleted by retention already: the low mark is 2.
    raw.prepare('INSERT INTO partitions (topic_id, partition, next_offset, bytes) VALUES (1, 0, 6, 8), (1, 1, 3, 6), (2, 0, 2, 4)').run();
    const ins = raw.prepare('INSERT INTO records (topic_id, partition, offset, key, value, headers, timestamp, size) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    // Interleaved as appends across partitions leave them.
    const rows: [number, number, number, string | null, string, string | null, number][] = [
      [1, 1, 0, 'b', 'b0', null, 1000], [1, 0, 2, 'a', 'a2', '{"trace":"x"}', 1001], [1, 1, 1, 'b', 'b1', null, 1002],
      [1, 0, 3, 'a', 'a3', null, 1003], [1, 0, 4, null, 'a4', null, 1004], [1, 1, 2, 'b', 'b2', null, 1005], [1, 0, 5, 'a', 'a5', null, 1006],
      [2, 0, 0, null, 'x0', null, Date.now() - 3_600_000], [2, 0, 1, null, 'x1', null, Date.now()],
    ];
    for (const [t, p, o, k, v, h, ts] of rows) ins.run(t, p, o, k, v, h, ts, v.length);
    raw.prepare("INSERT INTO offsets (group_id, topic_id, partition, offset) VALUES ('g', 1, 0, 4)").run();
    raw.close();

    const bus = openEmbeddedBus({ path, logger });
    const all = await bus.read('old', { limit: 100 });
    expect(all.map((r) => [r.partition, r.offset, r.key, r.value, r.timestamp])).toEqual([
      [0, 2, 'a', 'a2', 1001], [0, 3, 'a', 'a3', 1003], [0, 4, null, 'a4', 1004], [0, 5, 'a', 'a5', 1006],
      [1, 0, 'b', 'b0', 1000], [1, 1, 'b', 'b1', 1002], [1, 2, 'b', 'b2', 1005],
    ]);
    expect(all[0]!.headers).toEqual({ trace: 'x' });
    expect(await bus.lag('g', 'old')).toEqual([
      { topic: 'old', partition: 0, committed: 4, end: 6, lag: 2 },
      { topic: 'old', partition: 1, committed: -1, end: 3, lag: 3 },
    ]);
    // Appends go on from each partition's next offset; the group resumes where it committed.
    const key = partitionForKey('a', 2) === 0 ? 'a' : 'b';
    const [meta] = await (await bus.producer()).send('old', [{ key, value: 'new' }]);
    expect(meta).toEqual({ topic: 'old', partition: 0, offset: 6 });
    const seen: ConsumedRecord[] = [];
    const c = await bus.consumer({ groupId: 'g', topics: ['old'] });
    await c.run(async (batch) => void seen.push(...batch));
    await eventually(() => seen.length >= 6, 5000, 'the rest of the log');
    await c.stop();
    expect(seen.map((r) => `${r.partition}:${r.offset}:${r.value}`).sort()).toEqual(['0:4:a4', '0:5:a5', '0:6:new', '1:0:b0', '1:1:b1', '1:2:b2']);
    // Retention works on the moved records.
    expect(await bus.enforceRetention()).toBe(1);
    expect((await bus.read('aged')).map((r) => r.value)).toEqual(['x1']);
    await bus.close();

    const after = new Database(path, { readonly: true });
    try {
      expect(after.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'records%'").all()).toEqual([]);
    } finally {
      after.close();
    }
    // A second open finds nothing left to move.
    const again = openEmbeddedBus({ path, logger });
    expect((await again.read('old', { partition: 0 })).map((r) => r.value)).toEqual(['a2', 'a3', 'a4', 'a5', 'new']);
    await again.close();
  });
});
