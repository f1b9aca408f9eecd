import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '@soc/errors';
import { severityRank, type Alert } from '@soc/schema';
import { AlertQuery, type AggregationRequest, type AlertQueryInput, type AlertStore, type Bucket } from './port.ts';
import { buildAlerts, FIXTURE_START_MS } from './fixtures.ts';
import { parseFreeText, sortValue, textWords, timeMs } from './query.ts';

/**
 * The behaviour every AlertStore adapter must share. Expected results are computed here from the
 * fixture by a plain in-memory oracle, never hard-coded, so the suite holds for any seed.
 */

export type StoreFactory = () => Promise<{ store: AlertStore; cleanup(): Promise<void> }>;

const q = (input: AlertQueryInput = {}): AlertQuery => AlertQuery.parse({ limit: 1000, ...input });

// ---------------------------------------------------------------- oracle

function phraseIn(words: string[], clause: { words: string[]; prefix: boolean }): boolean {
  const n = clause.words.length;
  for (let i = 0; i + n <= words.length; i++) {
    const ok = clause.words.every((w, j) => (clause.prefix && j === n - 1 ? (words[i + j] ?? '').startsWith(w) : words[i + j] === w));
    if (ok) return true;
  }
  return false;
}

function textMatches(a: Alert, text: string): boolean {
  const fields = [a.message, a.rule.name, a.explanation.summary].map(textWords);
  return parseFreeText(text).every((c) => fields.some((f) => phraseIn(f, c)));
}

export function oracleMatches(a: Alert, f: AlertQuery): boolean {
  const ts = timeMs(a['@timestamp']);
  const anyOf = <T>(vs: readonly T[] | undefined, v: T | undefined) => vs === undefined || (v !== undefined && vs.includes(v));
  const eq = <T>(want: T | undefined, v: T | undefined) => want === undefined || want === v;
  return (
    (f.from === undefined || ts >= timeMs(f.from)) &&
    (f.to === undefined || ts < timeMs(f.to)) &&
    (f.severity_min === undefined || severityRank(a.severity) >= severityRank(f.severity_min)) &&
    eq(f.host, a.host?.name) &&
    eq(f.source_ip, a.source?.ip) &&
    eq(f.destination_ip, a.destination?.ip) &&
    (f.ip === undefined || a.source?.ip === f.ip || a.destination?.ip === f.ip) &&
    anyOf(f.detector, a.detector) &&
    eq(f.rule_id, a.rule.id) &&
    anyOf(f.status, a.status) &&
    eq(f.origin, a.origin.soc) &&
    anyOf(f.tlp, a.tlp) &&
    (f.q === undefined || textMatches(a, f.q))
  );
}

function oracleSorted(alerts: Alert[], f: AlertQuery): string[] {
  const sign = f.order === 'asc' ? 1 : -1;
  return alerts
    .filter((a) => oracleMatches(a, f))
    .sort((x, y) => sign * (sortValue(x, f.sort) - sortValue(y, f.sort) || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0)))
    .map((a) => a.id);
}

