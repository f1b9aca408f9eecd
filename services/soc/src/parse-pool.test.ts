import { readFileSync, readdirSync } from 'node:fs';
import { getPriority } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SocError } from '@soc/errors';
import { CidrSet } from '@soc/netaddr';
import { Metrics, createLogger } from '@soc/telemetry';
import { parseLines, type IngestContext, type ParsedLines, type RawLine } from '@soc/svc-collector';
import { ParsePool } from './parse-pool.ts';
import { linesFromWire, linesToWire, parsedFromWire, parsedToWire } from './parse-wire.ts';

const logger = createLogger('t', { level: 'silent' });
const internal = ['10.0.0.0/8'];
const settings = { internalCidrs: internal, preserveOriginal: true };
const ctx: IngestContext = { source: 'http:edge1', format: 'auto', observer: { ip: '127.0.0.1' } };

const conn = (i: number) => JSON.stringify({ ts: 1793534400 + i / 1000, uid: `C${i}`, 'id.orig_h': '10.1.2.3', 'id.orig_p': 40000 + (i % 20000), 'id.resp_h': '198.51.100.7', 'id.resp_p': 443, proto: 'tcp', conn_state: 'SF', orig_bytes: 100, resp_bytes: 2000 });
const lines = (n: number): RawLine[] => Array.from({ length: n }, (_, i) => ({ raw: conn(i), line: i + 1 }));

/** What must not depend on the thread: each event and each rejection, without the time it was read. */
function comparable(p: ParsedLines) {
  const events = p.events.map((r) => {
    const e = JSON.parse(r.value) as { event: Record<string, unknown> };
    delete e.event.ingested;
    return { key: r.key, e };
  });
  const dead = p.dead.map((r) => {
    const d = JSON.parse(r.value) as Record<string, unknown>;
    return { key: r.key, reason: d.reason, raw: d.raw, line: d.line, stage: d.stage, source: d.source };
  });
  return { events, dead, errors: p.errors, reasons: p.reasons };
}

