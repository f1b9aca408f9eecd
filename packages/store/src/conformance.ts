import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '@soc/errors';
import { severityRank, type Alert } from '@soc/schema';
import { AlertQuery, type AggregationRequest, type AlertQueryInput, type AlertStore, type Bucket } from './port.ts';
import { buildAlerts, FIXTURE_START_MS } from './fixtures.ts';
import { evaluate, parseQuery, QueryError } from '@soc/query';
import { parseIp } from '@soc/netaddr';
import { sortKeys, timeMs } from './query.ts';
import { ConflictError } from './triage.ts';

/**
 * The behaviour every AlertStore adapter must share. Expected results are computed here from the
 * fixture by a plain in-memory oracle, never hard-coded, so the suite holds for any seed.
 */

export type StoreFactory = () => Promise<{ store: AlertStore; cleanup(): Promise<void> }>;

const q = (input: AlertQueryInput = {}): AlertQuery => AlertQuery.parse({ limit: 1000, ...input });

// ---------------------------------------------------------------- oracle

/** An address filter matches by value, whatever the spelling (Elasticsearch `ip` semantics). */
function sameAddress(want: string | undefined, have: string | undefined): boolean {
  if (want === undefined) return true;
  const [w, h] = [parseIp(want), have === undefined ? undefined : parseIp(have)];
  return w !== undefined && h !== undefined && w.version === h.version && w.value === h.value;
}

/** `now` of the oracle; relative times in the test table are far enough from the fixture to be stable. */
export function oracleMatches(a: Alert, f: AlertQuery, nowMs = Date.now()): boolean {
  const ts = timeMs(a['@timestamp']);
  const anyOf = <T>(vs: readonly T[] | undefined, v: T | undefined) => vs === undefined || (v !== undefined && vs.includes(v));
  const eq = <T>(want: T | undefined, v: T | undefined) => want === undefined || want === v;
  return (
    (f.from === undefined || ts >= timeMs(f.from)) &&
    (f.to === undefined || ts < timeMs(f.to)) &&
    (f.severity_min === undefined || severityRank(a.severity) >= severityRank(f.severity_min)) &&
    eq(f.host, a.host?.name) &&
    sameAddress(f.source_ip, a.source?.ip) &&
    sameAddress(f.destination_ip, a.destination?.ip) &&
    (f.ip === undefined || sameAddress(f.ip, a.source?.ip) || sameAddress(f.ip, a.destination?.ip)) &&
    anyOf(f.detector, a.detector) &&
    eq(f.rule_id, a.rule.id) &&
    anyOf(f.status, a.status) &&
    eq(f.origin, a.origin.soc) &&
    anyOf(f.tlp, a.tlp) &&
    (f.q === undefined || evaluate(parseQuery(f.q), a, nowMs))
  );
}

