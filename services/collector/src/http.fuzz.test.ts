import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEmbeddedBus, type EmbeddedBus } from '@soc/bus';
import { TokenVerifier } from '@soc/config';
import { createHttpHandler, listen } from '@soc/http';
import { TOPICS } from '@soc/schema';
import { Metrics, createLogger } from '@soc/telemetry';
import { collectorRoutes } from './http.ts';
import { BusIngest } from './ingest.ts';

/**
 * POST /v1/events with any body, encoding, content type and query, against the real HTTP layer,
 * the real ingest and a real embedded bus: never a 500, never a hang, a bounded answer, and every
 * non-empty line of a 202 accounted for, as an event on the events topic or a dead letter.
 */

const token = 'soc_s_' + 'f'.repeat(40);
const MAX_BODY = 64 * 1024;
let dir: string;
let bus: EmbeddedBus;
let server: Awaited<ReturnType<typeof listen>>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'soc-http-fuzz-'));
  const logger = createLogger('fuzz', { level: 'silent' });
  bus = openEmbeddedBus({ path: join(dir, 'bus.db'), logger, defaultPartitions: 1 });
  await bus.ensureTopics([TOPICS.events, TOPICS.deadLetter].map((name) => ({ name, partitions: 1 })));
  const producer = await bus.producer();
  const metrics = new Metrics({ defaults: false });
  const routes = collectorRoutes({ ingest: new BusIngest(producer, metrics, logger), producer, maxBodyBytes: MAX_BODY, maxLineBytes: 16 * 1024, maxLinesPerRequest: 1000, eventsPerSecond: 1e9, burst: 1e9 });
  server = await listen(createHttpHandler({ service: 'collector', routes, verifier: new TokenVerifier([{ name: 's', role: 'sensor', token }]), logger, metrics, rateLimitPerSecond: 1e9 }), '127.0.0.1', 0);
});
afterAll(async () => {
  await server?.close();
  await bus?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Records on a topic so far (reads only what is new since the last call). */
const seen = new Map<string, number>();
async function count(topic: string): Promise<number> {
  const n = seen.get(topic) ?? 0;
  const total = n + (await bus.read(topic, { partition: 0, fromOffset: n, limit: 1_000_000 })).length;
  seen.set(topic, total);
  return total;
}

const eve = (i: number, srcIp: string) =>
  JSON.stringify({ timestamp: '2026-11-01T12:00:00.000000+0000', event_type: 'alert', src_ip: srcIp, src_port: 1000 + i, dest_ip: '10.0.0.5', dest_port: 22, proto: 'TCP', alert: { signature_id: 2001219, signature: 'ET SCAN', severity: 2 } });
const whitespace = fc.constantFrom('\v', '\f', '\u2028', '\u2029', ' ', '\t', '\u00a0', '\ufeff', '\u3000', '\u0085', '\u200b', '\r');
const noNewline = (s: string) => s.replace(/\n/g, ' ');
const line = fc.oneof(
  fc.tuple(fc.nat(1000), fc.oneof(fc.ipV4(), fc.constant('not-an-ip'), fc.ipV6())).map(([i, ip]) => eve(i, ip)),
  fc.string({ unit: 'grapheme', maxLength: 80 }).map(noNewline),
  fc.string({ unit: 'binary', maxLength: 80 }).map(noNewline),
  fc.array(whitespace, { minLength: 1, maxLength: 4 }).map((a) => a.join('')),
  fc.nat(3000).map((d) => '['.repeat(d) + ']'.repeat(d)),
  fc.nat(3000).map((d) => '{"a":'.repeat(d) + '1' + '}'.repeat(d)),
  fc.constantFrom('#separator \\x09', '#fields\tts\tuid', '#types\ttime\tstring', '#path\tconn', '1.0\tC1', '<13>Oct 11 22:14:15 host app: hi', '<34>1 2026-11-01T12:00:00Z h a - - - m', '{}', 'null', '"x"'),
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v) ?? 'null'),
);
const ndjson = fc.tuple(fc.array(line, { maxLength: 40 }), fc.constantFrom('\n', '\r\n'), fc.boolean()).map(([ls, sep, trailing]) => ls.join(sep) + (trailing ? sep : ''));
const jsonArray = fc
  .tuple(fc.array(fc.oneof(line.map((l) => { try { return JSON.parse(l) as unknown; } catch { return l; } }), fc.jsonValue({ maxDepth: 6 })), { maxLength: 40 }), fc.constantFrom('', ' ', '\n  '))
  .map(([items, ws]) => `${ws}[${items.map((i) => JSON.stringify(i) ?? 'null').join(`,${ws}`)}]${ws}`);