describe('parser threads (collector.parseThreads)', () => {
  let pool: ParsePool;
  beforeAll(async () => {
    pool = await ParsePool.start(2, settings, logger);
  });
  afterAll(async () => {
    await pool?.close();
  });

  it('give exactly what parsing in this thread gives, the site networks included', async () => {
    const batch: RawLine[] = [
      ...lines(50),
      { raw: '{"timestamp":"2026-11-01T12:00:00.000000+0000","event_type":"alert","src_ip":"203.0.113.9","src_port":4444,"dest_ip":"10.1.2.3","dest_port":80,"proto":"TCP","alert":{"signature_id":2010001,"signature":"ET bench","category":"x","severity":1}}', line: 51 },
      { raw: 'not json, not syslog', line: 52 },
      { raw: '{"ts":"yesterday","uid":"C1","id.orig_h":"10.0.0.1"}', line: 53 },
      { raw: '<34>1 2026-11-01T12:00:00Z host app - - - a syslog message', line: 54 },
      { raw: 'x', line: 55, rejectReason: 'line exceeds 16 bytes' },
    ];
    const here = parseLines(batch, ctx, { internal: new CidrSet(internal) });
    const there = await pool.parse(batch, ctx);
    expect(comparable(there)).toEqual(comparable(here));
    expect(there.events.length).toBe(52);
    expect(there.dead.length).toBe(3);
    // The internal networks reached the thread: direction is derived from them.
    expect(JSON.parse(there.events[0]!.value).network.direction).toBe('outbound');
  });

  it('parse with the settings they were started with (collector.preserveOriginal)', async () => {
    const bare = await ParsePool.start(1, { internalCidrs: [], preserveOriginal: false }, logger);
    try {
      const there = await bare.parse(lines(5), ctx);
      expect(there.events).toHaveLength(5);
      for (const r of there.events) expect(JSON.parse(r.value).event).not.toHaveProperty('original');
      // Without internal networks nothing is derived; with the default pool it is (test above).
      expect(JSON.parse(there.events[0]!.value).network.direction).toBeUndefined();
      expect(comparable(there)).toEqual(comparable(parseLines(lines(5), ctx, { preserveOriginal: false })));
    } finally {
      await bare.close();
    }
  });

  it('run at the nice value asked (collector.parseThreadNice), the calling thread unchanged', async () => {
    const own = getPriority(0);
    // Above this thread's own value: lowering priority needs no privilege, wherever the test runs.
    const asked = Math.min(19, own + 3);
    const niced = await ParsePool.start(1, { ...settings, nice: asked }, logger);
    try {
      expect(niced.nice).toEqual([asked]);
      expect(getPriority(0)).toBe(own);
      // Seen from outside the thread too: Linux lists each thread's nice in /proc (field 19).
      if (process.platform === 'linux') {
        const nices = readdirSync('/proc/self/task').map((t) => Number(readFileSync(`/proc/self/task/${t}/stat`, 'utf8').split(') ')[1]!.split(' ')[16]));
        expect(nices).toContain(asked);
      }
      expect((await niced.parse(lines(3), ctx)).events).toHaveLength(3);
    } finally {
      await niced.close();
    }
  });

  it('carry a batch across in columns and rebuild exactly the lines and the records', () => {
    // Own line numbers, none (position), a source's rejection: parseLines sees the same lines.
    const batch: RawLine[] = [{ raw: conn(1), line: 7 }, { raw: conn(2) }, { raw: 'x'.repeat(40), line: 9, rejectReason: 'line exceeds 16 bytes' }, { raw: '', line: 12 }];
    const back = linesFromWire(structuredClone(linesToWire(batch)));
    expect(comparable(parseLines(back, ctx))).toEqual(comparable(parseLines(batch, ctx)));
    expect(back).toEqual([{ raw: conn(1), line: 7 }, { raw: conn(2), line: 2 }, { raw: 'x'.repeat(40), line: 9, rejectReason: 'line exceeds 16 bytes' }, { raw: '', line: 12 }]);
    // Event records are { key, value } exactly (a key may be null): nothing else is dropped by the columns.
    const parsed = parseLines([...batch, { raw: '<34>1 2026-11-01T12:00:00Z - app - - - no host, no key' }], ctx);
    expect(parsed.events.some((r) => r.key === null)).toBe(true);
    for (const r of parsed.events) expect(Object.keys(r)).toEqual(['key', 'value']);
    expect(parsedFromWire(structuredClone(parsedToWire(parsed)))).toStrictEqual(parsed);
  });

  it('fail the batches of a thread that dies with a retriable error, and replace the thread', async () => {
    // Long enough that the thread is still parsing when it is ended.
    const inHand = pool.parse(lines(20_000), ctx);
    const victim = pool.threads[0]!;
    void victim.terminate();
    const err = await inHand.then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(SocError);
    expect((err as SocError).retriable).toBe(true);
    // The replacement takes work again; until it is up the other thread does (poll, no fixed sleep).
    const deadline = Date.now() + 60_000;
    while (pool.threads.length < 2 || pool.threads.includes(victim)) {
      if (Date.now() > deadline) throw new Error('the parser thread was not replaced');
      await new Promise((r) => setTimeout(r, 50));
    }
    const again = await Promise.all(pool.threads.map(() => pool.parse(lines(10), ctx)));
    for (const r of again) expect(r.events.length).toBe(10);
  });

  it('count the lines in hand as the parser stage queue in /metrics, down to 0 when parsed or failed', async () => {
    const metrics = new Metrics({ defaults: false });
    const one = await ParsePool.start(1, settings, logger, metrics);
    const depth = async () => /soc_queue_depth\{stage="parser"\} (\d+)/.exec(await metrics.render())?.[1];
    try {
      const a = one.parse(lines(3000), ctx);
      const b = one.parse(lines(200), ctx);
      expect(one.depth).toBe(3200);
      expect(await depth()).toBe('3200');
      await Promise.all([a, b]);
      expect(await depth()).toBe('0');
      const lost = one.parse(lines(20_000), ctx);
      void one.threads[0]!.terminate();
      await lost.catch(() => undefined);
      expect(one.depth).toBe(0);
      expect(await depth()).toBe('0');
    } finally {
      await one.close();
    }
  });

  it.skipIf(process.platform !== 'linux')('report each thread\'s CPU time as soc_thread_cpu_seconds_total{thread="parser-<n>"}, a replacement under a new name', async () => {
    const metrics = new Metrics({ defaults: false });
    const one = await ParsePool.start(1, settings, logger, metrics);
    const cpu = async (thread: string) => Number(new RegExp(`soc_thread_cpu_seconds_total\\{thread="${thread}"\\} ([\\d.]+)`).exec(await metrics.render())?.[1] ?? NaN);
    try {
      await one.parse(lines(20_000), ctx);
      // 20,000 lines are tens of milliseconds of the parser thread's CPU, none of this thread's.
      expect(await cpu('parser-0')).toBeGreaterThan(0);
      const first = one.threads[0]!;
      await first.terminate();
      for (let i = 0; i < 250 && (one.threads[0] ?? first) === first; i++) await new Promise((r) => setTimeout(r, 20));
      await one.parse(lines(20_000), ctx);
      expect(await cpu('parser-1')).toBeGreaterThan(0);
    } finally {
      await one.close();
    }
  });
});
