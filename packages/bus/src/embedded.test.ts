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
import type { ConsumedRecord } from './port.ts';

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
});