function oracleSorted(alerts: Alert[], f: AlertQuery): string[] {
  const sign = f.order === 'asc' ? 1 : -1;
  return alerts
    .filter((a) => oracleMatches(a, f))
    .sort((x, y) => {
      const kx = sortKeys(x, f.sort);
      const ky = sortKeys(y, f.sort);
      for (let i = 0; i < kx.length; i++) if (kx[i] !== ky[i]) return sign * (kx[i]! - ky[i]!);
      return sign * (x.id < y.id ? -1 : x.id > y.id ? 1 : 0);
    })
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
      // Other spellings of fixture addresses.
      { destination_ip: '2001:0DB8:0:0:0:0:0:1' },
      { ip: '::ffff:10.0.0.2' },
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
      { q: '*' },
      { q: 'severity >= high AND NOT detector:rules' },
      { q: 'source.ip:10.0.0.0/8 OR destination.ip:2001:db8::/32' },
      { q: 'host.name:web-* -status:new' },
      { q: 'score > 0.5 scan*' },
      { q: '(beacon OR tunnel) AND -host.name:*' },
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
      // Skips the first (no filter) and the last nine (match-all and combinations).
      for (const c of filterCases.slice(1, -9)) {
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
    it.each(sorts)('sorts by $sort $order, ties broken by time (score, severity) then id', async (s) => {
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
        by_source: oracleTerms(matching, (a) => a.source?.ip, req.size),
        by_destination: oracleTerms(matching, (a) => a.destination?.ip, req.size),
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

    it('merges a re-upsert: keeps triage status and assignee, max count, min first_seen, max last_seen, union of events', async () => {
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
      await store.triage(original.id, { status: 'acknowledged', assignee: 'alice' }, 'alice');
      const triaged = await store.triage(original.id, { status: 'in_progress' }, 'alice');
      expect(triaged?.alert.status).toBe('in_progress');

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
        assignee: 'alice',
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

    it('merges the same id several times in one batch as upserts one after another would', async () => {
      const [base] = buildAlerts(1, 12);
      // Two ids with the same history: one gets each version in its own upsert, the other all at once.
      const versions = (id: string): Alert[] => [
        { ...(base as Alert), id, message: 'first sighting', count: 2, first_seen: '2024-03-01T10:00:00Z', last_seen: '2024-03-01T10:00:00Z', related_events: ['b1'], status: 'new' },
        { ...(base as Alert), id, message: 'second sighting', count: 1, first_seen: '2024-03-01T09:00:00Z', last_seen: '2024-03-01T11:00:00Z', related_events: ['b2', 'b1'], status: 'resolved' },
        { ...(base as Alert), id, message: 'third sighting', count: 5, first_seen: '2024-03-01T09:30:00Z', last_seen: '2024-03-01T10:30:00Z', related_events: ['b3'], status: 'new' },
      ];
      for (const [one, many] of [
        ['batch-merge-one-by-one', 'batch-merge-at-once'],
        ['batch-merge-stored-one-by-one', 'batch-merge-stored-at-once'],
      ] as const) {
        if (one.includes('stored')) {
          // Stored and triaged before: the batch merges onto the stored alert.
          for (const id of [one, many]) {
            await store.upsert([{ ...(base as Alert), id, message: 'stored sighting', related_events: ['b0'], status: 'new' }]);
            await store.triage(id, { status: 'acknowledged', assignee: 'bob' }, 'bob');
          }
        }
        for (const v of versions(one)) await store.upsert([v]);
        expect(await store.upsert([...versions(many), { ...(base as Alert), id: 'batch-merge-other' }])).toEqual({ upserted: 4, failed: [] });
        const sequential = await store.get(one);
        expect(sequential?.message).toBe('third sighting');
        expect(await store.get(many)).toEqual({ ...sequential, id: many });
        // Searchable by the text it has now, not by what an earlier version said.
        const found = (text: string) => store.search(q({ q: text, sort: 'score' })).then((r) => r.alerts.map((a) => a.id).filter((id) => id === one || id === many).sort());
        expect(await found('third')).toEqual([one, many].sort());
        expect(await found('first OR second')).toEqual([]);
      }
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
      const alert = { ...(a as Alert), status: 'new' as const };
      await store.upsert([alert]);
      const updated = await store.triage(alert.id, { status: 'false_positive' }, 'alice');
      expect(updated?.alert).toEqual({ ...alert, status: 'false_positive' });
      expect(await store.get(alert.id)).toEqual(updated?.alert);
      expect(await store.triage('no-such-alert-id', { status: 'resolved' }, 'alice')).toBeNull();
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

  describe(`${name}: query language`, () => {
    let store: AlertStore;
    let cleanup: () => Promise<void>;
    const now = Date.now();
    const fixture = kqlAlerts(now);
    beforeAll(async () => {
      ({ store, cleanup } = await makeStore());
      expect((await store.upsert([...buildAlerts(60, 77), ...fixture])).failed).toEqual([]);
    });
    afterAll(async () => {
      await store.close();
      await cleanup();
    });

    it.each(KQL_TABLE)('%s', async (text, want) => {
      const got = await store.search(q({ q: text, detector: KQL_DETECTOR }));
      expect(got.alerts.map((a) => a.id).sort()).toEqual(want.map((n) => `kql-alert-${n}`));
      // The reference evaluator agrees with the table, so the table is what the language means.
      expect(fixture.filter((a) => evaluate(parseQuery(text), a, Date.now())).map((a) => a.id).sort()).toEqual(want.map((n) => `kql-alert-${n}`));
    });

    it.each(KQL_ERRORS)('refuses %j with the position %i, never an empty or full result', async (text, position) => {
      const err = await store.search(q({ q: text })).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(QueryError);
      expect((err as QueryError).position).toBe(position);
      await expect(store.aggregate(q({ q: text }), { interval: '1h', size: 5 })).rejects.toBeInstanceOf(QueryError);
    });
  });

  describe(`${name}: triage, audit trail and cases`, () => {
    let store: AlertStore;
    let cleanup: () => Promise<void>;
    const alerts = buildAlerts(3, 31).map((a, i) => ({ ...a, id: `triage-alert-${i}`, status: 'new' as const }));
    const [a0, a1, a2] = alerts as [Alert, Alert, Alert];
    beforeAll(async () => {
      ({ store, cleanup } = await makeStore());
      await store.upsert(alerts);
    });
    afterAll(async () => {
      await store.close();
      await cleanup();
    });

    it('enforces the status workflow and records who changed what', async () => {
      const r1 = await store.triage(a0.id, { status: 'acknowledged', assignee: 'alice', comment: 'looking' }, 'alice');
      expect(r1?.alert).toMatchObject({ status: 'acknowledged', assignee: 'alice' });
      expect(r1?.entries.map((e) => [e.action, e.actor, e.from ?? null, e.to ?? null, e.text ?? null])).toEqual([
        ['status', 'alice', 'new', 'acknowledged', null],
        ['assign', 'alice', null, 'alice', null],
        ['comment', 'alice', null, null, 'looking'],
      ]);
      await expect(store.triage(a0.id, { status: 'resolved' }, 'alice')).rejects.toBeInstanceOf(ConflictError);
      await expect(store.triage(a0.id, { status: 'new' }, 'alice')).rejects.toBeInstanceOf(ConflictError);
      expect((await store.get(a0.id))?.status).toBe('acknowledged');
      await store.triage(a0.id, { status: 'in_progress' }, 'alice');
      await store.triage(a0.id, { status: 'resolved', comment: 'blocked at the firewall' }, 'bob');
      // Reopen.
      const reopened = await store.triage(a0.id, { status: 'acknowledged', assignee: null }, 'lead1');
      expect(reopened?.alert.status).toBe('acknowledged');
      expect(reopened?.alert.assignee).toBeUndefined();
      // Unchanged values record nothing.
      expect((await store.triage(a0.id, { status: 'acknowledged' }, 'lead1'))?.entries).toEqual([]);

      const trail = await store.audit({ target_kind: 'alert', target_id: a0.id, limit: 100 });
      expect(trail.map((e) => `${e.actor}:${e.action}:${e.to ?? e.text ?? ''}`)).toEqual([
        'alice:status:acknowledged',
        'alice:assign:alice',
        'alice:comment:looking',
        'alice:status:in_progress',
        'bob:status:resolved',
        'bob:comment:blocked at the firewall',
        'lead1:status:acknowledged',
        'lead1:assign:',
      ]);
      for (const e of trail) expect(Number.isFinite(Date.parse(e.at))).toBe(true);
      expect((await store.audit({ target_kind: 'alert', target_id: a0.id, limit: 2 })).map((e) => e.action)).toEqual(['status', 'assign']);
      expect((await store.audit({ actor: 'bob', limit: 100 })).length).toBe(2);
    });

    it('runs the guard on the stored alert and changes nothing when it refuses', async () => {
      const refuse = (cur: Alert) => {
        if (cur.status === 'new') throw new ConflictError('no');
      };
      await expect(store.triage(a1.id, { comment: 'x' }, 'eve', refuse)).rejects.toBeInstanceOf(ConflictError);
      expect(await store.audit({ target_kind: 'alert', target_id: a1.id, limit: 10 })).toEqual([]);
      expect(await store.triage('no-such-alert', { comment: 'x' }, 'eve')).toBeNull();
    });

    it('keeps status and assignee across a re-upsert, and the query language sees the assignee', async () => {
      await store.triage(a2.id, { status: 'acknowledged', assignee: 'carol' }, 'carol');
      await store.upsert([{ ...a2, message: 'reprocessed' }]);
      expect(await store.get(a2.id)).toEqual({ ...a2, message: 'reprocessed', status: 'acknowledged', assignee: 'carol' });
      expect((await store.search(q({ q: 'assignee:carol' }))).alerts.map((a) => a.id)).toEqual([a2.id]);
      expect((await store.search(q({ q: 'assignee:*' }))).alerts.map((a) => a.id).sort()).toEqual([a2.id]);
    });

    it('creates, lists, updates and audits cases', async () => {
      const c1 = await store.createCase({ title: 'SSH campaign', severity: 'high', tlp: 'AMBER', alert_ids: [a0.id, a1.id, a0.id] }, 'alice');
      expect(c1).toMatchObject({ title: 'SSH campaign', severity: 'high', tlp: 'AMBER', status: 'open', assignee: null, alert_ids: [a0.id, a1.id], notes: [], created_by: 'alice' });
      expect(await store.getCase(c1.id)).toEqual(c1);
      await new Promise((r) => setTimeout(r, 5));
      const c2 = await store.createCase({ title: 'Second' }, 'bob');
      expect(c2).toMatchObject({ severity: 'medium', tlp: 'AMBER', alert_ids: [] });
      expect((await store.listCases({ limit: 10 })).map((c) => c.id)).toEqual([c2.id, c1.id]);

      await new Promise((r) => setTimeout(r, 5));
      const u = await store.updateCase(c1.id, { status: 'in_progress', assignee: 'bob', add_alerts: [a2.id], remove_alerts: [a1.id], note: 'contained' }, 'bob');
      expect(u).toMatchObject({ status: 'in_progress', assignee: 'bob', alert_ids: [a0.id, a2.id] });
      expect(u?.notes.map((n) => [n.author, n.text])).toEqual([['bob', 'contained']]);
      expect(await store.getCase(c1.id)).toEqual(u);
      expect((await store.listCases({ limit: 10 })).map((c) => c.id)).toEqual([c1.id, c2.id]);
      expect((await store.listCases({ status: 'open', limit: 10 })).map((c) => c.id)).toEqual([c2.id]);
      expect(await store.updateCase(c1.id, { status: 'in_progress' }, 'bob')).toEqual(u);

      const trail = await store.audit({ target_kind: 'case', target_id: c1.id, limit: 100 });
      expect(trail.map((e) => `${e.actor}:${e.action}`)).toEqual([
        'alice:case_create',
        'alice:case_link',
        'alice:case_link',
        'bob:case_update',
        'bob:case_update',
        'bob:case_link',
        'bob:case_unlink',
        'bob:case_note',
      ]);
      expect(await store.getCase('case-none')).toBeNull();
      expect(await store.updateCase('case-none', { note: 'x' }, 'bob')).toBeNull();
    });
  });
}

// ---------------------------------------------------------------- the query language table

const KQL_DETECTOR = 'kqltest';

function kqlAlerts(now: number): Alert[] {
  const [template] = buildAlerts(1, 3);
  const base = template as Alert;
  const iso = (ms: number) => new Date(ms).toISOString();
  const make = (n: number, ms: number, over: Partial<Alert>): Alert => {
    const { host: _h, source: _s, destination: _d, network: _n, assignee: _a, ...rest } = base;
    return { ...rest, id: `kql-alert-${n}`, detector: KQL_DETECTOR, '@timestamp': iso(ms), first_seen: iso(ms), last_seen: iso(ms), status: 'new', ...over };
  };
  return [
    make(1, now - 30 * 60_000, {
      message: 'ET SCAN Potential SSH Scan',
      rule: { id: '2001219', name: 'ET SCAN Potential SSH Scan' },
      explanation: { summary: 'signature match' },
      severity: 'medium',
      score: 0.5,
      source: { ip: '203.0.113.5', port: 40000 },
      destination: { ip: '10.0.0.5', port: 22 },
      host: { name: 'web-01' },
    }),
    make(2, now - 2 * 3_600_000, {
      message: 'ET SCAN Suspicious inbound to mssql port 1433',
      rule: { id: '2010935', name: 'ET SCAN Suspicious inbound to mssql port 1433' },
      explanation: { summary: 'signature match' },
      severity: 'high',
      score: 0.85,
      source: { ip: '10.1.2.3', port: 50000 },
      destination: { ip: '192.168.1.20', port: 1433 },
      host: { name: 'db-01' },
    }),
    make(3, now - 3 * 86_400_000, {
      message: 'Anomalous traffic volume',
      rule: { id: 'anomaly-volume', name: 'Volume anomaly' },
      explanation: { summary: 'bytes far above baseline' },
      severity: 'critical',
      score: 0.97,
      source: { ip: '2001:db8::1' },
      destination: { ip: '10.0.0.5', port: 53 },
      network: { protocol: 'dns' },
    }),
    make(4, Date.parse('2024-03-01T08:00:00Z'), {
      message: 'ET POLICY telnet login <img src=x onerror=alert(1)>',
      rule: { id: '2100001', name: '<img src=x onerror=alert(1)>' },
      explanation: { summary: 'policy' },
      severity: 'low',
      score: 0.2,
      source: { ip: '172.16.0.9', port: 41000 },
      destination: { ip: '172.16.0.1', port: 23 },
      host: { name: 'mail.example.org' },
    }),
  ];
}

/** Query, and the fixture alerts it must find on every store. */
export const KQL_TABLE: [string, number[]][] = [
  ['scan -ssh', [2]],
  ['ssh OR mssql', [1, 2]],
  ['severity:high', [2]],
  ['severity >= high', [2, 3]],
  ['score >= 0.8', [2, 3]],
  ['score > 0.2 AND score < 0.9', [1, 2]],
  ['source.ip:10.0.0.0/8', [2]],
  ['ip:10.0.0.5', [1, 3]],
  ['source.ip:2001:db8:0::1', [3]],
  ['source.ip:2001:db8::/32', [3]],
  ['destination.ip:172.16.0.0/12', [4]],
  ['@timestamp > now-1h', [1]],
  ['@timestamp >= now-1d', [1, 2]],
  ['@timestamp < 2024-03-02', [4]],
  ['host.name:web-*', [1]],
  ['host.name:*', [1, 2, 4]],
  ['NOT host.name:*', [3]],
  ['-host.name:db-01', [1, 3, 4]],
  ['rule.id:2001219', [1]],
  ['destination.port:22 OR destination.port:23', [1, 4]],
  ['destination.port >= 1000', [2]],
  ['(scan OR telnet) AND severity <= medium', [1, 4]],
  ['message:"potential ssh"', [1]],
  ['rule.name:mssql', [2]],
  ['"img src"', [4]],
  ['network.protocol:dns', [3]],
  ['detector:(kqltest OR nothing) tra*', [3]],
  ['NOT (scan OR anomalous)', [4]],
  ['onerror', [4]],
  ['*', [1, 2, 3, 4]],
];

/** Bad queries and the position of their error. */
export const KQL_ERRORS: [string, number][] = [
  ["'", 0],
  ['"scan', 0],
  ['scan )', 5],
  ['nosuch:x', 0],
  ['severity:urgent', 9],
  ['ssh OR', 6],
];
