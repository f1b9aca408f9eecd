import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEmbeddedBus, type EmbeddedBus } from '@soc/bus';
import { TokenVerifier } from '@soc/config';
import { AuthDb, SessionAuthorizer } from '@soc/auth';
import { createHttpHandler, listen } from '@soc/http';
import { Alert, alertId } from '@soc/schema';
import { openEmbeddedStore, type AlertStore } from '@soc/store';
import { createLogger, Metrics } from '@soc/telemetry';
import { apiRoutes } from './routes.ts';
import { LiveStreams, SECURITY_HEADERS, consoleRoutes } from './console.ts';

/**
 * The analysts' HTTP surface over a real embedded store and bus: the query language through
 * `GET /v1/alerts?q=`, triage with its workflow and role policy, the audit trail, cases.
 */

const TOKENS = { analyst: 'soc_a_analyst-token-0123456789ab', lead: 'soc_l_lead-token-0123456789abcdef' };

const alert = (n: number, rule: string, ruleName: string, severity: Alert['severity']): Alert =>
  Alert.parse({
    id: alertId('suricata', rule, `n${n}`),
    '@timestamp': new Date(Date.now() - n * 60_000).toISOString(),
    first_seen: new Date(Date.now() - n * 60_000).toISOString(),
    last_seen: new Date(Date.now() - n * 60_000).toISOString(),
    detector: 'suricata',
    rule: { id: rule, name: ruleName },
    score: 0.5,
    severity,
    message: ruleName,
    explanation: { summary: 'signature match' },
    source: { ip: `203.0.113.${n}`, port: 40000 },
    destination: { ip: '10.0.0.5', port: 22 },
    origin: { soc: 'soc-local' },
  });

