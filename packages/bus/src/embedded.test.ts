import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { BackendUnavailableError } from '@soc/errors';
import { createLogger } from '@soc/telemetry';
import { busConformance, eventually } from './conformance.ts';
import { openEmbeddedBus, type EmbeddedBus } from './embedded.ts';
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
});
