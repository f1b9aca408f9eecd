import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { getPriority } from 'node:os';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, eveAlert, startSoc, waitFor, type SocProcess } from '../helpers/soc-process.ts';

describe('soc start: ingest -> bus -> detector -> indexer -> store -> API', () => {
  let dir: string;
  let soc: SocProcess;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'soc-e2e-'));
    soc = await startSoc({ dataDir: dir });
  });
  afterAll(async () => {
    const code = await soc?.stop('SIGTERM');
    expect(code).toBe(0);
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes credentials with mode 0600 and reports a loopback URL', () => {
    expect(statSync(String(soc.ready.credentials)).mode & 0o777).toBe(0o600);
    expect(soc.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  // Per-thread nice values are read from Linux /proc.
  it.skipIf(process.platform !== 'linux')('runs the parser and detector threads behind the indexer and HTTP threads (nice 5 by default; Linux)', () => {
    const pid = soc.proc.pid!;
    const niceOf = (task: string) => Number(readFileSync(`/proc/${pid}/task/${task}/stat`, 'utf8').split(') ')[1]!.split(' ')[16]);
    const tasks = readdirSync(`/proc/${pid}/task`);
    const own = getPriority(0); // soc start inherits it
    expect(niceOf(String(pid))).toBe(own);
    // From a process already at nice > 5 the threads cannot go to 5 (that would raise them).
    if (own <= 5) expect(tasks.filter((t) => niceOf(t) === 5).length).toBeGreaterThanOrEqual(2);
    expect(tasks.filter((t) => niceOf(t) === own).length).toBeGreaterThan(1);
  });

  it('rejects requests without a token (401) and sensors on the analyst API (403)', async () => {
    expect((await api(soc.url, undefined, '/v1/alerts')).status).toBe(401);
    expect((await api(soc.url, 'soc_a_not-a-real-token-at-all-xxxxxxxx', '/v1/alerts')).status).toBe(401);
    expect((await api(soc.url, soc.sensorToken, '/v1/alerts')).status).toBe(403);
    expect((await api(soc.url, soc.analystToken, '/v1/events', { method: 'POST', body: '{}' })).status).toBe(403);
    expect((await api(soc.url, undefined, '/v1/events', { method: 'POST', body: '{}' })).status).toBe(401);
  });

  it('turns Suricata alerts into alerts and dead-letters malformed lines with reasons', async () => {
    const good = Array.from({ length: 20 }, (_, i) => eveAlert(i, { severity: (i % 3) + 1 }));
    const bad = ['{"event_type":"alert", "timestamp": "not a time"', 'this is not json at all', '{"foo": 1}'];
    const body = [...good.slice(0, 10), ...bad, ...good.slice(10)].join('\n');
    const r = await api(soc.url, soc.sensorToken, '/v1/events', { method: 'POST', body, headers: { 'content-type': 'application/x-ndjson' } });
    expect(r.status).toBe(202);
    expect(r.body.accepted).toBe(20);
    expect(r.body.rejected).toBe(3);
    expect(r.body.errors.map((e: { line: number }) => e.line)).toEqual([11, 12, 13]);

    const found = await waitFor(async () => {
      const s = await api(soc.url, soc.analystToken, '/v1/alerts?detector=suricata&limit=100');
      return s.body.total === 20 ? s.body : undefined;
    }, '20 alerts in the store');
    expect(new Set(found.alerts.map((a: { id: string }) => a.id)).size).toBe(20);
    const one = found.alerts[0];
    expect(one.rule.id).toBe('2001219');
    expect(one.rule.name).toBe('ET SCAN Potential SSH Scan');
    expect((await api(soc.url, soc.analystToken, `/v1/alerts/${one.id}`)).body.id).toBe(one.id);

    // severity 1 -> high, 2 -> medium, 3 -> low
    const high = await api(soc.url, soc.analystToken, '/v1/alerts?severity_min=high&limit=100');
    expect(high.body.total).toBe(good.filter((_, i) => i % 3 === 0).length);

    const dl = await api(soc.url, soc.analystToken, '/v1/deadletters?limit=100');
    expect(dl.status).toBe(200);
    const raws = dl.body.items.map((d: { raw: string }) => d.raw);
    for (const b of bad) expect(raws).toContain(b);
    for (const d of dl.body.items) expect(d.reason.length).toBeGreaterThan(3);
  });

  it('accepts gzip JSON arrays, is idempotent on re-send, and paginates', async () => {
    const events = Array.from({ length: 30 }, (_, i) => JSON.parse(eveAlert(1000 + i, { sid: 3000001 })));
    const body = gzipSync(JSON.stringify(events));
    for (let k = 0; k < 2; k++) {
      const r = await api(soc.url, soc.sensorToken, '/v1/events', { method: 'POST', body, headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' } });
      expect(r.status).toBe(202);
      expect(r.body.accepted).toBe(30);
    }
    await waitFor(async () => (await api(soc.url, soc.analystToken, '/v1/alerts?rule_id=3000001')).body.total === 30, '30 alerts');
    const seen = new Set<string>();
    let cursor: string | null = null;
    do {
      const page: { body: { alerts: { id: string }[]; next_cursor: string | null } } = await api(soc.url, soc.analystToken, `/v1/alerts?rule_id=3000001&limit=7${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      for (const a of page.body.alerts) seen.add(a.id);
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(seen.size).toBe(30);
    const agg = await api(soc.url, soc.analystToken, '/v1/alerts/aggregations?rule_id=3000001&interval=1m');
    expect(agg.body.total).toBe(30);
    expect(agg.body.over_time.reduce((s: number, b: { count: number }) => s + b.count, 0)).toBe(30);
  });

  it('lets analysts triage, and refuses bodies over the limit', async () => {
    const list = await api(soc.url, soc.analystToken, '/v1/alerts?limit=1');
    const id = list.body.alerts[0].id;
    const p = await api(soc.url, soc.analystToken, `/v1/alerts/${id}`, { method: 'PATCH', body: JSON.stringify({ status: 'acknowledged' }) });
    expect(p.status).toBe(200);
    expect(p.body.status).toBe('acknowledged');
    expect((await api(soc.url, soc.analystToken, `/v1/alerts/${id}`, { method: 'PATCH', body: JSON.stringify({ status: 'bogus' }) })).status).toBe(400);
    expect((await api(soc.url, soc.analystToken, '/v1/alerts?severity_min=extreme')).status).toBe(400);
    const huge = 'x'.repeat(17 * 1024 * 1024);
    expect((await api(soc.url, soc.sensorToken, '/v1/events', { method: 'POST', body: huge })).status).toBe(413);
  });

  it('serves health and Prometheus metrics to authenticated callers', async () => {
    expect(await api(soc.url, undefined, '/healthz')).toEqual({ status: 200, body: { status: 'ok' } });
    expect((await api(soc.url, undefined, '/readyz')).status).toBe(401);
    expect(await api(soc.url, soc.analystToken, '/readyz')).toMatchObject({ status: 200, body: { checks: { bus: true, store: true } } });
    expect((await api(soc.url, undefined, '/metrics')).status).toBe(401);
    const m = await api(soc.url, soc.analystToken, '/metrics');
    expect(m.status).toBe(200);
    for (const name of ['soc_events_in_total', 'soc_events_rejected_total', 'soc_alerts_out_total', 'soc_consumer_lag', 'soc_store_latency_seconds']) {
      expect(m.body).toContain(name);
    }
    // Each thread of soc start reports its CPU time (Linux): the HTTP thread, the parser, detector and indexer threads.
    if (process.platform === 'linux') {
      for (const thread of ['main', 'parser-0', 'detector', 'indexer']) expect(m.body).toMatch(new RegExp(`soc_thread_cpu_seconds_total\\{thread="${thread}"\\} [\\d.]+`));
    }
  });
});