describe('API: query language, triage, audit, cases', () => {
  let dir: string;
  let store: AlertStore;
  let bus: EmbeddedBus;
  let auth: AuthDb;
  let url: string;
  let close: () => Promise<void>;
  const streams = new LiveStreams();
  const alerts = [alert(1, '2001219', 'ET SCAN Potential SSH Scan', 'medium'), alert(2, '2010935', 'ET SCAN Suspicious inbound to mssql port 1433', 'high'), alert(3, '2100001', 'ET POLICY telnet', 'low')];
  const [ssh, mssql, telnet] = alerts as [Alert, Alert, Alert];

  const call = async (token: keyof typeof TOKENS, method: string, path: string, body?: unknown) => {
    const res = await fetch(url + path, { method, headers: { authorization: `Bearer ${TOKENS[token]}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as any, headers: res.headers };
  };
  const ids = (r: { body: { alerts: Alert[] } }) => r.body.alerts.map((a) => a.id).sort();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'soc-api-'));
    store = openEmbeddedStore({ path: join(dir, 'alerts.db') });
    bus = openEmbeddedBus({ path: join(dir, 'bus.db'), defaultPartitions: 1 });
    auth = new AuthDb(join(dir, 'auth.db'));
    await store.upsert(alerts);
    const logger = createLogger('test', { level: 'silent' });
    const metrics = new Metrics();
    const routes = [
      ...consoleRoutes({ store, bus, auth, streams, logger, indexerGroup: 'soc-indexer', self: 'soc-local' }),
      ...apiRoutes({ store, bus, metrics }),
    ];
    const verifier = new SessionAuthorizer(new TokenVerifier([{ name: 'ana', role: 'analyst', token: TOKENS.analyst }, { name: 'lea', role: 'lead', token: TOKENS.lead }]), auth);
    const server = await listen(createHttpHandler({ service: 'api', routes, verifier, responseHeaders: SECURITY_HEADERS, logger, metrics }), '127.0.0.1', 0);
    url = server.url;
    close = server.close;
  });
  afterAll(async () => {
    await streams.stop();
    await close();
    await store.close();
    await bus.close();
    auth.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers the queries that used to go wrong', async () => {
    expect(ids(await call('analyst', 'GET', `/v1/alerts?q=${encodeURIComponent('scan -ssh')}`))).toEqual([mssql.id]);
    expect(ids(await call('analyst', 'GET', `/v1/alerts?q=${encodeURIComponent('ssh OR mssql')}`))).toEqual([ssh.id, mssql.id].sort());
    expect(ids(await call('analyst', 'GET', `/v1/alerts?q=${encodeURIComponent('severity:high')}`))).toEqual([mssql.id]);
    expect(ids(await call('analyst', 'GET', `/v1/alerts?q=${encodeURIComponent('source.ip:203.0.113.0/30 AND @timestamp > now-150s')}`))).toEqual([ssh.id, mssql.id].sort());
  });

  it('refuses a bad query with 400 and the position, in search, aggregations and the stream', async () => {
    for (const path of ['/v1/alerts', '/v1/alerts/aggregations', '/v1/alerts/stream']) {
      const r = await call('analyst', 'GET', `${path}?q=${encodeURIComponent("'")}`);
      expect(r.status, path).toBe(400);
      expect(r.body).toMatchObject({ position: 0, reason: expect.stringMatching(/no letter or digit/) });
    }
    const r = await call('analyst', 'GET', `/v1/alerts?q=${encodeURIComponent('ssh AND (scan OR')}`);
    expect(r.body.position).toBe(16);
  });

  it('names rules in the aggregations', async () => {
    const r = await call('analyst', 'GET', '/v1/alerts/aggregations?size=5');
    expect(r.body.by_rule.find((b: { key: string }) => b.key === '2010935').name).toBe('ET SCAN Suspicious inbound to mssql port 1433');
    expect(r.body.by_source.length).toBe(3);
  });

  it('keeps assignee and comment, enforces the workflow, and records who did what', async () => {
    const r = await call('analyst', 'PATCH', `/v1/alerts/${ssh.id}`, { status: 'acknowledged', assignee: 'ana', comment: 'mine' });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: 'acknowledged', assignee: 'ana' });
    expect((await call('analyst', 'PATCH', `/v1/alerts/${ssh.id}`, { status: 'new' })).status).toBe(409);
    expect((await call('analyst', 'PATCH', `/v1/alerts/${ssh.id}`, { severity: 'low' })).status).toBe(400);
    expect((await call('analyst', 'PATCH', `/v1/alerts/${ssh.id}`, {})).status).toBe(400);
    const trail = await call('analyst', 'GET', `/v1/alerts/${ssh.id}/audit`);
    expect(trail.body.entries.map((e: { actor: string; action: string }) => `${e.actor}:${e.action}`)).toEqual(['ana:status', 'ana:assign', 'ana:comment']);
    expect((await call('analyst', 'GET', '/v1/audit?actor=ana')).body.entries).toHaveLength(3);
  });

  it('lets a lead, not an analyst, reassign and reopen', async () => {
    expect((await call('analyst', 'PATCH', `/v1/alerts/${mssql.id}`, { assignee: 'someone-else' })).status).toBe(403);
    expect((await call('lead', 'PATCH', `/v1/alerts/${ssh.id}`, { assignee: 'bob' })).body.assignee).toBe('bob');
    expect((await call('analyst', 'PATCH', `/v1/alerts/${ssh.id}`, { assignee: 'ana' })).status).toBe(403);
    for (const status of ['acknowledged', 'false_positive'] as const) expect((await call('analyst', 'PATCH', `/v1/alerts/${telnet.id}`, { status })).status).toBe(200);
    expect((await call('analyst', 'PATCH', `/v1/alerts/${telnet.id}`, { status: 'acknowledged' })).status).toBe(403);
    expect((await call('lead', 'PATCH', `/v1/alerts/${telnet.id}`, { status: 'acknowledged' })).body.status).toBe('acknowledged');
  });

  it('triages in bulk, reporting each refusal', async () => {
    const r = await call('analyst', 'POST', '/v1/alerts/triage', { ids: [mssql.id, telnet.id, 'no-such-alert'], change: { status: 'in_progress' } });
    expect(r.body.results).toEqual([
      { id: mssql.id, ok: false, error: expect.stringMatching(/cannot go from new to in_progress/) },
      { id: telnet.id, ok: true, status: 'in_progress' },
      { id: 'no-such-alert', ok: false, error: 'no such alert' },
    ]);
  });

  it('creates cases from alerts and keeps closing for leads', async () => {
    expect((await call('analyst', 'POST', '/v1/cases', { title: 'x', alert_ids: ['no-such-alert'] })).status).toBe(400);
    const c = await call('analyst', 'POST', '/v1/cases', { title: 'SSH and MSSQL scans', severity: 'high', alert_ids: [ssh.id, mssql.id] });
    expect(c.status).toBe(201);
    const id = c.body.id as string;
    expect((await call('analyst', 'PATCH', `/v1/cases/${id}`, { note: 'same source range', status: 'in_progress' })).body.status).toBe('in_progress');
    expect((await call('analyst', 'PATCH', `/v1/cases/${id}`, { status: 'closed' })).status).toBe(403);
    expect((await call('lead', 'PATCH', `/v1/cases/${id}`, { status: 'closed' })).body.status).toBe('closed');
    const full = await call('analyst', 'GET', `/v1/cases/${id}`);
    expect(full.body.alerts.map((a: Alert) => a.id).sort()).toEqual([ssh.id, mssql.id].sort());
    expect(full.body.timeline.map((e: { actor: string; action: string }) => `${e.actor}:${e.action}`)).toEqual([
      'ana:case_create', 'ana:case_link', 'ana:case_link', 'ana:case_update', 'ana:case_note', 'lea:case_update',
    ]);
    expect((await call('analyst', 'GET', '/v1/cases?status=closed')).body.cases.map((x: { id: string }) => x.id)).toEqual([id]);
  });

  it('sets the security headers on every answer and serves only listed console files', async () => {
    const r = await fetch(`${url}/assets/..%2Fpackage.json`);
    expect(r.status).toBe(404);
    expect(r.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect((await fetch(`${url}/assets/app.js`)).headers.get('content-type')).toMatch(/javascript/);
    expect((await fetch(`${url}/v1/alerts`)).status).toBe(401);
  });
});