function oracleTerms(alerts: Alert[], key: (a: Alert) => string | undefined, size: number): Bucket[] {
  const counts = new Map<string, number>();
  for (const a of alerts) {
    const k = key(a);
    if (k !== undefined) counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return [...counts]
    .map(([k, count]) => ({ key: k, count }))
    .sort((a, b) => b.count - a.count || (a.key < b.key ? -1 : 1))
    .slice(0, size);
}

function oracleHistogram(alerts: Alert[], stepMs: number): Bucket[] {
  const counts = new Map<number, number>();
  for (const a of alerts) {
    const ms = timeMs(a['@timestamp']);
    const start = ms - (ms % stepMs);
    counts.set(start, (counts.get(start) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => a[0] - b[0]).map(([start, count]) => ({ key: new Date(start).toISOString(), count }));
}

async function walkPages(store: AlertStore, input: AlertQueryInput, limit: number): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await store.search(q({ ...input, limit, ...(cursor ? { cursor } : {}) }));
    pages++;
    expect(page.alerts.length).toBeLessThanOrEqual(limit);
    ids.push(...page.alerts.map((a) => a.id));
    cursor = page.next_cursor ?? undefined;
    if (pages > 1000) throw new Error('pagination does not terminate');
  } while (cursor);
  return { ids, pages };
}

// ---------------------------------------------------------------- fixture with known text

const TEXT_DETECTOR = 'texttest';
function textAlerts(): Alert[] {
  const [template] = buildAlerts(1, 7);
  const make = (n: number, message: string, ruleName: string, summary: string): Alert => ({
    ...(template as Alert),
    id: `text-alert-${n}`,
    detector: TEXT_DETECTOR,
    message,
    rule: { id: 'text-rule', name: ruleName },
    explanation: { summary },
  });
  return [
    make(1, 'Port scan detected from Héllo-World', 'SSH brute', 'first'),
    make(2, 'Scanning the ports of the DMZ', 'Recon', 'second'),
    make(3, 'scan port reversed', 'Recon', 'third'),
    make(4, 'nothing relevant', 'Generic', 'a PORT SCAN in the summary'),
  ];
}

// ---------------------------------------------------------------- the suite

export function storeConformance(name: string, makeStore: StoreFactory): void {
  describe(`${name}: queries`, () => {
    const fixture = [...buildAlerts(240, 1234), ...textAlerts()];
    let store: AlertStore;
    let cleanup: () => Promise<void>;

    beforeAll(async () => {
      ({ store, cleanup } = await makeStore());
      for (let i = 0; i < fixture.length; i += 100) {
        const r = await store.upsert(fixture.slice(i, i + 100));
        expect(r.failed).toEqual([]);
      }
    });
    afterAll(async () => {
      await store.close();
      await cleanup();
    });

    it('pings and gets by id', async () => {
      expect(await store.ping()).toBe(true);
      const sample = fixture[17] as Alert;
      expect(await store.get(sample.id)).toEqual(sample);
      expect(await store.get('no-such-alert-id')).toBeNull();
    });

    const mid = new Date(FIXTURE_START_MS + 86_400_000).toISOString();
    const filterCases: AlertQueryInput[] = [
      {},
      { from: mid },
      { to: mid },
      { from: new Date(FIXTURE_START_MS + 3_600_000 * 20).toISOString().replace('Z', '+00:00'), to: '2024-03-02T12:00:00+02:00' },
      { severity_min: 'high' },
      { host: 'web-01' },
      { host: 'mail.example.org' },
      { source_ip: '10.0.0.1' },
      { destination_ip: '2001:db8::1' },
      { ip: '10.0.0.2' },
      { detector: 'rules,sigma' },
      { rule_id: 'anomaly-2' },
      { status: ['new', 'resolved'] },
      { origin: 'soc-lv' },
      { tlp: ['RED', 'AMBER+STRICT'] },
      { q: 'beacon' },
      { q: 'brute force' },
      { q: '"lateral movement"' },
      { q: 'exfil*' },
      { q: 'cafe NAIVE' },
      { q: 'dns tunnel*  sensor-3' },
      { severity_min: 'low' },
      { q: '***' },
      { severity_min: 'medium', detector: 'anomaly', q: 'scan', status: ['new', 'acknowledged', 'in_progress'] },
      { ip: '192.168.1.10', tlp: ['AMBER'], from: mid },
    ];
    it.each(filterCases.map((c) => [JSON.stringify(c), c] as const))('filter %s matches the oracle', async (_label, input) => {
      const query = q(input);
      const want = oracleSorted(fixture, query);
      const got = await store.search(query);
      expect(got.total).toBe(want.length);
      expect(got.alerts.map((a) => a.id)).toEqual(want);
    });

    it('filters are not vacuous: the fixture exercises each one', () => {
      // Skips the first (no filter) and the last four (match-all and combinations).
      for (const c of filterCases.slice(1, -4)) {
        const n = fixture.filter((a) => oracleMatches(a, q(c))).length;
        expect(n, JSON.stringify(c)).toBeGreaterThan(0);
        expect(n, JSON.stringify(c)).toBeLessThan(fixture.length);
      }
    });

    const textCases: [string, number[]][] = [
      ['scan', [1, 3, 4]],
      ['SCAN*', [1, 2, 3, 4]],
      ['"port scan"', [1, 4]],
      ['port scan', [1, 3, 4]],
      ['hello', [1]],
      ['héllo-world', [1]],
      ['"world héllo"', []],
      ['ssh port', [1]],
      ['ports', [2]],
      ['port*', [1, 2, 3, 4]],
      ['"scan port"', [3]],
      ['dmz scan*', [2]],
    ];
    it.each(textCases)('free text %s', async (text, want) => {
      const got = await store.search(q({ q: text, detector: TEXT_DETECTOR, sort: 'score', order: 'asc' }));
      expect(got.alerts.map((a) => a.id).sort()).toEqual(want.map((n) => `text-alert-${n}`));
    });

    const sorts = (['@timestamp', 'score', 'severity', 'last_seen'] as const).flatMap((sort) => (['asc', 'desc'] as const).map((order) => ({ sort, order })));
    it.each(sorts)('sorts by $sort $order, ties broken by id', async (s) => {
      const query = q(s);
      const got = await store.search(query);
      expect(got.alerts.map((a) => a.id)).toEqual(oracleSorted(fixture, query));
    });

    it.each([
      { sort: 'score', order: 'desc', limit: 17 },
      { sort: 'severity', order: 'asc', limit: 25 },
      { sort: '@timestamp', order: 'desc', limit: 50, severity_min: 'medium' },
      { sort: 'last_seen', order: 'asc', limit: 1, detector: TEXT_DETECTOR },
    ] as const)('walks every page of $sort $order by $limit: no gaps, no duplicates', async (input) => {
      const { limit, ...rest } = input;
      const all = await store.search(q(rest));
      const { ids, pages } = await walkPages(store, rest, limit);
      expect(ids).toEqual(all.alerts.map((a) => a.id));
      expect(new Set(ids).size).toBe(ids.length);
      expect(pages).toBeGreaterThanOrEqual(Math.ceil(all.total / limit));
      const first = await store.search(q({ ...rest, limit }));
      expect(first.total).toBe(all.total);
    });

    it('rejects a malformed cursor and a non-IP address filter', async () => {
      await expect(store.search(q({ cursor: 'not-a-cursor' }))).rejects.toBeInstanceOf(ValidationError);
      await expect(store.search(q({ ip: 'not-an-ip' }))).rejects.toBeInstanceOf(ValidationError);
    });

    const aggCases: [AlertQueryInput, AggregationRequest][] = [
      [{}, { interval: '1h', size: 10 }],
      [{}, { interval: '1d', size: 2 }],
      [{ severity_min: 'high', q: 'scan*' }, { interval: '5m', size: 3 }],
      [{ from: mid, detector: 'rules,anomaly' }, { interval: '1m', size: 1000 }],
    ];
    it.each(aggCases)('aggregates %j %j like the oracle', async (input, req) => {
      const query = q(input);
      const matching = fixture.filter((a) => oracleMatches(a, query));
      const step = { '1m': 60_000, '5m': 300_000, '1h': 3_600_000, '1d': 86_400_000 }[req.interval];
      const got = await store.aggregate(query, req);
      expect(got).toEqual({
        total: matching.length,
        by_severity: oracleTerms(matching, (a) => a.severity, req.size),
        by_detector: oracleTerms(matching, (a) => a.detector, req.size),
        by_rule: oracleTerms(matching, (a) => a.rule.id, req.size),
        by_host: oracleTerms(matching, (a) => a.host?.name, req.size),
        over_time: oracleHistogram(matching, step),
      });
    });
  });

  describe(`${name}: writes`, () => {
    let store: AlertStore;
    let cleanup: () => Promise<void>;
    beforeAll(async () => {
      ({ store, cleanup } = await makeStore());
    });
    afterAll(async () => {
      await store.close();
      await cleanup();
    });

    it('is idempotent by id', async () => {
      const batch = buildAlerts(50, 99);
      expect(await store.upsert(batch)).toEqual({ upserted: 50, failed: [] });
      expect(await store.upsert(batch)).toEqual({ upserted: 50, failed: [] });
      const all = await store.search(q({ detector: [...new Set(batch.map((a) => a.detector))] }));
      expect(all.total).toBe(50);
      for (const a of batch.slice(0, 5)) expect(await store.get(a.id)).toEqual(a);
    });

    it('merges a re-upsert: keeps triage status, max count, min first_seen, max last_seen, union of events', async () => {
      const [base] = buildAlerts(1, 5);
      const original: Alert = {
        ...(base as Alert),
        id: 'merge-alert-1',
        message: 'original wording',
        count: 3,
        first_seen: '2024-03-01T10:00:00Z',
        last_seen: '2024-03-01T12:00:00Z',
        related_events: ['e1', 'e2'],
        status: 'new',
      };
      await store.upsert([original]);
      const triaged = await store.setStatus(original.id, 'in_progress');
      expect(triaged?.status).toBe('in_progress');

      const reprocessed: Alert = {
        ...original,
        message: 'reworded text',
        score: 0.42,
        count: 2,
        first_seen: '2024-03-01T11:30:00+02:00', // 09:30Z: earlier than the stored one
        last_seen: '2024-03-01T11:00:00Z',
        related_events: ['e2', 'e3'],
        status: 'new',
      };
      expect(await store.upsert([reprocessed])).toEqual({ upserted: 1, failed: [] });
      expect(await store.get(original.id)).toEqual({
        ...reprocessed,
        status: 'in_progress',
        count: 3,
        first_seen: reprocessed.first_seen,
        last_seen: original.last_seen,
        related_events: ['e1', 'e2', 'e3'],
      });
      // The text index follows the new content.
      expect((await store.search(q({ q: 'reworded' }))).alerts.map((a) => a.id)).toEqual([original.id]);
      expect((await store.search(q({ q: 'original wording' }))).total).toBe(0);
      expect((await store.search(q({ status: ['in_progress'] }))).alerts.map((a) => a.id)).toContain(original.id);
    });

    it('caps related_events at 1000, keeping the earliest', async () => {
      const [base] = buildAlerts(1, 6);
      const ev = (from: number, n: number) => Array.from({ length: n }, (_, i) => `ev-${from + i}`);
      const a: Alert = { ...(base as Alert), id: 'merge-alert-cap', related_events: ev(0, 900) };
      await store.upsert([a]);
      await store.upsert([{ ...a, related_events: ev(850, 300) }]);
      expect((await store.get(a.id))?.related_events).toEqual(ev(0, 1000));
    });

    it('sets the status, and reports an unknown id as null', async () => {
      const [a] = buildAlerts(1, 8);
      await store.upsert([a as Alert]);
      const updated = await store.setStatus((a as Alert).id, 'false_positive');
      expect(updated).toEqual({ ...a, status: 'false_positive' });
      expect(await store.get((a as Alert).id)).toEqual(updated);
      expect(await store.setStatus('no-such-alert-id', 'resolved')).toBeNull();
    });

    it('reports invalid alerts as non-retriable failures and stores the rest', async () => {
      const good = buildAlerts(2, 11);
      const badScore = { ...(good[0] as Alert), id: 'invalid-alert-score', score: 7 };
      const badIp = { ...(good[0] as Alert), id: 'invalid-alert-ip', source: { ip: 'not-an-address' } };
      const res = await store.upsert([good[0] as Alert, badScore, badIp as Alert, good[1] as Alert]);
      expect(res.upserted).toBe(2);
      expect(res.failed.map((f) => [f.id, f.retriable])).toEqual([
        ['invalid-alert-score', false],
        ['invalid-alert-ip', false],
      ]);
      expect(res.failed[0]?.reason).toMatch(/score/);
      expect(await store.get('invalid-alert-score')).toBeNull();
      expect(await store.get((good[1] as Alert).id)).toEqual(good[1]);
    });
  });
}