const deepArray = fc.integer({ min: 1, max: 20_000 }).map((d) => `[{"event_type":"alert"},${'['.repeat(d)}${']'.repeat(d)}]`);
const brokenArray = fc.tuple(jsonArray, fc.nat()).map(([a, cut]) => a.slice(0, Math.max(1, cut % a.length)));
const garbage = fc.uint8Array({ maxLength: 2000 }).map((b) => Buffer.from(b));
const body = fc.oneof(ndjson, jsonArray, deepArray, brokenArray, garbage, fc.string({ unit: 'binary', maxLength: 3000 }), fc.constant('x'.repeat(MAX_BODY + 1)));
const encoding = fc.constantFrom(undefined, undefined, undefined, 'identity', 'gzip', 'gzip', 'GZIP', 'br', 'gzip, br');
const query = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('', '?format=auto', '?format=suricata', '?format=zeek', '?format=syslog', '?format=ecs', '?format=zeek&zeek_path=conn') },
  { weight: 1, arbitrary: fc.tuple(fc.string({ maxLength: 10 }), fc.string({ maxLength: 10 })).map(([k, v]) => `?${encodeURIComponent(k)}=${encodeURIComponent(v)}`) },
);

/** What the server sees as text, and how many non-empty lines (or array elements) that is. */
function expectedLines(raw: Buffer): number | undefined {
  const text = raw.toString('utf8');
  if (text.trimStart().startsWith('[')) {
    try {
      const v = JSON.parse(text.trimStart()) as unknown;
      return Array.isArray(v) ? v.length : undefined;
    } catch {
      return undefined;
    }
  }
  return text.split('\n').filter((l) => l !== '' && l !== '\r').length;
}

describe('fuzz: POST /v1/events', () => {
  it('never 500s or hangs, and accounts for every non-empty line', async () => {
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(body, encoding, query, fc.constantFrom(undefined, 'application/json', 'application/x-ndjson', 'text/plain', '\u0000'), fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }), async (b, enc, q, ctype, truthfulGzip) => {
        const raw = typeof b === 'string' ? Buffer.from(b, 'utf8') : b;
        const gz = enc?.toLowerCase() === 'gzip';
        const sent = gz && truthfulGzip ? gzipSync(raw) : raw;
        const [events0, dead0] = [await count(TOPICS.events), await count(TOPICS.deadLetter)];
        const headers: Record<string, string> = { authorization: `Bearer ${token}` };
        if (enc) headers['content-encoding'] = enc;
        if (ctype && !ctype.includes('\u0000')) headers['content-type'] = ctype;
        const res = await fetch(`${server.url}/v1/events${q}`, { method: 'POST', body: sent, headers });
        const text = await res.text();
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        expect([202, 400, 413, 415], text).toContain(res.status);
        expect(text.length).toBeLessThan(64 * 1024);
        const answer = JSON.parse(text) as { accepted?: number; rejected?: number; directives?: number; errors?: unknown[]; error?: string };
        const [events1, dead1] = [await count(TOPICS.events), await count(TOPICS.deadLetter)];
        if (res.status !== 202) {
          expect(answer.error).toEqual(expect.any(String));
          expect(events1).toBe(events0);
          // A body refused as a whole because it cannot be split is kept as one dead letter.
          expect(dead1 - dead0).toBe(/JSON array/.test(answer.error!) ? 1 : 0);
          return;
        }
        const lines = expectedLines(gz && !truthfulGzip ? Buffer.alloc(0) : raw);
        expect(answer.accepted! + answer.rejected! + (answer.directives ?? 0)).toBe(lines);
        expect(answer.errors!.length).toBe(Math.min(answer.rejected!, 100));
        expect(events1 - events0).toBe(answer.accepted);
        expect(dead1 - dead0).toBe(answer.rejected);
      }),
    );
    // The property must reach both the accepting and the refusing paths.
    expect(statuses.get(202)).toBeGreaterThan(0);
    expect([...statuses.keys()].some((s) => s >= 400)).toBe(true);
    process.stderr.write(`POST /v1/events statuses: ${JSON.stringify(Object.fromEntries(statuses))}\n`);
  });
});
