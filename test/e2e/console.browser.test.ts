import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { ROOT, api, eveAlert, startSoc, type SocProcess } from '../helpers/soc-process.ts';
import { browserMissing, launchBrowser } from '../helpers/browser.ts';

/**
 * The analyst console in a real headless Chromium against a real `soc start`: log in as the
 * initial admin, see a sensor's alert arrive live, query, open, assign, comment, build a case,
 * log out; an XSS payload in a Suricata signature stays text; a lead may do what an analyst may not.
 */

const missing = browserMissing();
if (missing) console.warn(`console browser tests ${missing}`);

const XSS = '<img src=x onerror=alert(1)>';

function sensorLine(i: number, signature: string, severity: number, sid: number): string {
  const e = JSON.parse(eveAlert(i, { sid, severity, ts: new Date(Date.now() - 60_000 + i) }));
  e.alert.signature = signature;
  return JSON.stringify(e);
}

describe.skipIf(missing !== undefined)('console in headless Chromium', () => {
  let dir: string;
  let soc: SocProcess;
  let browser: Awaited<ReturnType<typeof launchBrowser>>;
  let context: BrowserContext;
  let page: Page;
  const dialogs: string[] = [];
  const pageErrors: string[] = [];
  let adminPassword: string;

  const push = async (lines: string[]) => {
    const r = await api(soc.url, soc.sensorToken, '/v1/events', { method: 'POST', body: lines.join('\n') });
    expect(r.status).toBe(202);
  };
  const soccli = (args: string[], input?: string) =>
    execFileSync(process.execPath, ['--import', 'tsx', join(ROOT, 'services/soc/src/main.ts'), ...args, '--data-dir', dir], { cwd: ROOT, input, encoding: 'utf8' });

  const logIn = async (user: string, password: string) => {
    await page.goto(`${soc.url}/#/login`);
    await page.fill('#login-user', user);
    await page.fill('#login-password', password);
    await page.click('#login-submit');
    await page.waitForSelector('#who');
    await expect.poll(() => page.textContent('#who')).toContain(user);
  };
  const logOut = async () => {
    await page.click('#logout');
    await page.waitForSelector('#login-submit');
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'soc-console-'));
    soc = await startSoc({ dataDir: dir });
    adminPassword = (JSON.parse(readFileSync(join(dir, 'credentials.json'), 'utf8')) as { users: { password: string }[] }).users[0]!.password;
    browser = await launchBrowser();
    context = browser.context;
    page = context.pages()[0] ?? (await context.newPage());
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      // The only dialog the console opens is the case title prompt.
      void (d.type() === 'prompt' ? d.accept('Two SSH alerts') : d.dismiss());
    });
    page.on('pageerror', (e) => pageErrors.push(e.message));
  });
  afterAll(async () => {
    await browser?.close();
    expect(await soc?.stop('SIGTERM')).toBe(0);
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the console with a strict CSP and the ready line names the admin credentials file', async () => {
    expect(soc.ready.console).toBe(`${soc.url}/`);
    expect(soc.ready.admin).toEqual({ user: 'admin', password_in: join(dir, 'credentials.json') });
    const res = await fetch(`${soc.url}/`);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(await res.text()).not.toMatch(/<script>(?!<)/);
  });

  it('logs in as the initial admin and shows a sensor alert live, an XSS signature as inert text', async () => {
    await logIn('admin', adminPassword);
    await page.waitForSelector('#live:has-text("live")');
    await push([sensorLine(1, 'ET SCAN Potential SSH Scan', 1, 2001219), sensorLine(2, XSS, 2, 2999999), sensorLine(3, 'ET SCAN Suspicious inbound to mssql port 1433', 3, 2010935)]);
    // No reload: the rows arrive over the event stream.
    await page.waitForSelector('tr.fresh >> text=ET SCAN Potential SSH Scan', { timeout: 30_000 });
    await page.waitForSelector(`tr.fresh >> text=${XSS}`, { timeout: 30_000 });
    expect(await page.locator('main img').count()).toBe(0);
    expect(dialogs).toEqual([]);
    expect(pageErrors).toEqual([]);
  });

  it('filters with the query language and points at a bad query', async () => {
    await page.fill('#q', 'severity:high');
    await page.press('#q', 'Enter');
    await expect.poll(() => page.locator('tbody tr.alert-row').count()).toBe(1);
    expect(await page.textContent('tbody')).toContain('ET SCAN Potential SSH Scan');
    await page.fill('#q', 'scan -ssh');
    await page.press('#q', 'Enter');
    await expect.poll(async () => (await page.textContent('tbody')) ?? '').toContain('mssql');
    expect(await page.locator('tbody tr.alert-row').count()).toBe(1);
    await page.fill('#q', 'ssh OR mssql');
    await page.press('#q', 'Enter');
    await expect.poll(() => page.locator('tbody tr.alert-row').count()).toBe(2);
    await page.fill('#q', 'ssh AND (scan');
    await page.press('#q', 'Enter');
    await expect.poll(async () => (await page.textContent('#query-error')) ?? '').toContain('expected ")"');
    expect(await page.locator('#query-error mark').count()).toBe(1);
  });

  it('opens the detail, assigns, comments, and shows the timeline', async () => {
    await page.goto(`${soc.url}/#/alerts?q=${encodeURIComponent('rule.id:2001219')}`);
    await page.click('td.rule a');
    await page.waitForSelector('#explanation');
    expect(await page.textContent('#explanation')).toMatch(/raised “ET SCAN Potential SSH Scan” for traffic from 203\.0\.113\.\d+:\d+ to 10\.0\.0\.5:22/);
    await page.click('#assign'); // admin may assign; the field is empty: unassigned stays a no-op
    await page.fill('#assignee', 'admin');
    await page.click('#assign');
    await page.waitForSelector('#timeline >> text=assigned to admin');
    await page.click('[data-status="acknowledged"]');
    await page.waitForSelector('#timeline >> text=New → Acknowledged');
    await page.fill('#comment', 'Blocked 203.0.113.0/24 at the edge');
    await page.click('#add-comment');
    await page.waitForSelector('#timeline >> text=Blocked 203.0.113.0/24 at the edge');
    const trail = await api(soc.url, soc.analystToken, `/v1/alerts/${decodeURIComponent(page.url().split('/alert/')[1]!)}/audit`);
    expect(trail.body.entries.map((e: { actor: string; action: string }) => `${e.actor}:${e.action}`)).toEqual(['admin:assign', 'admin:status', 'admin:comment']);
  });

  it('creates a case from two selected alerts', async () => {
    await page.goto(`${soc.url}/#/alerts?q=${encodeURIComponent('ssh OR mssql')}`);
    await expect.poll(() => page.locator('tbody tr.alert-row').count()).toBe(2);
    for (const box of await page.locator('tbody input[type=checkbox]').all()) await box.check();
    await page.click('#bulk-case');
    await page.waitForSelector('#case-alerts');
    expect(await page.textContent('#case-title-h')).toContain('Two SSH alerts');
    expect(await page.locator('#case-alerts tr').count()).toBe(2);
    expect(dialogs).toEqual(['Case title']);
    const cases = await api(soc.url, soc.analystToken, '/v1/cases');
    expect(cases.body.cases).toHaveLength(1);
    expect(cases.body.cases[0].created_by).toBe('admin');
  });

  it("hunts over the raw events and opens an alert's related events from the log", async () => {
    await page.goto(`${soc.url}/#/hunt?${new URLSearchParams({ over: 'events', q: 'event.dataset:suricata.alert AND destination.ip:10.0.0.0/8 AND rule.id:2001219' })}`);
    await page.waitForSelector('#hunt-coverage');
    await expect.poll(() => page.locator('#event-table tr.event-row').count()).toBe(1);
    expect(await page.textContent('#event-table')).toContain('ET SCAN Potential SSH Scan');
    expect(await page.textContent('#hunt-coverage')).toMatch(/^1 of \d+ events scanned from /);
    // A field of the alerts is not an event field: the error points at it.
    await page.fill('#q', 'severity:high');
    await page.press('#q', 'Enter');
    await expect.poll(async () => (await page.textContent('#query-error')) ?? '').toContain('unknown field "severity"');
    await page.goto(`${soc.url}/#/alerts?q=${encodeURIComponent('rule.id:2001219')}`);
    await page.click('td.rule a');
    await page.waitForSelector('#related-events #event-table tr.event-row');
    expect(await page.textContent('#related-events')).toContain('1 of 1 events found in the log');
    expect(await page.textContent('#related-events #event-table')).toContain('suricata.alert');
    expect(pageErrors).toEqual([]);
  });

  it('renders every page from the keyboard, in dark and light, without script errors', async () => {
    await page.goto(`${soc.url}/#/alerts`);
    await page.waitForSelector('tbody tr.alert-row');
    const pages = ['Alerts', 'Hunt', 'Cases', 'Dashboards', 'Federation', 'Models', 'Dead letters'];
    for (const [i, title] of pages.entries()) {
      await page.locator('main').focus();
      await page.keyboard.press('g');
      await page.keyboard.press(String(i + 1));
      await page.waitForSelector(`main h1:has-text("${title}")`);
    }
    await page.goto(`${soc.url}/#/dashboards`);
    await page.waitForSelector('figcaption:has-text("Top rules")');
    // Rule names, not ids.
    expect(await page.textContent('figure:has(figcaption:has-text("Top rules"))')).toContain('ET SCAN Potential SSH Scan');
    await page.goto(`${soc.url}/#/hunt?q=${encodeURIComponent('source.ip:203.0.113.0/24')}`);
    await page.waitForSelector('svg.chart rect.bar');
    await page.goto(`${soc.url}/#/alerts`);
    await page.waitForSelector('tbody tr.alert-row');
    const before = await page.getAttribute('html', 'data-theme');
    await page.locator('main').focus();
    await page.keyboard.press('t');
    expect(await page.getAttribute('html', 'data-theme')).toBe(before === 'dark' ? 'light' : 'dark');
    // `/` focuses the query bar; j/k/Enter move through and open alerts.
    await page.locator('main').focus();
    await page.keyboard.press('/');
    expect(await page.evaluate('document.activeElement.id')).toBe('q');
    await page.locator('tbody tr.alert-row').first().focus();
    await page.keyboard.press('j');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#explanation');
    expect(pageErrors).toEqual([]);
  });

  it('logs out: the session cookie no longer works', async () => {
    const cookie = (await context.cookies()).find((c) => c.name === 'soc_session');
    expect(cookie?.httpOnly).toBe(true);
    expect(cookie?.sameSite).toBe('Strict');
    await logOut();
    const r = await fetch(`${soc.url}/v1/session`, { headers: { cookie: `soc_session=${cookie!.value}` } });
    expect(r.status).toBe(401);
  });

  it('a lead may reopen a resolved alert; an analyst sees it locked and is refused', async () => {
    soccli(['users', 'add', 'ana', '--role', 'analyst', '--password-stdin'], 'analyst-password-1\n');
    soccli(['users', 'add', 'lea', '--role', 'lead', '--password-stdin'], 'lead-password-123\n');
    const found = await api(soc.url, soc.analystToken, `/v1/alerts?q=${encodeURIComponent('rule.id:2010935')}`);
    const id: string = found.body.alerts[0].id;
    for (const status of ['acknowledged', 'in_progress', 'resolved']) {
      expect((await api(soc.url, soc.analystToken, `/v1/alerts/${id}`, { method: 'PATCH', body: JSON.stringify({ status }) })).status).toBe(200);
    }

    await logIn('ana', 'analyst-password-1');
    await page.goto(`${soc.url}/#/alert/${id}`);
    await page.waitForSelector('#lead-only');
    expect(await page.locator('#status-buttons button').count()).toBe(0);
    expect(await page.getAttribute('#assignee', 'readonly')).not.toBeNull();
    // Forcing it from the page (with the session and its CSRF token) is refused by the server.
    const forced = await page.evaluate(async (alertId) => {
      const s = (await (await fetch('/v1/session')).json()) as { csrf: string };
      const r = await fetch(`/v1/alerts/${alertId}`, { method: 'PATCH', headers: { 'content-type': 'application/json', 'x-csrf-token': s.csrf }, body: JSON.stringify({ status: 'acknowledged' }) });
      return r.status;
    }, id);
    expect(forced).toBe(403);
    // And without the CSRF token even a permitted change is refused.
    const noCsrf = await page.evaluate(async (alertId) => (await fetch(`/v1/alerts/${alertId}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ comment: 'x' }) })).status, id);
    expect(noCsrf).toBe(403);
    await logOut();

    await logIn('lea', 'lead-password-123');
    await page.goto(`${soc.url}/#/alert/${id}`);
    await page.waitForSelector('#status-buttons button');
    expect(await page.locator('#lead-only').count()).toBe(0);
    await page.click('#status-buttons button:has-text("Reopen")');
    await page.waitForSelector('#timeline >> text=Resolved → Acknowledged');
    const trail = await api(soc.url, soc.analystToken, `/v1/alerts/${id}/audit`);
    expect(trail.body.entries.at(-1)).toMatchObject({ actor: 'lea', action: 'status', from: 'resolved', to: 'acknowledged' });
    await logOut();
    expect(pageErrors).toEqual([]);
  });

  it('locks an account after repeated wrong passwords', async () => {
    for (let i = 0; i < 5; i++) {
      const r = await fetch(`${soc.url}/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'ana', password: `wrong-password-${i}` }) });
      expect(r.status).toBe(401);
    }
    const locked = await fetch(`${soc.url}/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'ana', password: 'analyst-password-1' }) });
    expect(locked.status).toBe(401);
    expect(((await locked.json()) as { error: string }).error).toMatch(/locked/);
    expect(JSON.parse(soccli(['users', 'list'])).users.find((u: { name: string }) => u.name === 'ana').locked_until).not.toBeNull();
  });
});
